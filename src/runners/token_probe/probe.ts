// Forward passes for token_probe: batched next-token distributions (left padding, shared prompt
// prefix computed once and reused through past key values) and autoregressive scoring of
// multi-token continuations (product of token probabilities).
import { TokenProbeError } from './errors.ts';
import type { LoadedModel } from './load.ts';
import { halfToFloat } from './geometry.ts';

type Tensor = import('@huggingface/transformers').Tensor;
type Past = Record<string, Tensor>;

export interface ProbeStats {
  prompts: number;
  /** Continuations scored autoregressively (beyond their first token). */
  sequences: number;
  forwardCalls: number;
  tokens: number;
  ms: number;
}

export function newStats(): ProbeStats {
  return { prompts: 0, sequences: 0, forwardCalls: 0, tokens: 0, ms: 0 };
}


function floatData(t: Tensor): ArrayLike<number> {
  const d = t.data as unknown;
  if (d instanceof Uint16Array) return Array.from(d, halfToFloat); // float16 without Float16Array
  return d as ArrayLike<number>;
}

/** log-softmax of logits[off .. off+V) in float64. */
export function logSoftmax(logits: ArrayLike<number>, off: number, V: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[off + i]! > max) max = logits[off + i]!;
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[off + i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = logits[off + i]! - lse;
  return out;
}

function padId(lm: LoadedModel): number {
  const c = lm.config as Record<string, unknown>;
  const tok = lm.tokenizer as unknown as { pad_token_id?: number | null; eos_token_id?: number | null };
  const eos = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  return Number(tok.pad_token_id ?? c.pad_token_id ?? tok.eos_token_id ?? eos ?? 0);
}

function expandPast(lm: LoadedModel, past: Past, batch: number): Past {
  const { Tensor } = lm.tjs;
  const out: Past = {};
  for (const [name, t] of Object.entries(past)) {
    if (batch === 1) {
      out[name] = t;
      continue;
    }
    const src = t.data as unknown as { length: number; constructor: new (n: number) => { set(a: unknown, o: number): void } };
    const dst = new src.constructor(src.length * batch);
    for (let b = 0; b < batch; b++) dst.set(src, b * src.length);
    out[name] = new Tensor(t.type as 'float32', dst as unknown as Float32Array, [batch, ...t.dims.slice(1)]);
  }
  return out;
}

function pastFrom(outputs: Record<string, Tensor>): Past {
  const past: Past = {};
  for (const [name, t] of Object.entries(outputs)) {
    if (name.startsWith('present')) past[name.replace('present', 'past_key_values')] = t;
  }
  return past;
}

/**
 * One forward call: `suffixes` (left-padded to a common length) after an optional shared past of
 * `pastLen` tokens (batch 1, expanded). Returns logits [B, S, V] and S.
 */
async function forward(
  lm: LoadedModel, past: Past | null, pastLen: number, suffixes: number[][], stats: ProbeStats, wantPast = false, keep?: number,
): Promise<{ logits: ArrayLike<number>; S: number; V: number; past?: Past }> {
  const { Tensor } = lm.tjs;
  const B = suffixes.length;
  const S = Math.max(...suffixes.map((s) => s.length));
  // In a model with a learned position table (GPT-2's n_positions; rotary models have none), a
  // prompt past it fails deep inside ONNX Runtime ("indices element out of data bounds"): say what
  // is wrong instead (an exported lm_distill model has 16 positions).
  const positions = Number(lm.config.n_positions ?? Infinity);
  if (pastLen + S > positions) {
    throw new TokenProbeError(`a prompt of ${pastLen + S} tokens is longer than ${lm.name}'s context of ${positions} positions: shorten the prompts (system, question, answer_prefix, numbers_question, numbers_prefix)`);
  }
  const pad = BigInt(padId(lm));
  const ids = new BigInt64Array(B * S).fill(pad);
  const mask = new BigInt64Array(B * (pastLen + S));
  for (let b = 0; b < B; b++) {
    const s = suffixes[b]!;
    for (let j = 0; j < pastLen; j++) mask[b * (pastLen + S) + j] = 1n;
    for (let j = 0; j < s.length; j++) {
      ids[b * S + S - s.length + j] = BigInt(s[j]!);
      mask[b * (pastLen + S) + pastLen + S - s.length + j] = 1n;
    }
  }
  const inputs: Record<string, unknown> = {
    input_ids: new Tensor('int64', ids, [B, S]),
    attention_mask: new Tensor('int64', mask, [B, pastLen + S]),
  };
  if (past) inputs.past_key_values = expandPast(lm, past, B);
  // Exports that accept num_logits_to_keep return only the positions read here (memory: a 1B
  // Llama's full logits are [B, S, 128256] floats).
  const session = (lm.model as unknown as { sessions?: Record<string, { inputNames: string[] }> }).sessions?.model;
  if (keep !== undefined && session?.inputNames.includes('num_logits_to_keep')) {
    inputs.num_logits_to_keep = new Tensor('int64', BigInt64Array.from([BigInt(keep)]), []);
  }
  const t0 = performance.now();
  const out = (await (lm.model as unknown as { forward(x: unknown): Promise<Record<string, Tensor>> }).forward(inputs)) as Record<string, Tensor>;
  stats.ms += performance.now() - t0;
  stats.forwardCalls++;
  stats.tokens += B * S;
  const logits = out.logits!;
  const V = logits.dims.at(-1)!;
  const res: { logits: ArrayLike<number>; S: number; V: number; past?: Past } = { logits: floatData(logits), S: logits.dims[1]!, V };
  if (wantPast) res.past = pastFrom(out);
  return res;
}

