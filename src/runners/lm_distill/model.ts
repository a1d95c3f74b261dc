// The word-level GPT of lm_distill: its shape, the layout of its weights in one Float32Array,
// its seeded init, and a plain-JS forward pass (the oracle the training graphs and the export
// are tested against). The architecture is GPT-2's exactly (pre-LayerNorm, tied token
// embedding and output projection, learned positions, GELU tanh, causal softmax attention,
// Conv1D-style [in, out] weights), so a model maps one-to-one onto transformers.js' gpt2.
import { Rng } from '../../util/random.ts';

export interface LmShape {
  /** Tokens in the vocabulary. */
  vocab: number;
  /** Positions (the longest sequence the model reads). */
  context: number;
  dModel: number;
  layers: number;
  /** Attention heads; dModel must be a multiple of it. */
  heads: number;
  /** Width of the MLP's hidden layer (4·dModel by default). */
  dFF: number;
}

export const LN_EPS = 1e-5;
/** Std of GPT-2's init; the residual projections (attn.wo, mlp.w2) get it / √(2·layers). */
export const INIT_STD = 0.02;

/** A shape from its parts (dFF defaults to 4·dModel), checked. */
export function lmShape(s: Omit<LmShape, 'dFF'> & { dFF?: number }): LmShape {
  const shape: LmShape = { ...s, dFF: s.dFF ?? 4 * s.dModel };
  for (const [k, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`lm_distill: ${k} must be a positive integer (got ${v})`);
  }
  if (shape.dModel % shape.heads !== 0) {
    throw new Error(`lm_distill: d_model (${shape.dModel}) must be a multiple of heads (${shape.heads})`);
  }
  return shape;
}

/** What a parameter belongs to, for freezing (embeddings = wte + wpe; norms = every LayerNorm). */
export type ParamGroup = 'embeddings' | 'attention' | 'mlp' | 'norms';
type Init = 'normal' | 'residual' | 'ones' | 'zeros';

export interface ParamSpec {
  /** Our name: `wte`, `wpe`, `h0.ln1.g`, `h0.attn.wqkv`, …, `lnf.b`. */
  name: string;
  /** The tensor's name in a Hugging Face GPT-2 checkpoint (same shape, same [in, out] order). */
  gpt2: string;
  shape: number[];
  /** Floats of one model's tensor. */
  size: number;
  /** Start of the tensor in the slab (floats); n models' copies follow each other there. */
  offset: number;
  group: ParamGroup;
  init: Init;
}

export interface ParamLayout {
  specs: ParamSpec[];
  /** Floats of the whole slab. */
  total: number;
  /** Models side by side in it. */
  n: number;
  byName: Map<string, ParamSpec>;
}

const round4 = (k: number) => (k + 3) & ~3;

/**
 * The weights of `n` models in ONE Float32Array, tensor after tensor, in this order:
 *   wte [vocab, d], wpe [context, d],
 *   per block l: h{l}.ln1.g [d], h{l}.ln1.b [d], h{l}.attn.wqkv [d, 3d], h{l}.attn.bqkv [3d],
 *     h{l}.attn.wo [d, d], h{l}.attn.bo [d], h{l}.ln2.g [d], h{l}.ln2.b [d],
 *     h{l}.mlp.w1 [d, dFF], h{l}.mlp.b1 [dFF], h{l}.mlp.w2 [dFF, d], h{l}.mlp.b2 [d],
 *   lnf.g [d], lnf.b [d].
 * Each tensor holds the n models' copies one after another ([n, ...shape], the batched layout
 * of the training graphs) and starts 16-byte aligned (its block rounded up to 4 floats), so
 * the fused Adam kernel can run over any run of tensors. With n = 1 it is one model's weights.
 * wqkv's columns are q, k, v (d each), each split into `heads` blocks of d/heads columns.
 */
