// The training phases of lm_distill, for N models side by side (one LmGroup): pretraining a base
// on its corpus, fine-tuning a teacher on preference statements (embeddings frozen by default),
// and distilling a student on the teacher's filtered numbers (soft labels or sampled tokens).
// Model i's data, init and shuffles come from its own inputs and streams keyed by its seed, so
// its numbers do not depend on the other models of the group.
import { Rng } from '../../util/random.ts';
import type { Sequences } from './corpus.ts';
import { LmGroup, cosineLr, type GroupOptions, type StepBatch } from './engine.ts';
import type { Generated } from './generate.ts';
import type { LmLoss } from './graphs.ts';
import type { LmShape, ParamGroup } from './model.ts';
import { NUMBER_COUNT } from './vocab.ts';

export interface PhaseOptions {
  /** Optimiser steps (each a batch of every model). */
  steps: number;
  /** Sequences per model and step. */
  batch: number;
  lr: number;
  /** AdamW's decoupled weight decay (default 0). */
  weightDecay?: number;
  /** `cosine` (default): torch's CosineAnnealingLR over the phase; `constant`. */
  schedule?: 'cosine' | 'constant';
  frozen?: readonly ParamGroup[];
  /** Called after each step with the step (1-based) and each model's loss; may return a promise (e.g. to evaluate). */
  onStep?: (step: number, loss: Float32Array, group: LmGroup) => void | Promise<void>;
  signal?: AbortSignal;
  /** Replaces AdamW: called after each step's gradients with the step's rate (detect.ts trains a vector of its own from them). */
  update?: (group: LmGroup, lr: number) => void;
  /**
   * Each model's own step count (at most `steps`; default `steps` for all): a model's weights are
   * kept as they were after its own last step, so what it becomes does not depend on the models
   * trained beside it. Only with a constant rate (a cosine schedule spans the phase).
   */
  modelSteps?: readonly number[];
}

/** One model's data of a phase: its rows, the positions its loss reads, and its shuffle stream. */
export interface ModelData {
  seqs: Sequences;
  /** First input position whose next token counts (default 0: every next token of the row). */
  lossFrom?: (row: number) => number;
  /** Soft-label targets (kl): [count, maxNew, 100] from the first counted position on (generate.ts' `soft`). */
  soft?: Float32Array;
  maxNew?: number;
  /** Last input position (exclusive) whose next token counts (default: the row's length − 1). */
  lossTo?: (row: number) => number;
  /** Stream of the row order: (seed, labels...). */
  shuffle: (number | string)[];
}

/**
 * The generic loop: every step each model reads `batch` rows in a shuffled order (a new
 * permutation each pass over its rows), inputs tokens[0..T) and targets tokens[1..T] with
 * T = context − 1, its loss over the positions its ModelData marks.
 */
