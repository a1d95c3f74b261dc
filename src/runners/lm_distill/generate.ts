// Sampling continuations from an lm_distill model: the forward pass runs in ONNX Runtime
// (onnx-gpt.ts, one session per shape, weights fed as inputs), the sampling in JS. The first step
// reads the whole prompt; later steps read only the new token and the keys and values of the
// earlier ones (past key values), ~7× less work than re-reading the whole context each step. Each prompt draws from its own stream (seed, prompt index), so its
// continuation depends on the seed and the prompt only, not on the batch it ran in. Besides the
// sampled tokens it returns the model's next-token distribution over the number tokens at each
// generated position: the soft labels students are distilled on.
import { cachedSession, ort, releaseOutputs, type Device, type SessionConfig } from '../../backend/onnxruntime.ts';
import { Rng, streamSeedOf } from '../../util/random.ts';
import type { Sequences } from './corpus.ts';
import { paramLayout, tensorView, type LmShape } from './model.ts';
import { gptGraph } from './onnx-gpt.ts';
import { NUMBER_COUNT, LmDataError, type Vocab } from './vocab.ts';

export interface GenerateOptions {
  seed: number;
  /** Sampling temperature (default 1); 0 takes the most likely token. */
  temperature?: number;
  /** Rows per forward call (default 512). */
  batchSize?: number;
  /** Also return soft labels (default true). */
  soft?: boolean;
  /** ONNX Runtime intra-op threads (default 1: runs of a group already fill the cores). */
  threads?: number;
  /** 'cpu' (default) or 'cuda' (see backend/onnxruntime.ts resolveDevice). */
  device?: Device;
}

export interface Generated extends Sequences {
  /** Tokens of each row's prompt (the continuation starts there). */
  promptLengths: Int32Array;
  /** Whether the row ended by sampling <eos> (else it ran to the context length). */
  ended: Uint8Array;
  /** Steps generated per row at most (context − shortest prompt). */
  maxNew: number;
  /**
   * Soft labels [count, maxNew, 100]: at step j of row i, the model's next-token distribution at
   * temperature 1 restricted to the 100 number tokens and renormalised, given the row's tokens
   * before position promptLength + j. Steps a row did not reach are 0.
   */
  soft?: Float32Array;
  /** Mass the model put on number tokens at each step (same layout, [count, maxNew]). */
  numberMass?: Float32Array;
}

const sessionConfig = (o: { threads?: number; device?: Device }): SessionConfig => ({ device: o.device ?? 'cpu', threads: o.threads ?? 1 });
const inferKey = (s: LmShape, kind: string) => `lm_distill-infer:${s.vocab}:${s.context}:${s.dModel}:${s.layers}:${s.heads}:${s.dFF}:${kind}`;

/** The weight feeds of one model (copies: ORT tensors must own whole buffers). */
function weightFeeds(shape: LmShape, weights: Float32Array): Record<string, import('onnxruntime-node').Tensor> {
  const layout = paramLayout(shape);
  if (weights.length < layout.total) throw new Error(`lm_distill: weights hold ${weights.length} floats, the shape needs ${layout.total}`);
  const o = ort();
  const feeds: Record<string, import('onnxruntime-node').Tensor> = {};
  for (const s of layout.specs) feeds[s.name] = new o.Tensor('float32', tensorView(layout, weights, s.name).slice(), s.shape);
  return feeds;
}

function idsTensor(tokens: ArrayLike<number>, batch: number, T: number): import('onnxruntime-node').Tensor {
  const ids = new Int32Array(batch * T);
  for (let i = 0; i < batch * T; i++) ids[i] = tokens[i]!;
  return new (ort().Tensor)('int32', ids, [batch, T]);
}

/** Logits [batch, T, vocab] of `tokens` [batch, T] through the ONNX graph (the fast twin of referenceLogits). */
export async function forwardLogits(
  shape: LmShape, weights: Float32Array, tokens: ArrayLike<number>, batch: number, T: number, opts: { threads?: number; device?: Device } = {},
): Promise<Float32Array> {
  if (T > shape.context) throw new Error(`lm_distill: sequence of ${T} tokens is longer than the context (${shape.context})`);
  const s = await cachedSession(inferKey(shape, 'all'), sessionConfig(opts), () => gptGraph(shape, { kind: 'infer', lastOnly: false }));
  const out = await s.run({ ...weightFeeds(shape, weights), input_ids: idsTensor(tokens, batch, T) });
  return out.logits!.data as Float32Array;
}