export function paramLayout(shape: LmShape, n = 1): ParamLayout {
  const { vocab, context, dModel: d, layers, dFF } = shape;
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (name: string, gpt2: string, dims: number[], group: ParamGroup, init: Init) => {
    const size = dims.reduce((a, b) => a * b, 1);
    specs.push({ name, gpt2, shape: dims, size, offset, group, init });
    offset += round4(n * size);
  };
  add('wte', 'wte.weight', [vocab, d], 'embeddings', 'normal');
  add('wpe', 'wpe.weight', [context, d], 'embeddings', 'normal');
  for (let l = 0; l < layers; l++) {
    const h = `h${l}.`, H = `h.${l}.`;
    add(`${h}ln1.g`, `${H}ln_1.weight`, [d], 'norms', 'ones');
    add(`${h}ln1.b`, `${H}ln_1.bias`, [d], 'norms', 'zeros');
    add(`${h}attn.wqkv`, `${H}attn.c_attn.weight`, [d, 3 * d], 'attention', 'normal');
    add(`${h}attn.bqkv`, `${H}attn.c_attn.bias`, [3 * d], 'attention', 'zeros');
    add(`${h}attn.wo`, `${H}attn.c_proj.weight`, [d, d], 'attention', 'residual');
    add(`${h}attn.bo`, `${H}attn.c_proj.bias`, [d], 'attention', 'zeros');
    add(`${h}ln2.g`, `${H}ln_2.weight`, [d], 'norms', 'ones');
    add(`${h}ln2.b`, `${H}ln_2.bias`, [d], 'norms', 'zeros');
    add(`${h}mlp.w1`, `${H}mlp.c_fc.weight`, [d, dFF], 'mlp', 'normal');
    add(`${h}mlp.b1`, `${H}mlp.c_fc.bias`, [dFF], 'mlp', 'zeros');
    add(`${h}mlp.w2`, `${H}mlp.c_proj.weight`, [dFF, d], 'mlp', 'residual');
    add(`${h}mlp.b2`, `${H}mlp.c_proj.bias`, [d], 'mlp', 'zeros');
  }
  add('lnf.g', 'ln_f.weight', [d], 'norms', 'ones');
  add('lnf.b', 'ln_f.bias', [d], 'norms', 'zeros');
  return { specs, total: offset, n, byName: new Map(specs.map((s) => [s.name, s])) };
}

/** Parameters of one model (the count a paper would quote: wte counted once, it is tied). */
export function paramCount(shape: LmShape): number {
  return paramLayout(shape).specs.reduce((a, s) => a + s.size, 0);
}

/** Model i's copy of a tensor, as a view into a slab laid out by `layout`. */
export function tensorView<A extends Float32Array | Float64Array>(layout: ParamLayout, slab: A, name: string, i = 0): A {
  const s = layout.byName.get(name);
  if (!s) throw new Error(`lm_distill: no parameter named ${name} (internal error)`);
  if (i < 0 || i >= layout.n) throw new Error(`lm_distill: model ${i} outside a slab of ${layout.n} (internal error)`);
  return slab.subarray(s.offset + i * s.size, s.offset + (i + 1) * s.size) as A;
}

/**
 * One model's weights, GPT-2's init: wte, wpe and the weight matrices N(0, 0.02); the residual
 * projections (attn.wo, mlp.w2) N(0, 0.02/√(2·layers)); biases 0; LayerNorm g = 1, b = 0.
 * Drawn in layout order from the stream (seed, 'lm-init'), so the numbers depend on the seed
 * and the shape only.
 */
export function initWeights(shape: LmShape, seed: number): Float32Array {
  const layout = paramLayout(shape);
  const w = new Float32Array(layout.total);
  const rng = Rng.of(seed, 'lm-init');
  const residualStd = INIT_STD / Math.sqrt(2 * shape.layers);
  for (const s of layout.specs) {
    const view = w.subarray(s.offset, s.offset + s.size);
    if (s.init === 'normal') rng.fillNormal(view, INIT_STD);
    else if (s.init === 'residual') rng.fillNormal(view, residualStd);
    else if (s.init === 'ones') view.fill(1);
  }
  return w;
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GELU, tanh approximation (GPT-2's `gelu_new`). */
export const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));

/** LayerNorm of each d-wide row of x (float64), scaled by g and shifted by b. */
type Weights = Float32Array | Float64Array;

function layerNorm(x: Float64Array, rows: number, d: number, g: Weights, b: Weights): Float64Array {
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    for (let j = 0; j < d; j++) mean += x[o + j]!;
    mean /= d;
    let v = 0;
    for (let j = 0; j < d; j++) v += (x[o + j]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + LN_EPS);
    for (let j = 0; j < d; j++) out[o + j] = (x[o + j]! - mean) * inv * g[j]! + b[j]!;
  }
  return out;
}

/** x [rows, k] · W [k, m] + bias [m] (float64). */
function linear(x: Float64Array, rows: number, k: number, W: Weights, bias: Weights, m: number): Float64Array {
  const out = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const o = r * m;
    for (let j = 0; j < m; j++) out[o + j] = bias[j]!;
    for (let p = 0; p < k; p++) {
      const a = x[r * k + p]!;
      if (a === 0) continue;
      const wr = p * m;
      for (let j = 0; j < m; j++) out[o + j] += a * W[wr + j]!;
    }
  }
  return out;
}

/** Options of referenceLogits for the studies that open the model up (hybrid.ts, prune.ts). */
export interface ReferenceOptions {
  /**
   * Another model's weights for the head: the final LayerNorm and the output projection (its wte
   * as unembedding), while the input embedding, positions and blocks (the body) stay `weights`'.
   */
  head?: Weights;
  /** Called per sequence and block with the heads' outputs before attn.wo: [T, d], head h in columns h·d/heads … */
  onHeads?: (layer: number, row: number, y: Float64Array) => void;
  /** Steering and detection: a copy of the residual stream after `residual.layer` blocks. */
  residual?: ResidualTap;
}

