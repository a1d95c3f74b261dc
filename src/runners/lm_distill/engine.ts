// lm_distill's training engine: a group of N models of one shape side by side in one
// WebAssembly memory (weights, gradients, Adam moments: four slabs laid out by paramLayout),
// one ONNX Runtime session run per step (graphs.ts: batched forward + backward, gradients
// written straight into the gradient slab), then AdamW in place: the decoupled weight decay
// (W ·= 1 − lr·wd) and one fused Adam pass (adam-kernel.ts) per run of trainable tensors.
// Nothing is allocated per step but the step's inputs.
import type * as ortType from 'onnxruntime-node';
import { cachedSession, ort, releaseOutputs, type Device } from '../../backend/onnxruntime.ts';
import { Arena } from '../mlp_distill/onnx/arena.ts';
import { IN, gradName, graphDims, logitsGraph, stepGraph, trainable, type LmLoss } from './graphs.ts';
import { paramLayout, type LmShape, type ParamGroup, type ParamLayout } from './model.ts';

type Feeds = Record<string, ortType.Tensor>;

export interface GroupOptions {
  /** Intra-op threads (capped at the group's size: see the constructor). */
  threads: number;
  device?: Device;
}

/** One step's data for N models: [N, B, T] blocks, row-major. */
export interface StepBatch {
  B: number;
  T: number;
  /** Input token ids [N·B·T]. */
  tokens: Int32Array;
  /** ce: the next token at each position [N·B·T]. */
  targets?: Int32Array;
  /** kl: target distributions over the loss ids [N·B·T·K] (each row sums to 1 where its mask is set). */
  probs?: Float32Array;
  /** Which positions count [N·B·T] (0/1 or weights); each model's loss is the mean over its masked positions. */
  mask: Float32Array;
}

export interface StepOptions {
  loss: LmLoss;
  /** Learning rate of this step (see cosineLr). */
  lr: number;
  /** AdamW's decoupled weight decay. */
  weightDecay: number;
  frozen?: readonly ParamGroup[];
}

/** torch's CosineAnnealingLR with eta_min 0: the rate at step `step` (0-based) of `total`. */
export function cosineLr(lr: number, step: number, total: number): number {
  return total > 0 ? 0.5 * lr * (1 + Math.cos((Math.PI * Math.min(step, total)) / total)) : lr;
}

export class LmGroup {
  readonly layout: ParamLayout;
  readonly arena: Arena;
  /** Slab starts in the arena (floats). */
  private readonly at: { p: number; g: number; m: number; v: number };
  /** Adam steps taken since the last resetOptimiser. */
  t = 0;
  private readonly threads: number;
  private readonly device: Device;
  private readonly inputs = new Map<string, { tokens: BigInt64Array; raw: BigInt64Array; pos: BigInt64Array; targets: BigInt64Array; weights: Float32Array }>();

  constructor(readonly shape: LmShape, readonly n: number, opts: GroupOptions) {
    this.layout = paramLayout(shape, n);
    const S = this.layout.total;
    this.arena = new Arena(4 * S + 16);
    this.at = { p: this.arena.alloc(S), g: this.arena.alloc(S), m: this.arena.alloc(S), v: this.arena.alloc(S) };
    // MLAS runs a batched product's GEMMs one thread each when there are at least as many models
    // as threads, and splits a GEMM over threads otherwise, which changes the last bits: never
    // more threads than models keeps a model's numbers the same in any group.
    this.threads = Math.max(1, Math.min(opts.threads, n));
    this.device = opts.device ?? 'cpu';
  }

  private slab(which: 'p' | 'g' | 'm' | 'v'): Float32Array {
    return this.arena.f32.subarray(this.at[which], this.at[which] + this.layout.total);
  }

  /** The weights of all models (layout order, see paramLayout): a live view. */
  get weights(): Float32Array {
    return this.slab('p');
  }

  /** The gradients of the last step (a frozen tensor's keep what an earlier step left there; Adam skips them): a live view. */
  get gradients(): Float32Array {
    return this.slab('g');
  }