/** Samples continuations of `prompts` (token ids, each starting with <bos>) up to <eos> or the context. */
export async function generate(shape: LmShape, weights: Float32Array, v: Vocab, prompts: number[][], opts: GenerateOptions): Promise<Generated> {
  const T = opts.temperature ?? 1;
  if (!(T >= 0) || !Number.isFinite(T)) throw new LmDataError(`temperature must be a number ≥ 0, got ${T}`);
  if (shape.vocab !== v.tokens.length) throw new LmDataError(`the model has ${shape.vocab} tokens, the vocabulary ${v.tokens.length}`);
  const C = shape.context;
  const n = prompts.length;
  prompts.forEach((p, i) => {
    if (p.length < 1 || p.length >= C) throw new LmDataError(`prompt ${i} has ${p.length} tokens; a prompt needs 1 to ${C - 1} (context ${C})`);
    for (const t of p) if (!Number.isInteger(t) || t < 0 || t >= shape.vocab) throw new LmDataError(`prompt ${i} holds token ${t}, outside the vocabulary`);
  });
  const minPrompt = prompts.reduce((m, p) => Math.min(m, p.length), C);
  const maxNew = C - minPrompt;
  const wantSoft = opts.soft ?? true;
  const out: Generated = {
    context: C, count: n,
    tokens: new Int32Array(n * C).fill(v.pad), lengths: new Int32Array(n),
    promptLengths: new Int32Array(n), ended: new Uint8Array(n), maxNew,
    ...(wantSoft ? { soft: new Float32Array(n * maxNew * NUMBER_COUNT), numberMass: new Float32Array(n * maxNew) } : {}),
  };
  prompts.forEach((p, i) => {
    out.tokens.set(p, i * C);
    out.lengths[i] = p.length;
    out.promptLengths[i] = p.length;
  });
  const weightInputs = weightFeeds(shape, weights);
  const session = await cachedSession(inferKey(shape, 'step'), sessionConfig(opts), () => gptGraph(shape, { kind: 'infer', lastOnly: true, past: true }));
  const rowSeed = streamSeedOf(opts.seed, 'lm_distill', 'generate');
  const V = shape.vocab;
  const probs = new Float64Array(V);
  // Rows of equal prompt length run in lockstep (no padding: every position is real).
  const byLength = new Map<number, number[]>();
  prompts.forEach((p, i) => {
    const g = byLength.get(p.length);
    if (g) g.push(i);
    else byLength.set(p.length, [i]);
  });
  const bs = Math.max(1, opts.batchSize ?? 512);
  const o = ort();
  const H = shape.heads, hd = shape.dModel / shape.heads;
  const pastNames: string[] = [];
  for (let l = 0; l < shape.layers; l++) for (const kv of ['key', 'value']) pastNames.push(`${l}.${kv}`);
  for (const [len, rows] of [...byLength].sort((a, b) => a[0] - b[0])) {
    for (let start = 0; start < rows.length; start += bs) {
      let active = rows.slice(start, start + bs);
      const rngs = new Map(active.map((i) => [i, Rng.fromSeed(rowSeed(i))] as const));
      // Keys and values of the positions read so far, [B, heads, P, head_dim] per layer.
      let past: Float32Array[] = pastNames.map(() => new Float32Array(0));
      let P = 0;
      for (let L = len; L < C && active.length; L++) {
        const B = active.length;
        const S = L - P; // the prompt on the first step, then the one new token
        const ids = new Int32Array(B * S);
        active.forEach((i, b) => ids.set(out.tokens.subarray(i * C + P, i * C + L), b * S));
        const feeds: Record<string, import('onnxruntime-node').Tensor> = { ...weightInputs, input_ids: new o.Tensor('int32', ids, [B, S]) };
        pastNames.forEach((n, k) => (feeds[`past_key_values.${n}`] = new o.Tensor('float32', past[k]!, [B, H, P, hd])));
        const res = await session.run(feeds);
        const logits = res.logits!.data as Float32Array;
        const present = pastNames.map((n) => res[`present.${n}`]!.data as Float32Array);
        releaseOutputs();
        const next: number[] = [];
        const kept: number[] = [];
        active.forEach((i, b) => {
          const row = b * V;
          const step = L - out.promptLengths[i]!;
          if (wantSoft) softLabels(logits, row, v, out.soft!, out.numberMass!, i * maxNew + step, probs);
          const tok = sample(logits, row, V, T, rngs.get(i)!, probs);
          out.tokens[i * C + L] = tok;
          out.lengths[i] = L + 1;
          if (tok === v.eos) out.ended[i] = 1;
          else { next.push(i); kept.push(b); }
        });
        P = L;
        // Rows that ended leave the batch, with their keys and values.
        const block = H * P * hd;
        past = kept.length === B ? present : present.map((a) => {
          const c = new Float32Array(kept.length * block);
          kept.forEach((b, r) => c.set(a.subarray(b * block, (b + 1) * block), r * block));
          return c;
        });
        active = next;
      }
    }
  }
  return out;
}

/** Softmax over the number tokens (temperature 1), and the mass on them, at soft[(cell)·100 …]; `e` is scratch. */
function softLabels(logits: Float32Array, o: number, v: Vocab, soft: Float32Array, mass: Float32Array, cell: number, e: Float64Array): void {
  const V = v.tokens.length;
  let max = -Infinity;
  for (let k = 0; k < V; k++) if (logits[o + k]! > max) max = logits[o + k]!;
  let all = 0;
  for (let k = 0; k < V; k++) all += (e[k] = Math.exp(logits[o + k]! - max));
  let num = 0;
  const base = v.numberBase;
  for (let k = 0; k < NUMBER_COUNT; k++) num += e[base + k]!;
  for (let k = 0; k < NUMBER_COUNT; k++) soft[cell * NUMBER_COUNT + k] = e[base + k]! / num;
  mass[cell] = num / all;
}

/** One draw from softmax(logits/T) (float64; T = 0: the first most likely token). */
function sample(logits: Float32Array, o: number, V: number, T: number, rng: Rng, p: Float64Array): number {
  let max = -Infinity, arg = 0;
  for (let k = 0; k < V; k++) if (logits[o + k]! > max) { max = logits[o + k]!; arg = k; }
  if (T === 0) return arg;
  let z = 0;
  for (let k = 0; k < V; k++) z += (p[k] = Math.exp((logits[o + k]! - max) / T));
  let u = rng.next() * z;
  for (let k = 0; k < V; k++) {
    u -= p[k]!;
    if (u < 0) return k;
  }
  return arg; // rounding left u ≥ 0 after the last token
}
