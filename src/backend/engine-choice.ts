// Which training engine a run uses (runners with both an ONNX Runtime and a TensorFlow.js engine:
// mlp_distill, superposition): the `backend` parameter, else env SUBLAB_BACKEND, else ONNX Runtime.
import { createRequire } from 'node:module';
import { resolveDevice } from './onnxruntime.ts';

/** The `backend` parameter's TensorFlow.js names → the backend names src/backend/index.ts knows. */
export const TFJS_BACKENDS: Readonly<Record<string, string>> = { 'tfjs': 'auto', 'tfjs-node-gpu': 'tensorflow-gpu', 'tfjs-node': 'tensorflow', 'tfjs-wasm': 'wasm', 'tfjs-cpu': 'cpu' };
/** SUBLAB_BACKEND may use the TensorFlow.js names the other runners take. */
const ENV_ALIAS: Record<string, string> = { 'tensorflow-gpu': 'tfjs-node-gpu', tensorflow: 'tfjs-node', wasm: 'tfjs-wasm', cpu: 'tfjs-cpu' };

/** The values of a runner's `backend` parameter (schema enum). */
export const ENGINE_VALUES = ['auto', 'onnxruntime', ...Object.keys(TFJS_BACKENDS)] as const;

/** The engine a run uses: the parameter, else SUBLAB_BACKEND, else ONNX Runtime. */
export function resolveEngine(param: unknown, env = process.env.SUBLAB_BACKEND): string {
  const p = String(param ?? 'auto');
  if (p !== 'auto') return ENV_ALIAS[p] ?? p;
  if (!env || env === 'auto') return 'onnxruntime';
  const e = ENV_ALIAS[env] ?? env;
  if (e !== 'onnxruntime' && !(e in TFJS_BACKENDS)) throw new Error(`SUBLAB_BACKEND=${env}: the training engines are onnxruntime, ${Object.keys(TFJS_BACKENDS).join(', ')} (or ${Object.keys(ENV_ALIAS).join(', ')})`);
  return e;
}

/** The packages a TensorFlow.js engine loads (optional peer dependencies; 'tfjs' needs one backend, cpu at least). */
export function tfjsPackages(engine: string): string[] {
  const backend: Record<string, string> = { 'tfjs': 'cpu', 'tfjs-cpu': 'cpu', 'tfjs-wasm': 'wasm', 'tfjs-node': 'node', 'tfjs-node-gpu': 'node-gpu' };
  const b = backend[engine] ?? 'cpu';
  return ['@tensorflow/tfjs-core', b.startsWith('node') ? `@tensorflow/tfjs-${b}` : `@tensorflow/tfjs-backend-${b}`];
}

const require = createRequire(import.meta.url);
// The TensorFlow.js chain (`backend = tfjs`) in src/backend/index.ts's order, by the package that
// provides each backend: the first one installed is the one that loads (checked after loading).
const TFJS_CHAIN: readonly [string, string][] = [
  ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'], ['tensorflow', '@tensorflow/tfjs-node'],
  ['wasm', '@tensorflow/tfjs-backend-wasm'], ['cpu', '@tensorflow/tfjs-backend-cpu'],
];
const installed = (pkg: string) => { try { require.resolve(pkg); return true; } catch { return false; } };

/**
 * The engine and kernels a run trains with (`onnxruntime-cpu`, `onnxruntime-cuda`, `tfjs-wasm`,
 * …; not the thread count, which changes no bit). Stage keys of trained models hold it (through
 * the stage's data): the engines' kernels differ in the last bits, and reuse must be exact, while
 * `backend` and `device` are execution-only parameters, not in run ids.
 */
export function engineIdentity(p: { backend: string; device: string }): string {
  const engine = resolveEngine(p.backend);
  if (engine === 'onnxruntime') {
    let device = p.device;
    try {
      device = resolveDevice(p.device);
    } catch {
      // device = cuda without CUDA: the run itself fails and says why.
    }
    return `onnxruntime-${device}`;
  }
  const tf = TFJS_BACKENDS[engine] ?? engine;
  return `tfjs-${tf === 'auto' ? (TFJS_CHAIN.find(([, pkg]) => installed(pkg))?.[0] ?? 'cpu') : tf}`;
}
