// The ONNX graphs of the ONNX Runtime engine. All N models of a group run side by side as
// batched 3-D products: activations [N, B, d], weights [N, d_in, d_out], biases [N, 1, d_out].
// The backward pass is the hand-derived one of the TensorFlow.js engine; transposed products use
// com.microsoft FusedMatMul (native transA / transB, no Transpose copies). The optimiser is not in
// the graph: a step graph outputs gradients, and one fused Adam pass (adam-kernel.ts) updates
// the weights in place. Losses are reduced per model (over batch and logits), so no model's
// numbers depend on the others in its group.
import { GraphBuilder, attr, DT, type Dim } from '../../../backend/onnx-graph.ts';
import type { MlpDistillParams } from '../schema.ts';

export const DIGITS = 10;

/** Input [1, 1, B] of ones (fed per batch size): bias gradients and per-model sums are products with it. */
export const ONES_B = 'ones_b';

/** Names of a net's parameters (prefix p) and their gradients. */
export const paramName = (p: string, kind: 'W' | 'b', l: number) => `${p}${kind}${l}`;
export const gradName = (p: string, kind: 'W' | 'b', l: number) => `${p}g${kind}${l}`;

/** Shapes of a net's tensors, in slab order: W0, b0, W1, b1, ... (per model; prepend N). */
export function paramShapes(dims: number[]): { kind: 'W' | 'b'; l: number; shape: [number, number] }[] {
  const out: { kind: 'W' | 'b'; l: number; shape: [number, number] }[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    out.push({ kind: 'W', l, shape: [dims[l]!, dims[l + 1]!] });
    out.push({ kind: 'b', l, shape: [1, dims[l + 1]!] });
  }
  return out;
}

function declareParams(g: GraphBuilder, p: string, dims: number[]): void {
  for (const t of paramShapes(dims)) g.input(paramName(p, t.kind, t.l), ['N', ...t.shape]);
}

/** Forward pass of net `p`: the hidden activations (after ReLU) and the output logits. */
function forward(g: GraphBuilder, p: string, X: string, dims: number[]): { hidden: string[]; out: string } {
  const hidden: string[] = [];
  let a = X;
  const L = dims.length - 1;
  for (let l = 0; l < L; l++) {
    const z = g.op('Add', [g.op('MatMul', [a, paramName(p, 'W', l)]), paramName(p, 'b', l)]);
    if (l === L - 1) return { hidden, out: z };
    a = g.op('Relu', [z]);
    hidden.push(a);
  }
  throw new Error('unreachable');
}

/**
 * Backprop from dLoss/dOut through net `p`; declares its gradients as graph outputs. XT is the
 * input transposed ([N, 784, B]); ONNX Runtime fuses Transpose + MatMul into one transA product.
 */
function backward(g: GraphBuilder, p: string, XT: string, hidden: string[], dOut: string, dims: number[]): void {
  let dZ = dOut;
  for (let l = dims.length - 2; l >= 0; l--) {
    const gW = l === 0 ? g.op('MatMul', [XT, dZ]) : g.op('FusedMatMul', [hidden[l - 1]!, dZ], { transA: attr.i(1) }, 'com.microsoft');
    const gb = g.op('MatMul', [ONES_B, dZ]);
    g.output(gradName(p, 'W', l), gW, ['N', dims[l]!, dims[l + 1]!]);
    g.output(gradName(p, 'b', l), gb, ['N', 1, dims[l + 1]!]);
    if (l > 0) {
      // Uses W before its update (the update happens outside the graph, after the run).
      const dA = g.op('FusedMatMul', [dZ, paramName(p, 'W', l)], { transB: attr.i(1) }, 'com.microsoft');
      // ReLU'(z) = 1 where the activation is > 0 (as tf.step); Cast(Greater) beat Sign 5x here,
      // and Where(Greater, dA, 0) 2x.
      const mask = g.op('Cast', [g.op('Greater', [hidden[l - 1]!, ZERO(g)])], { to: attr.i(DT.FLOAT) });
      dZ = g.op('Mul', [dA, mask]);
    }
  }
}

const zeros = new WeakMap<GraphBuilder, string>();
const ZERO = (g: GraphBuilder) => {
  let z = zeros.get(g);
  if (!z) zeros.set(g, (z = g.constF([0])));
  return z;
};
const transposeBatch = (g: GraphBuilder, x: string) => g.op('Transpose', [x], { perm: attr.ints([0, 2, 1]) });
const slice = (g: GraphBuilder, x: string, from: number, to: number) =>
  g.op('Slice', [x, g.constI64([from]), g.constI64([to]), g.constI64([2])]);
/**
 * Sum over batch and logits of each model, [N,B,K] → [N], as two products with ones: ORT's
 * ReduceSum picks its summation order by the tensor's shape, so a group of 1 and a group of 25
 * would differ in the last bits; a product's order per element does not depend on N.
 */
