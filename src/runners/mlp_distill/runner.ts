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
import { layerDims } from './model.ts';
import { openTeacherStage, type TeacherEntry, type TeacherStage } from './teacher-stage.ts';
import { trainGroupOnnx } from './onnx/engine.ts';
import { loadDataset, shareDatasets } from '../../data/mnist.ts';
import { defaultThreads, resolveDevice } from '../../backend/onnxruntime.ts';
import { resolveEngine, tfjsPackages, TFJS_BACKENDS as TFJS } from '../../backend/engine-choice.ts';
import { needPackages } from '../../util/optional-packages.ts';

/** Workers to use for a group of `n` models: the `workers` parameter, 0 = one per core (≤ n). */
export function workerCount(p: Pick<MlpDistillParams, 'workers'>, n: number): number {
  const w = p.workers;
  const auto = Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
  return Math.max(1, Math.min(w > 0 ? w : auto, n));
}

// The engine choice is shared with the superposition runner; re-exported for tests and bench.
export { resolveEngine };

/**
 * Train the seeds: on ONNX Runtime or TensorFlow.js, in this thread or split over worker threads.
 * With `stage` (teacher-stage.ts) the seeds whose teacher it holds skip the teacher phase, and the
 * teachers trained here are committed to it as soon as the teacher phase ends.
 */
export async function trainSeeds(
  raw: Readonly<Record<string, Value>>, seeds: readonly number[], ctx: Pick<RunContext, 'progress' | 'signal' | 'parts'>, stage?: TeacherStage,
): Promise<{ results: ModelResult[]; backend: string; rss: number[] }> {
  const params = mlpDistillSchema.resolve(raw);
  const engine = resolveEngine(params.backend);
  // The stage's keys name the engine they were derived for (engineIdentity); a group that loaded
  // another one (a TensorFlow.js package that is installed but fails to load) must not mix them.
  // The parts asked for (src/plan/needs.ts) travel with the group's options.
  const parts: GroupOptions = ctx.parts ? { parts: ctx.parts } : {};
  const stageOptions = (loaded: string): GroupOptions => {
    if (!stage) return parts;
    if (stage.engine !== loaded) {
      console.warn(`mlp_distill: the teacher stage's keys are for ${stage.engine} but ${loaded} was loaded; this group trains its teachers and stores none`);
      return parts;
    }
    return { ...parts, teachers: stage.stored, onTeachers: (trained) => stage.save(trained), note: stage.note };
  };
  const marked = <T extends { results: ModelResult[] }>(out: T, opts: GroupOptions): T => {
    if (opts.teachers) out.results.forEach((r, i) => { r.teacherStage = opts.teachers![i] ? 'reused' : 'computed'; });
    return out;
  };
  if (engine === 'onnxruntime') {
    const device = resolveDevice(params.device);
    const threads = params.threads > 0 ? params.threads : defaultThreads();
    // Results do not depend on the thread count or the split (tested), so neither is in the key.
    const opts = stageOptions(`onnxruntime-${device}`);
    // On the CPU the group is split over worker threads, one ONNX Runtime thread each: the
    // halves run with no synchronisation between them, and one half's Adam pass overlaps the
    // other's products (a 2-thread session leaves a core idle during Adam; bench/README.md has
    // the measurement). On CUDA one session drives the device.
    const W = device === 'cuda' ? 1 : workerCount(params, seeds.length);
    if (W === 1) {
      const results = await trainGroupOnnx(params, seeds, { ...opts, device, threads, signal: ctx.signal }, ctx.progress);
      return marked({ results, backend: `onnxruntime/${device} (${threads} thread${threads > 1 ? 's' : ''})`, rss: [process.memoryUsage().rss] }, opts);
    }
    const per = Math.max(1, Math.floor(threads / W));
    const out = await inWorkers({ engine, params, device, threads: per }, opts, seeds, W, ctx);
    return marked({ ...out, backend: `onnxruntime/${device} (${W} worker threads × ${per} thread${per > 1 ? 's' : ''})` }, opts);
  }
  // Resolve the backend here first: native TensorFlow uses all cores itself (and its addon is not
  // worker-safe), so only wasm / cpu groups are split over worker threads.
  // Imported on demand: TensorFlow.js and its backends cost ~35 MB that the ONNX path never needs.
  needPackages(`mlp_distill with backend ${engine}`, tfjsPackages(engine));
  const [{ initBackend }, { trainGroup }] = await Promise.all([import('../../backend/index.ts'), import('./engine-tfjs.ts')]);
  const { tf, name } = await initBackend(TFJS[engine]!);
  const opts = stageOptions(`tfjs-${name}`);
  const W = name.startsWith('tensorflow') ? 1 : workerCount(params, seeds.length);
  if (W === 1) {
    return marked({ results: trainGroup(tf, params, seeds, opts, ctx.progress), backend: `tfjs-${name}`, rss: [process.memoryUsage().rss] }, opts);
  }
  const out = await inWorkers({ engine: 'tfjs', params, backend: name }, opts, seeds, W, ctx);
  return marked({ ...out, backend: `tfjs-${name} (${W} worker threads)` }, opts);
}