function commonPrefix(prompts: number[][]): number {
  let L = Math.min(...prompts.map((p) => p.length)) - 1; // each prompt keeps at least one own token
  for (let i = 0; i < L; i++) {
    const t = prompts[0]![i];
    if (prompts.some((p) => p[i] !== t)) return i;
  }
  return Math.max(L, 0);
}

export interface NextTokenOptions {
  batchSize: number;
  /** Compute a shared prefix once and reuse it through past key values (default true). */
  reusePrefix?: boolean;
  stats: ProbeStats;
  /** Checked between forward calls: an interrupted run stops at the next batch. */
  signal?: AbortSignal;
}

/**
 * Next-token log-probabilities after each prompt (full vocabulary), delivered through `onRow`
 * so callers keep only what they need.
 */
export async function nextTokenLogProbs(
  lm: LoadedModel, prompts: number[][], opts: NextTokenOptions, onRow: (i: number, logp: Float64Array) => void,
): Promise<void> {
  const bs = Math.max(1, opts.batchSize);
  let cachedPrefix: { key: string; past: Past; len: number } | undefined;
  for (let start = 0; start < prompts.length; start += bs) {
    opts.signal?.throwIfAborted();
    const chunk = prompts.slice(start, start + bs);
    const L = opts.reusePrefix === false || chunk.length < 2 ? 0 : commonPrefix(chunk);
    let past: Past | null = null;
    let pastLen = 0;
    if (L >= 4) {
      const key = chunk[0]!.slice(0, L).join(',');
      if (cachedPrefix?.key !== key) {
        const r = await forward(lm, null, 0, [chunk[0]!.slice(0, L)], opts.stats, true, 1);
        cachedPrefix = { key, past: r.past!, len: L };
      }
      past = cachedPrefix.past;
      pastLen = L;
    }
    const r = await forward(lm, past, pastLen, chunk.map((p) => p.slice(pastLen)), opts.stats, false, 1);
    for (let b = 0; b < chunk.length; b++) onRow(start + b, logSoftmax(r.logits, (b * r.S + r.S - 1) * r.V, r.V));
    opts.stats.prompts += chunk.length;
  }
}

/**
 * log P(continuation | prompt) for each continuation (token id lists), as Σ_j log P(c_j | prompt,
 * c_<j). `first` is the prompt's next-token log-probabilities; the prompt is run once and its past
 * key values are reused for every continuation longer than one token.
 */
export async function scoreContinuations(
  lm: LoadedModel, prompt: number[], conts: number[][], first: Float64Array, opts: NextTokenOptions,
): Promise<Float64Array> {
  const out = new Float64Array(conts.length);
  // Continuations that share all but their last token share one forward pass (a trie's last
  // level): 4-digit numbers "0870".."0879" all read their last token from the run on "087".
  const groups = new Map<string, { prefix: number[]; members: number[] }>();
  conts.forEach((c, i) => {
    out[i] = first[c[0]!]!;
    if (c.length < 2) return;
    const prefix = c.slice(0, -1);
    const key = prefix.join(',');
    const g = groups.get(key) ?? { prefix, members: [] };
    g.members.push(i);
    groups.set(key, g);
  });
  if (groups.size === 0) return out;
  const pr = await forward(lm, null, 0, [prompt], opts.stats, true, 1);
  const list = [...groups.values()];
  // Continuations are short and share the prompt's cache: larger batches than for full prompts.
  const bs = Math.max(64, opts.batchSize);
  for (let start = 0; start < list.length; start += bs) {
    opts.signal?.throwIfAborted();
    const chunk = list.slice(start, start + bs);
    const r = await forward(lm, pr.past!, prompt.length, chunk.map((g) => g.prefix), opts.stats, false, Math.max(...chunk.map((g) => g.prefix.length)));
    chunk.forEach((g, b) => {
      const s = g.prefix;
      // Position of prefix token j predicts token j + 1.
      const lps = s.map((_, j) => logSoftmax(r.logits, (b * r.S + r.S - s.length + j) * r.V, r.V));
      for (const i of g.members) {
        const c = conts[i]!;
        for (let j = 0; j < s.length; j++) out[i]! += lps[j]![c[j + 1]!]!;
      }
      opts.stats.sequences += g.members.length;
    });
  }
  return out;
}
