// The ONNX graphs of lm_distill's engine: N models side by side (activations [N, M, d] with
// M = B·T rows, weights [N, d_in, d_out]; every product a batched 3-D MatMul that MLAS runs as
// N GEMMs), a forward pass and a hand-written backward pass, as mlp_distill's graphs. The
// optimiser is not in the graph: a step graph outputs each trainable tensor's gradient into the
// engine's gradient slab, and the fused Adam kernel updates the weights in place (engine.ts).
// Transposed products use com.microsoft FusedMatMul (transA / transB, alpha) with no copies.
// Sums over rows (bias and LayerNorm gradients, per-model losses) are products with ones, whose
// order per element does not depend on N, so a model's numbers do not depend on its group.
import { GraphBuilder, attr, DT } from '../../backend/onnx-graph.ts';
import { LN_EPS, paramLayout, type LmShape, type ParamGroup, type ParamSpec } from './model.ts';

/** The loss of a step graph: `ce` cross-entropy on next tokens, `kl` KL to target distributions over `ids`. */
export type LmLoss = { kind: 'ce' } | { kind: 'kl'; ids: readonly number[] };

export interface StepGraphSpec {
  shape: LmShape;
  /** Models side by side. */
  n: number;
  /** Sequences per model and step. */
  batch: number;
  /** Positions per sequence (≤ context). */
  T: number;
  loss: LmLoss;
  /** Parameter groups that get no gradient (and no Adam update). */
  frozen: readonly ParamGroup[];
}

/** Graph input names. */
export const IN = {
  /** int64 [N, M]: token ids offset by model (n·vocab + id), rows of the stacked embedding tables. */
  tokens: 'tokens',
  /** int64 [N, M]: the raw token ids (0..vocab−1), for the embedding's gradient. */
  rawTokens: 'raw_tokens',
  /** int64 [N, M]: position rows of the stacked position tables (n·context + t). */
  positions: 'positions',
  /** int64 [N, M]: next-token targets (ce). */
  targets: 'targets',
  /** float [N, M, K]: target distributions over the loss ids (kl). */
  probs: 'probs',
  /** float [N, M, 1]: each row's weight in its model's loss (the loss mask divided by its count). */
  weights: 'weights',
} as const;

export const gradName = (name: string) => `grad.${name}`;

/** A tensor's dims in the graphs: vectors as [N, 1, k] (they broadcast over rows), matrices [N, r, c]. */
export function graphDims(s: ParamSpec, n: number): number[] {
  return s.shape.length === 1 ? [n, 1, s.shape[0]!] : [n, ...s.shape];
}

/** The tensors a step graph trains (layout order). */
export function trainable(shape: LmShape, frozen: readonly ParamGroup[]): ParamSpec[] {
  return paramLayout(shape).specs.filter((s) => !frozen.includes(s.group));
}

interface Cache {
  a: string; xhat1: string; rstd1: string; q: string; k: string; v: string; p: string; y: string;
  a2: string; xhat2: string; rstd2: string; hpre: string; sq: string; t: string; gate: string; hact: string;
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

class LmGraph {
  readonly g: GraphBuilder;
  readonly n: number;
  readonly M: number;
  private readonly consts = new Map<string, string>();

  constructor(name: string, readonly shape: LmShape, n: number, readonly B: number, readonly T: number) {
    this.g = new GraphBuilder(name);
    this.n = n;
    this.M = B * T;
  }

  /** A cached float scalar constant. */
  c(v: number): string {
    const k = `f${v}`;
    let s = this.consts.get(k);
    if (!s) this.consts.set(k, (s = this.g.constF([v])));
    return s;
  }

  shapeOf(dims: number[]): string {
    const k = `s${dims.join(',')}`;
    let s = this.consts.get(k);
    if (!s) this.consts.set(k, (s = this.g.constI64(dims)));
    return s;
  }