/**
 * What a worker thread needs (worker.ts): the parameters, the engine and its settings, and its
 * share of the group's options (its seeds' stored teachers; `reportTeachers`: post the teachers
 * it trains back, for the stage).
 */
export type WorkerJob = EngineJob & { opts: Omit<GroupOptions, 'onTeachers'>; reportTeachers: boolean };
/** The parameters and the engine with its settings. */
type EngineJob = { params: MlpDistillParams } & (
  | { engine: 'onnxruntime'; device: 'cpu' | 'cuda'; threads: number }
  | { engine: 'tfjs'; backend: string }
);

/**
 * Train contiguous shares of the seeds in W worker threads. Every number a model sees is keyed
 * by its own seed, so the shares give exactly what one thread computes (tested for both engines).
 */
async function inWorkers(
  job: EngineJob, opts: GroupOptions, seeds: readonly number[], W: number, ctx: Pick<RunContext, 'progress' | 'signal'>,
): Promise<{ results: ModelResult[]; rss: number[] }> {
  // Loaded here once and shared with the workers (see shareDatasets).
  loadDataset(job.params.dataset, job.params.data_dir);
  const datasets = shareDatasets();
  const shares: number[][] = [];
  const starts = Array.from({ length: W + 1 }, (_, w) => Math.floor((w * seeds.length) / W));
  for (let w = 0; w < W; w++) shares.push(seeds.slice(starts[w], starts[w + 1]));
  const { onTeachers, teachers, ...rest } = opts;
  const done = shares.map(() => ({ done: 0, total: 0, fraction: 0 }));
  const outs = await Promise.all(
    shares.map(
      (share, w) =>
        new Promise<{ results: ModelResult[]; rss: number }>((resolve, reject) => {
          const own: WorkerJob = { ...job, opts: { ...rest, ...(teachers ? { teachers: teachers.slice(starts[w], starts[w + 1]) } : {}) }, reportTeachers: !!onTeachers } as WorkerJob;
          const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { job: own, seeds: share, datasets } });
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
            } else if (m.type === 'teachers') {
              // The share's indices, offset to the group's.
              onTeachers?.((m.trained as { index: number; teacher: TeacherEntry }[]).map((t) => ({ ...t, index: starts[w]! + t.index })));
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
  cores: (params) => (params.threads > 0 ? params.threads : defaultThreads()),
  async run(specs, ctx) {
    if (specs.length === 0) return [];
    const t0 = Date.now();
    // Each seed's teacher is a stage artifact: runs that differ only in distillation parameters share it.
    const stage = await openTeacherStage(specs, ctx, layerDims(specs[0]!.params));
    const { results, backend, rss } = await trainSeeds(specs[0]!.params, specs.map((s) => s.seed), ctx, stage);
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
        ...(results[i]!.teacherStage ? { teacher_stage: results[i]!.teacherStage } : {}),
      },
    }));
  },
});