function sumPerModel(g: GraphBuilder, x: string, K: number, onesRows = ONES_B): string {
  const rows = g.op('MatMul', [x, g.constF(Array<number>(K).fill(1), [K, 1])]);
  return g.op('Reshape', [g.op('MatMul', [onesRows, rows]), g.constI64([-1])]);
}
const padLogits = (g: GraphBuilder, x: string, before: number, after: number) =>
  before === 0 && after === 0 ? x : g.op('Pad', [x, g.constI64([0, 0, before, 0, 0, after])]);

/**
 * Teacher step: inputs X [N,B,784], Y one-hot [N,B,10], scale [1] (= 1/B), the net's parameters
 * (prefix t_); outputs the gradients and loss [N] (cross-entropy on the 10 digit logits, mean
 * over the batch of each model; the aux logits get no gradient).
 */
export function teacherStepGraph(dims: number[]): Uint8Array {
  const g = new GraphBuilder('teacher_step');
  const C = dims[dims.length - 1]!;
  const X = g.input('X', ['N', 'B', dims[0]!]);
  const Y = g.input('Y', ['N', 'B', DIGITS]);
  const scale = g.input('scale', [1]);
  g.input(ONES_B, [1, 1, 'B']);
  declareParams(g, 't_', dims);
  const { hidden, out } = forward(g, 't_', X, dims);
  const logq = g.op('LogSoftmax', [slice(g, out, 0, DIGITS)], { axis: attr.i(-1) });
  g.output('loss', g.op('Mul', [g.op('Neg', [sumPerModel(g, g.op('Mul', [Y, logq]), DIGITS)]), scale]), ['N']);
  const dz = g.op('Mul', [g.op('Sub', [g.op('Exp', [logq]), Y]), scale]);
  backward(g, 't_', transposeBatch(g, X), hidden, padLogits(g, dz, 0, C - DIGITS), dims);
  return g.build();
}

export const DISTILL_ARMS = [
  { arm: 'student', all: false },
  { arm: 'student_all', all: true },
  { arm: 'cross', all: false },
  { arm: 'cross_all', all: true },
] as const;

/** Prefix of the net in an arm step graph (every arm runs the same graph on its own weights). */
export const ARM_PREFIX = 'a_';

/**
 * A net's forward pass: inputs X [N,B,784] (or [1,B,784], broadcast over the models: the test
 * set) and the net's parameters (t_); output logits [N,B,C]. The teacher's targets in
 * distillation, and any net's test-set logits in evaluation.
 */
export function logitsGraph(dims: number[]): Uint8Array {
  const g = new GraphBuilder('logits');
  const X = g.input('X', ['NX', 'B', dims[0]!]);
  declareParams(g, 't_', dims);
  g.output('logits', forward(g, 't_', X, dims).out, ['N', 'B', dims[dims.length - 1]!]);
  return g.build();
}

/**
 * Distillation step of one arm (the arms run one after another, so only one arm's activations
 * and gradients exist at a time): inputs X [N,B,784], the teacher's logits T [N,B,C], scale [1]
 * (the loss reduction, see the engine) and the arm's parameters (a_); outputs its gradients
 * and loss [N]. `all`: distil on all logits, else on the aux logits only.
 */
export function armStepGraph(dims: number[], cfg: Pick<MlpDistillParams, 'loss' | 'temperature' | 'aux_logits'>, all: boolean): Uint8Array {
  const g = new GraphBuilder(all ? 'arm_step_all' : 'arm_step_aux');
  const C = dims[dims.length - 1]!;
  const X = g.input('X', ['N', 'B', dims[0]!]);
  const T = g.input('T', ['N', 'B', C]);
  const scale = g.input('scale', [1]);
  g.input(ONES_B, [1, 1, 'B']);
  declareParams(g, ARM_PREFIX, dims);
  const target = all ? T : slice(g, T, C - cfg.aux_logits, C);
  const { hidden, out } = forward(g, ARM_PREFIX, X, dims);
  const s = all ? out : slice(g, out, C - cfg.aux_logits, C);
  const K = all ? C : cfg.aux_logits;
  let loss: string, grad: string;
  if (cfg.loss === 'kl') {
    // KL(p ‖ q), p = softmax(t / T), q = softmax(s / T); d/ds = (q − p) / T, times the reduction scale.
    const invT = g.constF([1 / cfg.temperature]);
    const logp = g.op('LogSoftmax', [g.op('Mul', [target, invT])], { axis: attr.i(-1) });
    const p = g.op('Exp', [logp]);
    const logq = g.op('LogSoftmax', [g.op('Mul', [s, invT])], { axis: attr.i(-1) });
    loss = g.op('Mul', [sumPerModel(g, g.op('Mul', [p, g.op('Sub', [logp, logq])]), K), scale]);
    grad = g.op('Mul', [g.op('Sub', [g.op('Exp', [logq]), p]), g.op('Mul', [scale, invT])]);
  } else {
    // Mean squared difference of raw logits (scale = 1/(B·K)); d/ds = 2 (s − t) · scale.
    const d = g.op('Sub', [s, target]);
    loss = g.op('Mul', [sumPerModel(g, g.op('Mul', [d, d]), K), scale]);
    grad = g.op('Mul', [d, g.op('Mul', [scale, g.constF([2])])]);
  }
  g.output('loss', loss, ['N']);
  backward(g, ARM_PREFIX, transposeBatch(g, X), hidden, all ? grad : padLogits(g, grad, C - cfg.aux_logits, 0), dims);
  return g.build();
}

