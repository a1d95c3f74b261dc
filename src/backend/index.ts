// TensorFlow.js backend choice: tfjs-node-gpu → tfjs-node → wasm → cpu, whichever loads first.
// The native packages are optional dependencies (their install downloads libtensorflow, which
// fails offline), so they are detected at run time. SUBLAB_BACKEND or a runner parameter forces one.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import path from 'node:path';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const backendOrder: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let active: Promise<{ name: BackendName; tf: typeof tf }> | undefined;
let activeName: BackendName | undefined;

const require = createRequire(import.meta.url);

async function tryLoad(name: BackendName): Promise<boolean> {
  try {
    switch (name) {
      case 'tensorflow-gpu':
        // Registers the 'tensorflow' backend backed by CUDA libtensorflow.
        await import('@tensorflow/tfjs-node-gpu' as string);
        return await tf.setBackend('tensorflow');
      case 'tensorflow':
        await import('@tensorflow/tfjs-node' as string);
        return await tf.setBackend('tensorflow');
      case 'wasm': {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        // Point at the .wasm binaries inside the package (no fetch from a CDN).
        const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
        wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
        wasm.setThreadsCount?.(1);
        return await tf.setBackend('wasm');
      }
      case 'cpu':
        await import('@tensorflow/tfjs-backend-cpu');
        return await tf.setBackend('cpu');
    }
  } catch {
    return false;
  }
}

/**
 * Initialise (once per process or worker) and return the backend in use.
 * `preferred` (or env SUBLAB_BACKEND) forces one; "auto" walks the order.
 */
export function initBackend(preferred: string = process.env.SUBLAB_BACKEND ?? 'auto'): Promise<{ name: BackendName; tf: typeof tf }> {
  if (active) {
    if (preferred !== 'auto' && activeName && preferred !== activeName) {
      return Promise.reject(new Error(`backend already initialised as "${activeName}" in this process; cannot switch to "${preferred}"`));
    }
    return active;
  }
  active = (async () => {
    const order = preferred === 'auto' ? backendOrder : [preferred as BackendName];
    if (preferred !== 'auto' && !backendOrder.includes(preferred as BackendName)) {
      throw new Error(`unknown backend "${preferred}": expected one of ${backendOrder.join(', ')}, auto`);
    }
    for (const name of order) {
      if (await tryLoad(name)) {
        await tf.ready();
        activeName = name;
        return { name, tf };
      }
    }
    throw new Error(`could not initialise TensorFlow.js backend ${order.join(' / ')}`);
  })();
  return active;
}

export { tf };
