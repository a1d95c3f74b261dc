// mlp_distill: N teacher–student pairs per group, one per seed, on one of two engines:
// ONNX Runtime (the default: batched native kernels, onnx/engine.ts) or TensorFlow.js (the
// cross-check, engine-tfjs.ts). A TensorFlow.js wasm/cpu group is split into contiguous shares,
// one per worker thread (each its own backend); since every number a model sees is keyed by its
// own seed, the shares give exactly what one worker computes.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Runner, RunContext } from '../schema.ts';
import type { Value } from '../../language/ast.ts';
import { mlpDistillSchema, type MlpDistillParams } from './schema.ts';
import type { GroupOptions, ModelResult } from './model.ts';
import { trainGroupOnnx } from './onnx/engine.ts';
import { loadDataset, shareDatasets } from '../../data/mnist.ts';
import { defaultThreads, resolveDevice } from '../../backend/onnxruntime.ts';
import { resolveEngine, TFJS_BACKENDS as TFJS } from '../../backend/engine-choice.ts';

/** Workers to use for a group of `n` models: the `workers` parameter, 0 = one per core (≤ n). */
export function workerCount(p: Pick<MlpDistillParams, 'workers'>, n: number): number {
  const w = p.workers;
  const auto = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
  return Math.max(1, Math.min(w > 0 ? w : auto, n));
}

// The engine choice is shared with the superposition runner; re-exported for tests and bench.
export { resolveEngine };

/** Train the seeds: on ONNX Runtime or TensorFlow.js, in this thread or split over worker threads. */
export async function trainSeeds(
  raw: Readonly<Record<string, Value>>, seeds: readonly number[], ctx: Pick<RunContext, 'progress' | 'signal' | 'cacheDir'>,
): Promise<{ results: ModelResult[]; backend: string; rss: number[] }> {
  const params = mlpDistillSchema.resolve(raw);
  const opts: GroupOptions = {};
  const engine = resolveEngine(params.backend);
  if (engine === 'onnxruntime') {
    const device = resolveDevice(params.device);
    const threads = params.threads > 0 ? params.threads : defaultThreads();
    // Results do not depend on the thread count or the split (tested), so neither is in the key.
    if (ctx.cacheDir) opts.teacherCache = { dir: ctx.cacheDir, tag: `${mlpDistillSchema.name}@${mlpDistillSchema.version}/onnxruntime-${device}` };
    // On the CPU the group is split over worker threads, one ONNX Runtime thread each: the
    // halves run with no synchronisation between them, and one half's Adam pass overlaps the
    // other's products (a 2-thread session leaves a core idle during Adam). Measured 18% faster
    // than one 2-thread session here. On CUDA one session drives the device.
    const W = device === 'cuda' ? 1 : workerCount(params, seeds.length);
    if (W === 1) {
      const results = await trainGroupOnnx(params, seeds, { ...opts, device, threads, signal: ctx.signal }, ctx.progress);
      return { results, backend: `onnxruntime/${device} (${threads} thread${threads > 1 ? 's' : ''})`, rss: [process.memoryUsage().rss] };
    }
    const per = Math.max(1, Math.floor(threads / W));
    const out = await inWorkers({ engine, params, opts, device, threads: per }, seeds, W, ctx);
    return { ...out, backend: `onnxruntime/${device} (${W} worker threads × ${per} thread${per > 1 ? 's' : ''})` };
  }
  // Resolve the backend here first: native TensorFlow uses all cores itself (and its addon is not
  // worker-safe), so only wasm / cpu groups are split over worker threads.
  // Imported on demand: TensorFlow.js and its backends cost ~35 MB that the ONNX path never needs.
  const [{ initBackend }, { trainGroup }] = await Promise.all([import('../../backend/index.ts'), import('./engine-tfjs.ts')]);
  const { tf, name } = await initBackend(TFJS[engine]!);
  // Trained teachers are reused across runs that differ only in distillation parameters. The
  // backend is part of the key: kernels may differ in the last bits, and reuse must be exact.
  if (ctx.cacheDir) opts.teacherCache = { dir: ctx.cacheDir, tag: `${mlpDistillSchema.name}@${mlpDistillSchema.version}/tfjs-${name}` };
  const W = name.startsWith('tensorflow') ? 1 : workerCount(params, seeds.length);
  if (W === 1) {
    return { results: trainGroup(tf, params, seeds, opts, ctx.progress), backend: `tfjs-${name}`, rss: [process.memoryUsage().rss] };
  }
  const out = await inWorkers({ engine: 'tfjs', params, opts, backend: name }, seeds, W, ctx);
  return { ...out, backend: `tfjs-${name} (${W} worker threads)` };
}

