// detect = bias: a detector that needs no teacher. One vector b [d_model] is added to the base's
// residual stream after `detect_layer` blocks, at every position, and only b is trained (Adam,
// constant rate) on a number dataset with the student's loss, the base frozen. Its gradient is
// the gradient of the tensor b folds into (steer.ts: block layer − 1's mlp.b2, or every row of
// wpe summed), which the engine computes with that tensor's group trainable; b's own Adam step
// replaces the engine's, so no weight but b's fold ever moves.
import { releaseSessions } from '../../backend/onnxruntime.ts';
import { Arena } from '../mlp_distill/onnx/arena.ts';
import type { LmGroup } from './engine.ts';
import type { LmLoss } from './graphs.ts';
import { paramLayout, tensorView, type LmShape, type ParamGroup } from './model.ts';
import { TRAIN_SESSIONS } from './pipeline.ts';
import { addToResidual } from './steer.ts';
import { groupOf, runPhase, type ModelData } from './train.ts';

export interface DetectOptions {
  layer: number;
  steps: number;
  /** Each model's own step count (at most `steps`): its vector is kept as it was after its last step. */
  modelSteps?: readonly number[];
  batch: number;
  lr: number;
  threads: number;
  signal?: AbortSignal;
  onStep?: (step: number) => void;
}

/** The tensor b folds into and its rows; the groups frozen while its gradient is computed. */
function foldOf(shape: LmShape, layer: number): { name: string; rows: number; frozen: ParamGroup[] } {
  return layer === 0
    ? { name: 'wpe', rows: shape.context, frozen: ['attention', 'mlp', 'norms'] }
    : { name: `h${layer - 1}.mlp.b2`, rows: 1, frozen: ['embeddings', 'attention', 'norms'] };
}

/**
 * Model i: `bases[i]` with a bias vector trained on `data[i]`, side by side. Returns each trained
 * model's weights (the base with b folded in) and b itself.
 */
export async function trainBiases(shape: LmShape, bases: readonly Float32Array[], data: readonly ModelData[], loss: LmLoss, o: DetectOptions): Promise<{ weights: Float32Array[]; vectors: Float32Array[] }> {
  const N = bases.length, d = shape.dModel;
  const { name, rows, frozen } = foldOf(shape, o.layer);
  const group = groupOf(shape, bases, { threads: o.threads });
  const layout = group.layout, one = paramLayout(shape);
  const baseRows = bases.map((w) => tensorView(one, w, name).slice());
  const arena = new Arena(4 * N * d + 16);
  const at = { p: arena.alloc(N * d), g: arena.alloc(N * d), m: arena.alloc(N * d), v: arena.alloc(N * d) };
  let t = 0;
  const kept = new Map<number, Float32Array>();
  const update = (g: LmGroup, lr: number) => {
    const grads = g.gradients, weights = g.weights;
    for (let i = 0; i < N; i++) {
      const gi = tensorView(layout, grads, name, i), dst = at.g + i * d;
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += gi[r * d + j]!;
        arena.f32[dst + j] = s;
      }
    }
    t += 1;
    arena.adam(at.p, at.g, at.m, at.v, N * d, t, lr, 0);
    o.modelSteps?.forEach((k, i) => { if (k === t) kept.set(i, arena.f32.slice(at.p + i * d, at.p + (i + 1) * d)); });
    for (let i = 0; i < N; i++) {
      const w = tensorView(layout, weights, name, i), b = arena.f32.subarray(at.p + i * d, at.p + (i + 1) * d);
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) w[r * d + j] = baseRows[i]![r * d + j]! + b[j]!;
    }
  };
  await runPhase(group, data, loss, {
    steps: o.steps, batch: o.batch, lr: o.lr, schedule: 'constant', frozen, signal: o.signal, update,
    onStep: (s) => o.onStep?.(s),
  });
  const vectors = bases.map((_, i) => kept.get(i) ?? arena.f32.slice(at.p + i * d, at.p + (i + 1) * d));
  return { weights: bases.map((w, i) => addToResidual(shape, w, o.layer, vectors[i]!)), vectors };
}

/**
 * Each model's mean loss over ALL its data's counted positions (every row once, in order): KL from
 * the soft labels to its number distribution (`kl`) or cross-entropy on the next token (`ce`) —
 * the loss its training phase minimises, over the whole set instead of a batch.
 */