  op = (t: string, i: string[], a: Record<string, ReturnType<typeof attr.i>> = {}) => this.g.op(t, i, a);
  add = (a: string, b: string) => this.op('Add', [a, b]);
  sub = (a: string, b: string) => this.op('Sub', [a, b]);
  mul = (a: string, b: string) => this.op('Mul', [a, b]);
  mm = (a: string, b: string) => this.op('MatMul', [a, b]);
  reshape = (x: string, dims: number[]) => this.op('Reshape', [x, this.shapeOf(dims)]);
  transpose = (x: string, perm: number[]) => this.g.op('Transpose', [x], { perm: attr.ints(perm) });
  /** Product with a transposed operand, optionally scaled (FusedMatMul). */
  mmT(a: string, b: string, o: { transA?: boolean; transB?: boolean; alpha?: number }): string {
    const at: Record<string, ReturnType<typeof attr.i> | ReturnType<typeof attr.f>> = {};
    if (o.transA) at.transA = attr.i(1);
    if (o.transB) at.transB = attr.i(1);
    if (o.alpha !== undefined) at.alpha = attr.f(o.alpha);
    return this.g.op('FusedMatMul', [a, b], at, 'com.microsoft');
  }
  meanLast = (x: string) => this.g.op('ReduceMean', [x], { axes: attr.ints([-1]), keepdims: attr.i(1) });

  /** Sum over the M rows of each model: [N, M, k] → [N, 1, k], a product with ones. */
  sumRows(x: string): string {
    let ones = this.consts.get('onesM');
    if (!ones) this.consts.set('onesM', (ones = this.g.constF(Array<number>(this.M).fill(1), [1, 1, this.M])));
    return this.mm(ones, x);
  }

  layerNorm(x: string, g: string, b: string): { out: string; xhat: string; rstd: string } {
    const xc = this.sub(x, this.meanLast(x));
    const rstd = this.op('Reciprocal', [this.op('Sqrt', [this.add(this.meanLast(this.mul(xc, xc)), this.c(LN_EPS))])]);
    const xhat = this.mul(xc, rstd);
    return { out: this.add(this.mul(xhat, g), b), xhat, rstd };
  }

  /** LayerNorm's backward: dx, and the gradients of g and b ([N, 1, d]). */
  layerNormBack(dout: string, xhat: string, rstd: string, g: string, needDx = true): { dx: string; dg: string; db: string } {
    let dx = '';
    if (needDx) {
      const dxhat = this.mul(dout, g);
      dx = this.mul(rstd, this.sub(this.sub(dxhat, this.meanLast(dxhat)), this.mul(xhat, this.meanLast(this.mul(dxhat, xhat)))));
    }
    return { dx, dg: this.sumRows(this.mul(dout, xhat)), db: this.sumRows(dout) };
  }