/** What a worker thread needs (worker.ts): the parameters, the group's options, the engine and its settings. */
export type WorkerJob = { params: MlpDistillParams; opts: GroupOptions } & (
  | { engine: 'onnxruntime'; device: 'cpu' | 'cuda'; threads: number }
  | { engine: 'tfjs'; backend: string }
);

/**
 * Train contiguous shares of the seeds in W worker threads. Every number a model sees is keyed
 * by its own seed, so the shares give exactly what one thread computes (tested for both engines).
 */
async function inWorkers(
  job: WorkerJob, seeds: readonly number[], W: number, ctx: Pick<RunContext, 'progress' | 'signal'>,
): Promise<{ results: ModelResult[]; rss: number[] }> {
  // Loaded here once and shared with the workers (see shareDatasets).
  loadDataset(job.params.dataset, job.params.data_dir);
  const datasets = shareDatasets();
  const shares: number[][] = [];
  for (let w = 0; w < W; w++) shares.push(seeds.slice(Math.floor((w * seeds.length) / W), Math.floor(((w + 1) * seeds.length) / W)));
  const done = shares.map(() => ({ done: 0, total: 0, fraction: 0 }));
  const outs = await Promise.all(
    shares.map(
      (share, w) =>
        new Promise<{ results: ModelResult[]; rss: number }>((resolve, reject) => {
          const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { job, seeds: share, datasets } });
          const abort = () => { void worker.terminate(); reject(new Error('mlp_distill: cancelled')); };
          ctx.signal?.addEventListener('abort', abort, { once: true });
          worker.on('message', (m: { type: string; [k: string]: unknown }) => {
            if (m.type === 'progress') {
              done[w] = { done: m.done as number, total: m.total as number, fraction: (m.fraction as number | undefined) ?? 0 };
              // Phases run in lockstep across workers; report the sum of their counts, and the
              // share-weighted fraction of the whole group's work.
              ctx.progress({
                phase: m.phase as string,
                done: done.reduce((a, b) => a + b.done, 0),
                total: done.reduce((a, b) => a + b.total, 0),
                detail: m.detail as string | undefined,
                ...(m.fraction !== undefined ? { fraction: done.reduce((a, b, k) => a + b.fraction * shares[k]!.length, 0) / seeds.length, runs: seeds.length } : {}),
              });
            } else if (m.type === 'done') {
              ctx.signal?.removeEventListener('abort', abort);
              resolve({ results: m.results as ModelResult[], rss: m.rss as number });
              void worker.terminate();
            } else if (m.type === 'error') {
              reject(new Error(m.message as string));
              void worker.terminate();
            }
          });
          worker.on('error', reject);
        }),
    ),
  );
  return { results: outs.flatMap((o) => o.results), rss: outs.map((o) => o.rss) };
}

export const runner: Runner = mlpDistillSchema.implement({
  maxGroup: (params) => params.models,
  async run(specs, ctx) {
    if (specs.length === 0) return [];
    const t0 = Date.now();
    const { results, backend, rss } = await trainSeeds(specs[0]!.params, specs.map((s) => s.seed), ctx);
    const wall = (Date.now() - t0) / 1000;
    return specs.map((s, i) => ({
      rows: [{ metrics: results[i]!.metrics }],
      backend,
      extras: {
        curves: results[i]!.curves,
        group_size: specs.length,
        group_wall_s: wall,
        control_init_seed: s.seed + 1,
        peak_rss_mb: Math.max(...rss) / 1e6,
        ...(results[i]!.teacherCache ? { teacher_cache: results[i]!.teacherCache } : {}),
        ...(results[i]!.warnings?.length ? { warnings: results[i]!.warnings } : {}),
      },
    }));
  },
});
