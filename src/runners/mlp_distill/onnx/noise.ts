// Distillation inputs for the ONNX engine, one step at a time in the engine's order. For noise
// (uniform, gaussian) a worker thread generates step k+1 while the engine trains on step k: the
// main thread's Adam pass leaves a core idle that noise generation can use. Image-based inputs
// (cheap copies from a pool) are filled in place. Either way step k holds exactly the rows that
// fillDistillRows gives for (seed, image index), so results do not depend on which path ran.
import { Worker } from 'node:worker_threads';
import { Rng } from '../../../util/random.ts';
import { fillDistillRows, type DistillData, type UniformSimd } from '../../../data/random.ts';
import { IMAGE_SIZE } from '../../../data/mnist.ts';

export interface NoisePlan {
  kind: DistillData;
  seeds: number[];
  noiseSize: number;
  batch: number;
  epochs: number;
}

/** Steps of a plan, in order: epoch e, rows [lo, lo + bs) of each model's shuffle. */
export function* planSteps(p: NoisePlan): Generator<{ e: number; lo: number; bs: number }> {
  for (let e = 0; e < p.epochs; e++) {
    for (let lo = 0; lo < p.noiseSize; lo += p.batch) yield { e, lo, bs: Math.min(p.batch, p.noiseSize - lo) };
  }
}

/** Fill one step ([N, bs, 784]) into out, given each model's shuffle of this epoch. */
export function fillStep(out: Float32Array, p: NoisePlan, perms: Int32Array[], lo: number, bs: number, pool?: { x: Float32Array; n: number }, simd?: UniformSimd): void {
  p.seeds.forEach((seed, i) => {
    fillDistillRows(out.subarray(i * bs * IMAGE_SIZE, (i + 1) * bs * IMAGE_SIZE), p.kind, seed, perms[i]!.subarray(lo, lo + bs), pool, simd);
  });
}

export const shuffles = (p: NoisePlan, e: number) => p.seeds.map((s) => Rng.of(s, 'shuffle-distill', e).permutation(p.noiseSize));

export interface StepSource {
  /** The next step's inputs, written into `out` (first N·bs·784 floats). */
  next(out: Float32Array): void;
  close(): void;
}

/** Inputs generated on this thread (uniform noise in the SIMD kernel when `out` lies in its memory). */
export function inlineSource(p: NoisePlan, pool?: { x: Float32Array; n: number }, simd?: UniformSimd): StepSource {
  const steps = planSteps(p);
  let epoch = -1, perms: Int32Array[] = [];
  return {
    next(out) {
      const s = steps.next();
      if (s.done) throw new Error('mlp_distill: no more distillation steps (internal error)');
      if (s.value.e !== epoch) { epoch = s.value.e; perms = shuffles(p, epoch); }
      fillStep(out, p, perms, s.value.lo, s.value.bs, pool, simd);
    },
    close() {},
  };
}

const FREE = 0, FULL = 1, FAILED = 2;

/**
 * Inputs generated one step ahead on a worker thread, through two shared slots. Only for noise
 * kinds (they need no image pool).
 */
export function prefetchSource(p: NoisePlan): StepSource {
  if (p.kind !== 'uniform' && p.kind !== 'gaussian') throw new Error(`mlp_distill: no prefetch for distill_data ${p.kind}`);
  const slotFloats = p.seeds.length * p.batch * IMAGE_SIZE;
  const data = new SharedArrayBuffer(2 * slotFloats * 4);
  const flags = new Int32Array(new SharedArrayBuffer(3 * 4)); // slot 0, slot 1, and the failure flag
  const worker = new Worker(new URL('./noise-worker.mjs', import.meta.url), { workerData: { plan: p, data, flags: flags.buffer, slotFloats } });
  let failure: Error | undefined;
  worker.on('error', (e) => { failure = e; Atomics.store(flags, 2, FAILED); Atomics.notify(flags, 0); Atomics.notify(flags, 1); });
  worker.unref();
  let k = 0;
  return {
    next(out) {
      const slot = k % 2;
      while (Atomics.load(flags, slot) !== FULL) {
        if (Atomics.load(flags, 2) === FAILED || failure) throw new Error(`mlp_distill: noise worker failed: ${failure?.message ?? 'unknown error'}`);
        Atomics.wait(flags, slot, FREE, 1000);
      }
      out.set(new Float32Array(data, slot * slotFloats * 4, slotFloats).subarray(0, Math.min(out.length, slotFloats)));
      Atomics.store(flags, slot, FREE);
      Atomics.notify(flags, slot);
      k++;
    },
    close() {
      void worker.terminate();
    },
  };
}

/** The worker's loop (noise-worker.mjs runs it). */
export function produce(p: NoisePlan, data: SharedArrayBuffer, flagsBuf: SharedArrayBuffer, slotFloats: number): void {
  const flags = new Int32Array(flagsBuf);
  let k = 0, epoch = -1, perms: Int32Array[] = [];
  for (const s of planSteps(p)) {
    const slot = k % 2;
    while (Atomics.load(flags, slot) !== FREE) Atomics.wait(flags, slot, FULL);
    if (s.e !== epoch) { epoch = s.e; perms = shuffles(p, epoch); }
    fillStep(new Float32Array(data, slot * slotFloats * 4, slotFloats), p, perms, s.lo, s.bs);
    Atomics.store(flags, slot, FULL);
    Atomics.notify(flags, slot);
    k++;
  }
}