  /** Write model i's weights (one model's layout, as initWeights returns). */
  setModel(i: number, w: Float32Array): void {
    const one = paramLayout(this.shape);
    if (w.length < one.total) throw new Error(`lm_distill: ${w.length} weights given, the shape needs ${one.total}`);
    const p = this.slab('p');
    one.specs.forEach((s, k) => p.set(w.subarray(s.offset, s.offset + s.size), this.layout.specs[k]!.offset + i * s.size));
  }

  /** A copy of model i's weights in one model's layout. */
  getModel(i: number, slab: 'p' | 'g' = 'p'): Float32Array {
    const one = paramLayout(this.shape);
    const out = new Float32Array(one.total);
    const src = this.slab(slab);
    this.layout.specs.forEach((s, k) => out.set(src.subarray(s.offset + i * s.size, s.offset + (i + 1) * s.size), one.specs[k]!.offset));
    return out;
  }

  /** Fresh Adam moments and step count (a new training phase). */
  resetOptimiser(): void {
    this.slab('m').fill(0);
    this.slab('v').fill(0);
    this.t = 0;
  }

  private tensorsOf(slab: 'p' | 'g', specs = this.layout.specs): Feeds {
    const o = ort();
    const base = this.at[slab];
    const out: Feeds = {};
    for (const s of specs) {
      const view = this.arena.f32.subarray(base + s.offset, base + s.offset + this.n * s.size);
      out[slab === 'p' ? s.name : gradName(s.name)] = new o.Tensor('float32', view, graphDims(s, this.n));
    }
    return out;
  }

  private session(key: string, build: () => Uint8Array): Promise<ortType.InferenceSession> {
    const s = this.shape;
    return cachedSession(`lm:${key}:${s.vocab}x${s.context}x${s.dModel}x${s.layers}x${s.heads}x${s.dFF}:n${this.n}`, { device: this.device, threads: this.threads }, build);
  }

  /** Index inputs for [N, B, T] tokens: stacked-table rows (n·vocab + id), raw ids, position rows. */
  private fillIndices(b: { B: number; T: number; tokens: Int32Array }) {
    const { B, T } = b;
    if (!Number.isInteger(B) || !Number.isInteger(T) || B < 1 || T < 1 || T > this.shape.context) {
      throw new Error(`lm_distill: blocks of ${B} × ${T} tokens; T must be 1..${this.shape.context} (the context)`);
    }
    const key = `${B}x${T}`;
    const M = B * T, NM = this.n * M;
    let buf = this.inputs.get(key);
    if (!buf) {
      buf = { tokens: new BigInt64Array(NM), raw: new BigInt64Array(NM), pos: new BigInt64Array(NM), targets: new BigInt64Array(NM), weights: new Float32Array(NM) };
      for (let i = 0; i < this.n; i++) for (let r = 0; r < M; r++) buf.pos[i * M + r] = BigInt(i * this.shape.context + (r % T));
      this.inputs.set(key, buf);
    }
    if (b.tokens.length !== NM) throw new Error(`lm_distill: ${b.tokens.length} tokens for ${this.n} models × ${B} × ${T}`);
    const V = this.shape.vocab;
    for (let i = 0; i < this.n; i++) {
      for (let r = 0; r < M; r++) {
        const tok = b.tokens[i * M + r]!;
        if (tok < 0 || tok >= V) throw new Error(`lm_distill: token ${tok} outside the vocabulary (0..${V - 1})`);
        buf.raw[i * M + r] = BigInt(tok);
        buf.tokens[i * M + r] = BigInt(i * V + tok);
      }
    }
    return buf;
  }

  /** Logits [N, B·T, V] of every model on its own [B, T] block of `tokens` [N·B·T]. */
  async logits(tokens: Int32Array, B: number, T: number): Promise<Float32Array> {
    const o = ort();
    const s = await this.session(`logits:${B}x${T}`, () => logitsGraph(this.shape, this.n, B, T));
    const buf = this.fillIndices({ B, T, tokens });
    const M = B * T;
    const out = await s.run({
      [IN.tokens]: new o.Tensor('int64', buf.tokens, [this.n, M]),
      [IN.positions]: new o.Tensor('int64', buf.pos, [this.n, M]),
      ...this.tensorsOf('p'),
    });
    const data = (out.logits!.data as Float32Array).slice();
    releaseOutputs();
    return data;
  }