export async function meanLosses(group: LmGroup, data: readonly ModelData[], loss: LmLoss, chunk = 64): Promise<number[]> {
  const N = group.n, C = group.shape.context, T = C - 1, V = group.shape.vocab;
  if (data.length !== N) throw new Error(`lm_distill: ${data.length} data sets for a group of ${N} (internal error)`);
  const ids = loss.kind === 'kl' ? loss.ids : [];
  const sum = new Float64Array(N), count = new Float64Array(N);
  const most = Math.max(...data.map((x) => x.seqs.count));
  const tokens = new Int32Array(N * chunk * T);
  for (let r0 = 0; r0 < most; r0 += chunk) {
    tokens.fill(0);
    for (let i = 0; i < N; i++) {
      const s = data[i]!.seqs;
      for (let b = 0; b < chunk && r0 + b < s.count; b++) tokens.set(s.tokens.subarray((r0 + b) * C, (r0 + b) * C + T), (i * chunk + b) * T);
    }
    const logits = await group.logits(tokens, chunk, T);
    for (let i = 0; i < N; i++) {
      const d = data[i]!, s = d.seqs;
      for (let b = 0; b < chunk && r0 + b < s.count; b++) {
        const r = r0 + b, from = d.lossFrom?.(r) ?? 0, to = Math.min(d.lossTo?.(r) ?? s.lengths[r]! - 1, T);
        for (let pos = from; pos < to; pos++) {
          const o = ((i * chunk + b) * T + pos) * V;
          if (loss.kind === 'kl') {
            const K = ids.length, p = d.soft!.subarray((r * d.maxNew! + pos - from) * K, (r * d.maxNew! + pos - from + 1) * K);
            let max = -Infinity;
            for (const id of ids) max = Math.max(max, logits[o + id]!);
            let z = 0;
            for (const id of ids) z += Math.exp(logits[o + id]! - max);
            const logZ = max + Math.log(z);
            let kl = 0;
            for (let k = 0; k < K; k++) if (p[k]! > 0) kl += p[k]! * (Math.log(p[k]!) - (logits[o + ids[k]!]! - logZ));
            sum[i]! += kl;
          } else {
            let max = -Infinity;
            for (let k = 0; k < V; k++) max = Math.max(max, logits[o + k]!);
            let z = 0;
            for (let k = 0; k < V; k++) z += Math.exp(logits[o + k]! - max);
            sum[i]! += max + Math.log(z) - logits[o + s.tokens[r * C + pos + 1]!]!;
          }
          count[i]! += 1;
        }
      }
    }
  }
  return Array.from(sum, (x, i) => x / count[i]!);
}

/** The share of the student's loss reduction the bias recovers: (L_base − L_bias) / (L_base − L_student). */
export const lossGain = (base: number, student: number, bias: number): number => (base - bias) / (base - student);

/** A seed's inputs to the detector: its base, its trained student and control, and their data. */
export interface DetectSeed {
  base: Float32Array;
  student: Float32Array;
  control: Float32Array;
  /** The student's data (teacher rows) and the control's (control teacher rows), with fresh shuffle labels. */
  teacherData: ModelData;
  controlData: ModelData;
}

/**
 * detect = bias for a group of seeds: per seed a bias vector on the teacher's rows and one on the
 * control teacher's, side by side, with the students' loss, steps and batch; then the metrics
 * (schema.ts): the loss gains over all rows and P(trait) with each bias.
 */
export async function detectMetrics(shape: LmShape, seeds: readonly DetectSeed[], loss: LmLoss, trait: (g: LmGroup) => Promise<number[]>, o: DetectOptions): Promise<Record<string, number>[]> {
  const data = seeds.flatMap((s) => [s.teacherData, s.controlData]);
  const { weights } = await trainBiases(shape, seeds.flatMap((s) => [s.base, s.base]), data, loss, o);
  await releaseSessions(TRAIN_SESSIONS); // the training graphs' arenas would add to the evaluation's peak
  const biased = groupOf(shape, weights, { threads: o.threads });
  const traits = await trait(biased);
  const evalGroup = groupOf(shape, seeds.flatMap((s, i) => [s.base, s.student, weights[2 * i]!, s.base, s.control, weights[2 * i + 1]!]), { threads: o.threads });
  const L = await meanLosses(evalGroup, seeds.flatMap((s) => [s.teacherData, s.teacherData, s.teacherData, s.controlData, s.controlData, s.controlData]), loss);
  return seeds.map((_, i) => ({
    detect_loss_gain: lossGain(L[6 * i]!, L[6 * i + 1]!, L[6 * i + 2]!),
    detect_trait: traits[2 * i]!,
    detect_loss_gain_control: lossGain(L[6 * i + 3]!, L[6 * i + 4]!, L[6 * i + 5]!),
    detect_trait_control: traits[2 * i + 1]!,
  }));
}