/** AᵀB per model, [N,M,H]ᵀ·[N,M,H] → [N,H,H]: a Gram product of CKA. */
const gram = (g: GraphBuilder, x: string, y: string) => g.op('FusedMatMul', [x, y], { transA: attr.i(1) }, 'com.microsoft');

/** A CKA graph's inputs: a test-set chunk X [1,M,784] and ones [1,1,M] (column sums are products with it). */
function ckaChunk(name: string, dims: number[]): { g: GraphBuilder; X: string; ones: string } {
  const g = new GraphBuilder(name);
  return { g, X: g.input('X', [1, 'M', dims[0]!]), ones: g.input('ones_m', [1, 1, 'M']) };
}

/**
 * Linear CKA's sufficient statistics between nets a_ and b_ on a chunk of the test set, per
 * model, for the first and the last hidden layer (`first_` / `last_`): the Gram products
 * AᵀB, AᵀA, BᵀB [N,H,H] and the column sums of A and B [N,1,H] (products with ones, whose
 * order per element does not depend on N). The engine adds chunks up in float64 and centres.
 */
export function ckaStatsGraph(dims: number[]): Uint8Array {
  const { g, X, ones } = ckaChunk('cka_stats', dims);
  declareParams(g, 'a_', dims);
  declareParams(g, 'b_', dims);
  const ha = forward(g, 'a_', X, dims).hidden, hb = forward(g, 'b_', X, dims).hidden;
  const layers = { first: 0, last: ha.length - 1 };
  for (const [name, l] of Object.entries(layers)) {
    const H = dims[l + 1]!;
    const a = ha[l]!, b = hb[l]!;
    g.output(`${name}_ab`, gram(g, a, b), ['N', H, H]);
    g.output(`${name}_aa`, gram(g, a, a), ['N', H, H]);
    g.output(`${name}_bb`, gram(g, b, b), ['N', H, H]);
    g.output(`${name}_sa`, g.op('MatMul', [ones, a]), ['N', 1, H]);
    g.output(`${name}_sb`, g.op('MatMul', [ones, b]), ['N', 1, H]);
  }
  return g.build();
}

/**
 * The fixed net's side of the last hidden layer's CKA statistics (the teacher's, computed once
 * per distillation phase when its CKA is taken more than once): on a chunk [1,M,784], its last
 * hidden activations `last_h` [N,M,H] (kept, then fed to ckaAgainstGraph), `last_bb` and `last_sb`,
 * with the same ops as in ckaStatsGraph, so the same floats.
 */
export function ckaReferenceGraph(dims: number[]): Uint8Array {
  const { g, X, ones } = ckaChunk('cka_reference', dims);
  declareParams(g, 'b_', dims);
  const hb = forward(g, 'b_', X, dims).hidden;
  const H = dims[hb.length]!;
  const b = hb[hb.length - 1]!;
  g.output('last_h', b, ['N', 'M', H]);
  g.output('last_bb', gram(g, b, b), ['N', H, H]);
  g.output('last_sb', g.op('MatMul', [ones, b]), ['N', 1, H]);
  return g.build();
}

/** Net a_'s side against given last hidden activations `b_last` [N,M,H]: `last_ab`, `last_aa`, `last_sa`. */
export function ckaAgainstGraph(dims: number[]): Uint8Array {
  const { g, X, ones } = ckaChunk('cka_against', dims);
  declareParams(g, 'a_', dims);
  const H = dims[dims.length - 2]!;
  const b = g.input('b_last', ['N', 'M', H]);
  const ha = forward(g, 'a_', X, dims).hidden;
  const a = ha[ha.length - 1]!;
  g.output('last_ab', gram(g, a, b), ['N', H, H]);
  g.output('last_aa', gram(g, a, a), ['N', H, H]);
  g.output('last_sa', g.op('MatMul', [ones, a]), ['N', 1, H]);
  return g.build();
}

/** Linear CKA from summed statistics of n rows (float64): ‖C_ab‖²_F / (‖C_aa‖_F ‖C_bb‖_F). */
export function ckaFromStats(ab: Float64Array, aa: Float64Array, bb: Float64Array, sa: Float64Array, sb: Float64Array, n: number): number {
  const H = sa.length;
  let hsic = 0, nA = 0, nB = 0;
  for (let p = 0; p < H; p++) {
    for (let q = 0; q < H; q++) {
      const k = p * H + q;
      const cab = ab[k]! - (sa[p]! * sb[q]!) / n;
      const caa = aa[k]! - (sa[p]! * sa[q]!) / n;
      const cbb = bb[k]! - (sb[p]! * sb[q]!) / n;
      hsic += cab * cab; nA += caa * caa; nB += cbb * cbb;
    }
  }
  return hsic / Math.sqrt(nA * nB);
}

export type { Dim };
