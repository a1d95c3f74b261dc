// ONNX Runtime sessions for the training engines: CPU (MLAS, ships inside onnxruntime-node) or
// the CUDA execution provider where its binaries were installed and a GPU is visible.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import type * as ortType from 'onnxruntime-node';

const require = createRequire(import.meta.url);
export type Ort = typeof ortType;
let ortModule: Ort | undefined;

/** onnxruntime-node, loaded on first use (it is a native addon; tfjs-only runs never load it). */
export function ort(): Ort {
  return (ortModule ??= require('onnxruntime-node') as Ort);
}

export type Device = 'cpu' | 'cuda';

/**
 * Whether the CUDA execution provider can work here: onnxruntime-node's CUDA provider library
 * is installed (ONNXRUNTIME_NODE_INSTALL=cuda12 at install time) and an NVIDIA device is visible.
 */
export function cudaAvailable(): { ok: boolean; why: string } {
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin');
  } catch {
    return { ok: false, why: 'onnxruntime-node is not installed' };
  }
  const found = (d: string): boolean => {
    try {
      return readdirSync(d, { withFileTypes: true }).some((e) =>
        e.isDirectory() ? found(path.join(d, e.name)) : e.name.startsWith('libonnxruntime_providers_cuda'));
    } catch {
      return false;
    }
  };
  if (!found(dir)) return { ok: false, why: 'the CUDA execution provider of onnxruntime-node is not installed (reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12)' };
  if (!existsSync('/dev/nvidiactl') && !existsSync('/dev/nvidia0')) return { ok: false, why: 'no NVIDIA GPU is visible (/dev/nvidia0)' };
  return { ok: true, why: '' };
}

/** Resolve `auto` to a device, or check that the asked-for one can work. */
export function resolveDevice(asked: string): Device {
  if (asked === 'cpu') return 'cpu';
  const cuda = cudaAvailable();
  if (asked === 'cuda') {
    if (!cuda.ok) throw new Error(`device = cuda: ${cuda.why}`);
    return 'cuda';
  }
  return cuda.ok ? 'cuda' : 'cpu';
}

/** Cores to use when a thread count is 0 ("one per core"). */
export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

export interface SessionConfig {
  device: Device;
  /** Intra-op threads (0 = one per core). */
  threads: number;
  /**
   * Keep ONNX Runtime's memory arena (default): right for graphs run every step at one size;
   * off for occasional big ones (test-set evaluation), whose peak would otherwise stay resident.
   */
  arena?: boolean;
}

export async function createSession(model: Uint8Array, c: SessionConfig): Promise<ortType.InferenceSession> {
  const o = ort();
  return o.InferenceSession.create(model, {
    executionProviders: c.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: c.threads > 0 ? c.threads : defaultThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: c.arena ?? true,
    logSeverityLevel: 3, // errors only: graph-optimiser notes are not the user's business
    graphOptimizationLevel: 'all',
    ...(process.env.SUBLAB_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.SUBLAB_ORT_PROFILE } : {}),
    // Spinning pool threads would steal the core that the fused Adam pass and noise generation
    // run on between steps.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  } as ortType.InferenceSession.SessionOptions);
}

const sessions = new Map<string, Promise<ortType.InferenceSession>>();
/**
 * A session per (graph key, config), made once per process and reused by later groups: building
 * and loading a graph costs 10–100 ms. A failed creation is forgotten so a later call retries.
 */
export function cachedSession(key: string, c: SessionConfig, build: () => Uint8Array): Promise<ortType.InferenceSession> {
  const k = `${key}|${c.device}|${c.threads}|${c.arena ?? true}`;
  let s = sessions.get(k);
  if (!s) {
    s = createSession(build(), c);
    s.catch(() => sessions.delete(k));
    sessions.set(k, s);
  }
  return s;
}

/**
 * Release the cached sessions whose graph key starts with `prefix` (their memory arenas with
 * them): for a pipeline whose phases each run graphs of their own sizes once (lm_distill), so
 * the arenas of finished phases do not add up in the peak.
 */
export async function releaseSessions(prefix: string): Promise<void> {
  for (const [k, s] of [...sessions]) {
    if (!k.startsWith(prefix)) continue;
    sessions.delete(k);
    await (await s.catch(() => undefined))?.release();
  }
}

/** Flush ONNX Runtime's per-op profiles of the cached sessions (when SUBLAB_ORT_PROFILE names a file prefix). */
export async function endProfiling(): Promise<void> {
  for (const s of sessions.values()) (await s).endProfiling();
}

let collect: (() => void) | undefined;
/**
 * onnxruntime-node returns every output in a fresh buffer, even a pre-allocated one: a training
 * step leaves tens of MB of dead buffers that V8 frees only at its next collection, so several
 * steps' worth pile up and fresh memory is faulted in each step. Collecting the young
 * generation (where those buffers' handles live; ~0.1 ms) after each run frees them at once, and
 * the next run reuses the same memory (peak RSS of the baseline group −100 MB, measured).
 */
export function releaseOutputs(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as (o: { type: 'minor' | 'major' }) => void;
    collect = () => gc({ type: 'minor' });
  }
  collect();
}