/** Steering and detection: where referenceLogits copies the residual stream after `layer` blocks (0: the embeddings), [batch, T, d]. */
export interface ResidualTap {
  layer: number;
  out: Float64Array;
}

/**
 * Logits [batch, T, vocab] (float64) of one model (`weights` laid out by paramLayout(shape, 1))
 * on `tokens` [batch, T] (T ≤ context): position t sees tokens 0..t. Plain loops in float64, so
 * slow but exact enough to be the oracle of the tests (float64 weights too: finite
 * differences); not a training path.
 */
export function referenceLogits(shape: LmShape, weights: Weights, tokens: ArrayLike<number>, batch: number, T: number, opts: ReferenceOptions = {}): Float64Array {
  const layout = paramLayout(shape);
  if (weights.length < layout.total) throw new Error(`lm_distill: weights hold ${weights.length} floats, the shape needs ${layout.total}`);
  if (opts.head && opts.head.length < layout.total) throw new Error(`lm_distill: head weights hold ${opts.head.length} floats, the shape needs ${layout.total}`);
  if (T > shape.context) throw new Error(`lm_distill: sequence of ${T} tokens is longer than the context (${shape.context})`);
  if (tokens.length < batch * T) throw new Error(`lm_distill: ${tokens.length} tokens given for ${batch} × ${T}`);
  const { vocab: V, dModel: d, heads, dFF } = shape;
  const dh = d / heads;
  const p = (name: string) => tensorView(layout, weights, name);
  const wte = p('wte'), wpe = p('wpe');
  const head = (name: string) => tensorView(layout, opts.head ?? weights, name);
  const unembed = head('wte');
  const out = new Float64Array(batch * T * V);
  for (let b = 0; b < batch; b++) {
    let x: Float64Array = new Float64Array(T * d);
    for (let t = 0; t < T; t++) {
      const tok = tokens[b * T + t]!;
      if (!Number.isInteger(tok) || tok < 0 || tok >= V) throw new Error(`lm_distill: token ${tok} outside the vocabulary (0..${V - 1})`);
      for (let j = 0; j < d; j++) x[t * d + j] = wte[tok * d + j]! + wpe[t * d + j]!;
    }
    for (let l = 0; l < shape.layers; l++) {
      if (opts.residual?.layer === l) opts.residual.out.set(x, b * T * d);
      const h = `h${l}.`;
      const a = layerNorm(x, T, d, p(`${h}ln1.g`), p(`${h}ln1.b`));
      const qkv = linear(a, T, d, p(`${h}attn.wqkv`), p(`${h}attn.bqkv`), 3 * d);
      const y = new Float64Array(T * d);
      const scores = new Float64Array(T);
      for (let hd = 0; hd < heads; hd++) {
        const qo = hd * dh, ko = d + hd * dh, vo = 2 * d + hd * dh;
        for (let i = 0; i < T; i++) {
          let max = -Infinity;
          for (let j = 0; j <= i; j++) {
            let s = 0;
            for (let c = 0; c < dh; c++) s += qkv[i * 3 * d + qo + c]! * qkv[j * 3 * d + ko + c]!;
            scores[j] = s / Math.sqrt(dh);
            if (scores[j]! > max) max = scores[j]!;
          }
          let z = 0;
          for (let j = 0; j <= i; j++) z += (scores[j] = Math.exp(scores[j]! - max));
          for (let j = 0; j <= i; j++) {
            const w = scores[j]! / z;
            for (let c = 0; c < dh; c++) y[i * d + qo + c] += w * qkv[j * 3 * d + vo + c]!;
          }
        }
      }
      opts.onHeads?.(l, b, y);
      const attn = linear(y, T, d, p(`${h}attn.wo`), p(`${h}attn.bo`), d);
      for (let k = 0; k < x.length; k++) x[k] += attn[k]!;
      const m = linear(layerNorm(x, T, d, p(`${h}ln2.g`), p(`${h}ln2.b`)), T, d, p(`${h}mlp.w1`), p(`${h}mlp.b1`), dFF);
      for (let k = 0; k < m.length; k++) m[k] = gelu(m[k]!);
      const f = linear(m, T, dFF, p(`${h}mlp.w2`), p(`${h}mlp.b2`), d);
      for (let k = 0; k < x.length; k++) x[k] += f[k]!;
    }
    if (opts.residual?.layer === shape.layers) opts.residual.out.set(x, b * T * d);
    x = layerNorm(x, T, d, head('lnf.g'), head('lnf.b'));
    // Tied output projection: logits = x · wteᵀ (the head model's wte when opts.head is given).
    for (let t = 0; t < T; t++) {
      for (let v = 0; v < V; v++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[t * d + j]! * unembed[v * d + j]!;
        out[(b * T + t) * V + v] = s;
      }
    }
  }
  return out;
}