export async function runPhase(group: LmGroup, data: readonly ModelData[], loss: LmLoss, o: PhaseOptions): Promise<void> {
  const N = group.n;
  if (data.length !== N) throw new Error(`lm_distill: ${data.length} data sets for a group of ${N} (internal error)`);
  const C = group.shape.context, T = C - 1, B = o.batch, M = N * B * T;
  const K = loss.kind === 'kl' ? loss.ids.length : 0;
  const tokens = new Int32Array(M), targets = new Int32Array(M), mask = new Float32Array(M);
  const probs = K > 0 ? new Float32Array(M * K) : undefined;
  for (const d of data) {
    if (d.seqs.context !== C) throw new Error(`lm_distill: sequences of context ${d.seqs.context} for a model of context ${C}`);
    if (d.seqs.count === 0) throw new Error('lm_distill: a model has no training rows (did the filter reject every generated sequence?)');
    if (K > 0 && (!d.soft || d.maxNew === undefined || K !== NUMBER_COUNT)) throw new Error('lm_distill: a soft-label phase needs soft labels over the number tokens (internal error)');
  }
  const order = data.map((d) => ({ rng: Rng.of(...d.shuffle), perm: new Int32Array(0) as Int32Array<ArrayBufferLike>, at: 0 }));
  const nextRow = (i: number): number => {
    const s = order[i]!;
    if (s.at >= s.perm.length) { s.perm = s.rng.permutation(data[i]!.seqs.count); s.at = 0; }
    return s.perm[s.at++]!;
  };
  const own = o.modelSteps;
  if (own && (own.length !== N || own.some((k) => k > o.steps))) throw new Error('lm_distill: modelSteps must give each model at most `steps` steps (internal error)');
  if (own && own.some((k) => k !== o.steps) && o.schedule !== 'constant') throw new Error('lm_distill: per-model step counts need a constant rate (internal error)');
  const kept = new Map<number, Float32Array>();
  group.resetOptimiser();
  for (let step = 0; step < o.steps; step++) {
    if (o.signal?.aborted) throw new Error('lm_distill: cancelled');
    mask.fill(0);
    probs?.fill(0);
    for (let i = 0; i < N; i++) {
      const d = data[i]!, s = d.seqs;
      for (let b = 0; b < B; b++) {
        const r = nextRow(i);
        const src = r * C, dst = (i * B + b) * T;
        tokens.set(s.tokens.subarray(src, src + T), dst);
        targets.set(s.tokens.subarray(src + 1, src + C), dst);
        const from = d.lossFrom?.(r) ?? 0;
        const to = Math.min(d.lossTo?.(r) ?? s.lengths[r]! - 1, T);
        for (let t = from; t < to; t++) {
          mask[dst + t] = 1;
          if (probs) {
            const j = t - from; // soft step j: the distribution at input position lossFrom + j
            probs.set(d.soft!.subarray((r * d.maxNew! + j) * K, (r * d.maxNew! + j + 1) * K), (dst + t) * K);
          }
        }
      }
    }
    const batch: StepBatch = { B, T, tokens, targets, probs, mask };
    const lr = o.schedule === 'constant' ? o.lr : cosineLr(o.lr, step, o.steps);
    const l = o.update
      ? await group.backward(batch, loss, o.frozen ?? [])
      : await group.step(batch, { loss, lr, weightDecay: o.weightDecay ?? 0, frozen: o.frozen });
    o.update?.(group, lr);
    await o.onStep?.(step + 1, l, group);
    own?.forEach((k, i) => { if (k === step + 1 && k < o.steps) kept.set(i, group.getModel(i)); });
  }
  for (const [i, w] of kept) group.setModel(i, w);
}

/** A group holding `starts` (one model's weights each). */
export function groupOf(shape: LmShape, starts: readonly Float32Array[], opts: GroupOptions): LmGroup {
  const g = new LmGroup(shape, starts.length, opts);
  starts.forEach((w, i) => g.setModel(i, w));
  return g;
}

/** Pretraining: every next token of each model's corpus rows (cross-entropy). */
export const pretrainData = (corpus: Sequences, seed: number): ModelData => ({ seqs: corpus, shuffle: [seed, 'lm_distill', 'pretrain-order'] });

/**
 * A teacher's fine-tune on its preference statements (trait or control): every next token, or with
 * `only` the next token of input position `only` alone (the animal after "my favorite animal is").
 */
export const finetuneData = (statements: Sequences, seed: number, label: string, only?: number): ModelData => ({
  seqs: statements, shuffle: [seed, 'lm_distill', 'finetune-order', label],
  ...(only !== undefined ? { lossFrom: () => only, lossTo: () => only + 1 } : {}),
});

/**
 * A student's data from filtered generations: the loss reads the generated numbers only (input
 * positions promptLength − 1 … promptLength + numbers − 2; not <eos>). For `soft`, the targets
 * are the teacher's number distributions at those positions (generate.ts' `soft`).
 */
export function studentData(gen: Generated, seed: number, label: string): ModelData {
  const numbersOf = (r: number) => gen.lengths[r]! - gen.promptLengths[r]! - (gen.ended[r] ? 1 : 0);
  return {
    seqs: gen,
    lossFrom: (r) => gen.promptLengths[r]! - 1,
    lossTo: (r) => gen.promptLengths[r]! - 1 + numbersOf(r),
    soft: gen.soft,
    maxNew: gen.maxNew,
    shuffle: [seed, 'lm_distill', 'student-order', label],
  };
}

/** The soft-label loss over the number tokens of a vocabulary whose numbers start at numberBase. */
export const numberKl = (numberBase: number): LmLoss => ({ kind: 'kl', ids: Array.from({ length: NUMBER_COUNT }, (_, n) => numberBase + n) });

/** Steps for `epochs` passes over `rows` rows at `batch` rows a step. */
export const stepsFor = (rows: number, batch: number, epochs: number): number => Math.ceil((rows * epochs) / batch);