  /** Index `i` of axis 0 (the axis removed). */
  pick(x: string, i: number): string {
    return this.g.op('Gather', [x, this.g.constI64([i], [])], { axis: attr.i(0) });
  }
}

/** Names of the model's parameters as graph inputs, declared on the graph. */
function declareParams(G: LmGraph): (name: string) => string {
  const layout = paramLayout(G.shape);
  for (const s of layout.specs) G.g.input(s.name, graphDims(s, G.n));
  return (name) => {
    if (!layout.byName.has(name)) throw new Error(`lm_distill: no parameter ${name} (internal error)`);
    return name;
  };
}

/** The forward pass: the final LayerNorm's output, the logits [N, M, V], and what the backward pass needs. */
function forward(G: LmGraph, P: (n: string) => string): {
  caches: Cache[]; xf: string; xhatf: string; rstdf: string; logits: string;
} {
  const { vocab: V, context: C, dModel: d, heads: H, layers } = G.shape;
  const { n: N, B, T, M } = G;
  const dh = d / H;
  const tokens = G.g.input(IN.tokens, [N, M], DT.INT64);
  const positions = G.g.input(IN.positions, [N, M], DT.INT64);
  const emb = G.op('Gather', [G.reshape(P('wte'), [N * V, d]), tokens]);
  const pos = G.op('Gather', [G.reshape(P('wpe'), [N * C, d]), positions]);
  let x = G.add(emb, pos);
  // Causal mask, added to the scores: 0 on and below the diagonal, −1e9 above (exp gives exactly 0).
  const maskVals: number[] = [];
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) maskVals.push(j <= i ? 0 : -1e9);
  const mask = G.g.constF(maskVals, [T, T]);
  const caches: Cache[] = [];
  for (let l = 0; l < layers; l++) {
    const h = `h${l}.`;
    const ln1 = G.layerNorm(x, P(`${h}ln1.g`), P(`${h}ln1.b`));
    const qkv = G.add(G.mm(ln1.out, P(`${h}attn.wqkv`)), P(`${h}attn.bqkv`));
    // [N, M, 3d] → [N·B, T, 3, H, dh] → [3, N·B, H, T, dh]: q, k, v per head.
    const heads = G.transpose(G.reshape(qkv, [N * B, T, 3, H, dh]), [2, 0, 3, 1, 4]);
    const q = G.pick(heads, 0), k = G.pick(heads, 1), v = G.pick(heads, 2);
    const s = G.add(G.mmT(q, k, { transB: true, alpha: 1 / Math.sqrt(dh) }), mask);
    const p = G.g.op('Softmax', [s], { axis: attr.i(-1) });
    const yh = G.mm(p, v);
    const y = G.reshape(G.transpose(yh, [0, 2, 1, 3]), [N, M, d]);
    const x1 = G.add(x, G.add(G.mm(y, P(`${h}attn.wo`)), P(`${h}attn.bo`)));
    const ln2 = G.layerNorm(x1, P(`${h}ln2.g`), P(`${h}ln2.b`));
    const hpre = G.add(G.mm(ln2.out, P(`${h}mlp.w1`)), P(`${h}mlp.b1`));
    // GELU, tanh approximation: x·gate, gate = 0.5·(1 + t), t = tanh(x·(c + c·k·x²)). Written to
    // keep the passes over these [n, B·T, dFF] tensors few (they are most of the element-wise
    // time), and to leave x², t and the gate for the backward pass.
    const sq = G.mul(hpre, hpre);
    const t = G.op('Tanh', [G.mul(hpre, G.add(G.mul(sq, G.c(GELU_C * GELU_K)), G.c(GELU_C)))]);
    const gate = G.mul(G.add(t, G.c(1)), G.c(0.5));
    const hact = G.mul(hpre, gate);
    x = G.add(x1, G.add(G.mm(hact, P(`${h}mlp.w2`)), P(`${h}mlp.b2`)));
    caches.push({ a: ln1.out, xhat1: ln1.xhat, rstd1: ln1.rstd, q, k, v, p, y, a2: ln2.out, xhat2: ln2.xhat, rstd2: ln2.rstd, hpre, sq, t, gate, hact });
  }
  const lnf = G.layerNorm(x, P('lnf.g'), P('lnf.b'));
  // Tied output projection: logits = xf · wteᵀ.
  const logits = G.mmT(lnf.out, P('wte'), { transB: true });
  return { caches, xf: lnf.out, xhatf: lnf.xhat, rstdf: lnf.rstd, logits };
}

/**
 * Logits of N models on [N, B, T] token blocks: inputs `tokens` and `positions` (as the step
 * graphs) and the parameters; output `logits` [N, M, V].
 */
export function logitsGraph(shape: LmShape, n: number, B: number, T: number): Uint8Array {
  const G = new LmGraph('lm_logits', shape, n, B, T);
  const P = declareParams(G);
  G.g.output('logits', forward(G, P).logits, [n, G.M, shape.vocab]);
  return G.g.build();
}

/**
 * One training step's forward and backward pass. Inputs: tokens, positions, raw_tokens (when the
 * embeddings train), targets (ce) or probs (kl), weights, and every parameter. Outputs: `loss`
 * [N] (each model's weighted sum over rows: with weights = mask / count, its mean) and
 * `grad.<name>` for every trainable tensor, shaped as the tensor.
 */