  /**
   * Forward and backward on the batch: the gradients land in the gradient slab. Returns each
   * model's loss (mean over its masked positions; KL for `kl`). Does not update the weights.
   */
  async backward(b: StepBatch, loss: LmLoss, frozen: readonly ParamGroup[] = []): Promise<Float32Array> {
    const o = ort();
    const { B, T } = b;
    const M = B * T, N = this.n;
    const frozenKey = [...frozen].sort().join('+') || 'none';
    const lossKey = loss.kind === 'ce' ? 'ce' : `kl${loss.ids.join(',')}`;
    const s = await this.session(`step:${B}x${T}:${lossKey}:${frozenKey}`, () =>
      stepGraph({ shape: this.shape, n: N, batch: B, T, loss, frozen }));
    const buf = this.fillIndices(b);
    // Row weights: each model's mask over its count, so its loss is a mean over masked positions.
    if (b.mask.length !== N * M) throw new Error(`lm_distill: mask of ${b.mask.length} for ${N} × ${B} × ${T}`);
    for (let i = 0; i < N; i++) {
      let c = 0;
      for (let r = 0; r < M; r++) c += b.mask[i * M + r]!;
      const inv = c > 0 ? 1 / c : 0;
      for (let r = 0; r < M; r++) buf.weights[i * M + r] = b.mask[i * M + r]! * inv;
    }
    const feeds: Feeds = {
      [IN.tokens]: new o.Tensor('int64', buf.tokens, [N, M]),
      [IN.positions]: new o.Tensor('int64', buf.pos, [N, M]),
      [IN.weights]: new o.Tensor('float32', buf.weights, [N, M, 1]),
      ...this.tensorsOf('p'),
    };
    if (!frozen.includes('embeddings')) feeds[IN.rawTokens] = new o.Tensor('int64', buf.raw, [N, M]);
    if (loss.kind === 'ce') {
      if (!b.targets || b.targets.length !== N * M) throw new Error('lm_distill: a ce step needs targets for every position');
      const V = this.shape.vocab;
      for (let k = 0; k < N * M; k++) {
        const y = b.targets[k]!;
        // Masked positions may hold anything (padding); they must still index the vocabulary.
        if (!(y >= 0 && y < V)) throw new Error(`lm_distill: target ${y} outside the vocabulary (0..${V - 1})`);
        buf.targets[k] = BigInt(y);
      }
      feeds[IN.targets] = new o.Tensor('int64', buf.targets, [N, M]);
    } else {
      const K = loss.ids.length;
      if (!b.probs || b.probs.length !== N * M * K) throw new Error(`lm_distill: a kl step needs ${K} target probabilities per position`);
      feeds[IN.probs] = new o.Tensor('float32', b.probs, [N, M, K]);
    }
    const fetches = { ...this.tensorsOf('g', trainable(this.shape, frozen).map((t) => this.layout.byName.get(t.name)!)), loss: null };
    const out = await s.run(feeds, fetches as unknown as Feeds);
    const l = (out.loss!.data as Float32Array).slice();
    releaseOutputs();
    return l;
  }

  /** One training step: gradients, then AdamW on the trainable tensors. Returns each model's loss. */
  async step(b: StepBatch, o: StepOptions): Promise<Float32Array> {
    const frozen = o.frozen ?? [];
    const loss = await this.backward(b, o.loss, frozen);
    this.adamW(o.lr, o.weightDecay, frozen);
    return loss;
  }

  /** torch's AdamW: W ·= 1 − lr·wd, then Adam (no L2 term), over each run of trainable tensors. */
  adamW(lr: number, wd: number, frozen: readonly ParamGroup[] = []): void {
    this.t += 1;
    const f32 = this.arena.f32;
    const specs = this.layout.specs;
    for (let k = 0; k < specs.length;) {
      if (frozen.includes(specs[k]!.group)) { k++; continue; }
      const start = specs[k]!.offset;
      while (k < specs.length && !frozen.includes(specs[k]!.group)) k++;
      const end = k < specs.length ? specs[k]!.offset : this.layout.total;
      if (wd !== 0) {
        const keep = 1 - lr * wd;
        for (let j = this.at.p + start; j < this.at.p + end; j++) f32[j] *= keep;
      }
      this.arena.adam(this.at.p + start, this.at.g + start, this.at.m + start, this.at.v + start, end - start, this.t, lr, 0);
    }
  }
}