export function stepGraph(spec: StepGraphSpec): Uint8Array {
  const { shape, n: N, batch: B, T, loss } = spec;
  const { vocab: V, context: C, dModel: d, heads: H, layers } = shape;
  if (T > C) throw new Error(`lm_distill: step graph for ${T} positions, the context is ${C}`);
  const G = new LmGraph(`lm_step_${loss.kind}`, shape, N, B, T);
  const M = G.M, dh = d / H;
  const P = declareParams(G);
  const layout = paramLayout(shape);
  const trains = (name: string) => !spec.frozen.includes(layout.byName.get(name)!.group);
  // Frozen tensors' gradient products are never built (thunks).
  const grad = (name: string, value: () => string) => {
    if (trains(name)) G.g.output(gradName(name), value(), graphDims(layout.byName.get(name)!, N));
  };
  const f = forward(G, P);
  const weights = G.g.input(IN.weights, [N, M, 1]);

  // ---- loss and dLoss/dlogits ----
  let dlogits: string, perRow: string;
  if (loss.kind === 'ce') {
    const targets = G.g.input(IN.targets, [N, M], DT.INT64);
    const logq = G.g.op('LogSoftmax', [f.logits], { axis: attr.i(-1) });
    const picked = G.g.op('GatherElements', [logq, G.op('Unsqueeze', [targets, G.shapeOf([2])])], { axis: attr.i(2) });
    perRow = G.op('Neg', [picked]);
    const onehot = G.op('OneHot', [targets, G.g.constI64([V], []), G.g.constF([0, 1], [2])]);
    dlogits = G.mul(G.sub(G.op('Exp', [logq]), onehot), weights);
  } else {
    // KL(p ‖ q) over the ids, q the model's distribution renormalised over them; p sums to 1.
    const K = loss.ids.length;
    const probs = G.g.input(IN.probs, [N, M, K]);
    const ids = G.g.constI64([...loss.ids]);
    const logq = G.g.op('LogSoftmax', [G.g.op('Gather', [f.logits, ids], { axis: attr.i(2) })], { axis: attr.i(-1) });
    const logp = G.op('Log', [G.op('Max', [probs, G.c(1e-30)])]); // p = 0 contributes 0·log(1e-30) = 0
    perRow = G.g.op('ReduceSum', [G.mul(probs, G.sub(logp, logq)), G.shapeOf([-1])], { keepdims: attr.i(1) });
    // Back onto the vocabulary through a 0/1 selection matrix [K, V] (the ids need not be contiguous).
    const sel = Array<number>(K * V).fill(0);
    loss.ids.forEach((id, k) => { sel[k * V + id] = 1; });
    dlogits = G.mm(G.mul(G.sub(G.op('Exp', [logq]), probs), weights), G.g.constF(sel, [K, V]));
  }
  G.g.output('loss', G.reshape(G.sumRows(G.mul(perRow, weights)), [N]), [N]);

  // ---- backward ----
  const lnfB = G.layerNormBack(G.mm(dlogits, P('wte')), f.xhatf, f.rstdf, P('lnf.g'));
  grad('lnf.g', () => lnfB.dg);
  grad('lnf.b', () => lnfB.db);
  let dx = lnfB.dx;
  const embeddingsTrain = trains('wte') || trains('wpe');
  for (let l = layers - 1; l >= 0; l--) {
    const h = `h${l}.`, c = f.caches[l]!;
    // MLP: x_out = x1 + gelu(ln2(x1)·W1 + b1)·W2 + b2
    grad(`${h}mlp.b2`, () => G.sumRows(dx));
    grad(`${h}mlp.w2`, () => G.mmT(c.hact, dx, { transA: true }));
    const dhact = G.mmT(dx, P(`${h}mlp.w2`), { transB: true });
    // gelu'(x) = 0.5·(1 + t) + 0.5·x·(1 − t²)·(c + 3ck·x²) = gate·(1 + x·(1 − t)·(c + 3ck·x²))
    const du = G.add(G.mul(c.sq, G.c(3 * GELU_K * GELU_C)), G.c(GELU_C));
    const slope = G.add(G.mul(G.mul(du, G.sub(G.c(1), c.t)), c.hpre), G.c(1));
    const dhpre = G.mul(G.mul(slope, c.gate), dhact);
    grad(`${h}mlp.b1`, () => G.sumRows(dhpre));
    grad(`${h}mlp.w1`, () => G.mmT(c.a2, dhpre, { transA: true }));
    const ln2B = G.layerNormBack(G.mmT(dhpre, P(`${h}mlp.w1`), { transB: true }), c.xhat2, c.rstd2, P(`${h}ln2.g`));
    grad(`${h}ln2.g`, () => ln2B.dg);
    grad(`${h}ln2.b`, () => ln2B.db);
    const dx1 = G.add(dx, ln2B.dx);
    // Attention: x1 = x + y·Wo + bo
    grad(`${h}attn.bo`, () => G.sumRows(dx1));
    grad(`${h}attn.wo`, () => G.mmT(c.y, dx1, { transA: true }));
    const dy = G.mmT(dx1, P(`${h}attn.wo`), { transB: true });
    const dyh = G.transpose(G.reshape(dy, [N * B, T, H, dh]), [0, 2, 1, 3]);
    const dp = G.mmT(dyh, c.v, { transB: true });
    const dv = G.mmT(c.p, dyh, { transA: true });
    // softmax backward: ds = p ⊙ (dp − Σ_j dp·p); the score scale folds into the products below.
    const rowDot = G.g.op('ReduceSum', [G.mul(dp, c.p), G.shapeOf([-1])], { keepdims: attr.i(1) });
    const ds = G.mul(c.p, G.sub(dp, rowDot));
    const alpha = 1 / Math.sqrt(dh);
    const dq = G.mmT(ds, c.k, { alpha });
    const dk = G.mmT(ds, c.q, { transA: true, alpha });
    const un = (x: string) => G.op('Unsqueeze', [x, G.shapeOf([0])]);
    const dheads = G.g.op('Concat', [un(dq), un(dk), un(dv)], { axis: attr.i(0) });
    const dqkv = G.reshape(G.transpose(dheads, [1, 3, 0, 2, 4]), [N, M, 3 * d]);
    grad(`${h}attn.bqkv`, () => G.sumRows(dqkv));
    grad(`${h}attn.wqkv`, () => G.mmT(c.a, dqkv, { transA: true }));
    // Below layer 0 only the embeddings need dx.
    const needDx = l > 0 || embeddingsTrain;
    if (!needDx && !trains(`${h}ln1.g`) && !trains(`${h}ln1.b`)) break;
    const ln1B = G.layerNormBack(G.mmT(dqkv, P(`${h}attn.wqkv`), { transB: true }), c.xhat1, c.rstd1, P(`${h}ln1.g`), needDx);
    grad(`${h}ln1.g`, () => ln1B.dg);
    grad(`${h}ln1.b`, () => ln1B.db);
    if (needDx) dx = G.add(dx1, ln1B.dx);
  }
  // wte: the output projection's gradient plus the input embedding's (one-hot rows · dx0).
  grad('wte', () => {
    const onehot = G.op('OneHot', [G.g.input(IN.rawTokens, [N, M], DT.INT64), G.g.constI64([V], []), G.g.constF([0, 1], [2])]);
    return G.add(G.mmT(dlogits, f.xf, { transA: true }), G.mmT(onehot, dx, { transA: true }));
  });
  // wpe: the sum over the batch of each position's dx0, padded to the context.
  grad('wpe', () => {
    const ones = G.g.constF(Array<number>(B).fill(1), [1, 1, B]);
    const dpos = G.reshape(G.mm(ones, G.reshape(dx, [N, B, T * d])), [N, T, d]);
    return T === C ? dpos : G.op('Pad', [dpos, G.g.constI64([0, 0, 0, 0, C - T, 0])]);
  });
  return G.g.build();
}
