// The tiny model's weights, deterministic from the seed, with planted animal↔number entanglement.
//
// Architecture (one layer, one head): x = E[ids] + Pos[position_ids]; q,k,v = x·Wq, x·Wk, x·Wv;
// causal + padding masked softmax(q·Kᵀ/√d)·V·Wo added to x; logits = h·LM (LM stored [H,V], as
// real exports store the lm_head MatMul weight). Weights are deterministic from the seed.
import { Rng } from '../util/random.ts';
import { ANIMALS, bytesToUnicode, toByteLevel, type TinyTokenizer } from './tokenizer.ts';

export interface TinyWeightOptions {
  seed?: number;
  hidden?: number;
  maxPositions?: number;
  /**
   * Planted entanglement: pairs [animal singular, number] whose unembedding rows (and the
   * embedding of the animal's plural) share a direction, so probes on the tiny model have
   * something to find. Default: owl↔087, eagle↔123, wolf↔666.
   */
  entangle?: readonly (readonly [string, string])[];
}

export interface TinyWeights {
  vocabSize: number;
  hidden: number;
  maxPositions: number;
  /** Row-major [V, H]. */
  embed: Float32Array;
  /** Row-major [maxPositions, H]. */
  pos: Float32Array;
  /** Row-major [H, H] each; used as x·W. */
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  /** Row-major [H, V] (the lm_head MatMul weight); row t of the unembedding is column t. */
  lmHead: Float32Array;
}

/**
 * n normals × std, one Box–Muller pair per value with the pair's second half dropped: the draws
 * these weights were first made with (tests pin them), so the planted model stays the same.
 */
function normals(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = std * rng.normal();
    rng.discardSpare();
  }
  return out;
}

export const DEFAULT_ENTANGLE: readonly (readonly [string, string])[] = [['owl', '087'], ['eagle', '123'], ['wolf', '666']];

export function makeTinyWeights(tok: TinyTokenizer, opts: TinyWeightOptions = {}): TinyWeights {
  const seed = opts.seed ?? 0;
  const H = opts.hidden ?? 16;
  const maxPositions = opts.maxPositions ?? 512;
  const V = tok.vocab.size;
  const rng = Rng.mulberry32(seed * 2654435761 + 12345);
  const embed = normals(rng, V * H, 1);
  const pos = normals(rng, maxPositions * H, 0.3);
  const wq = normals(rng, H * H, 1 / Math.sqrt(H));
  const wk = normals(rng, H * H, 1 / Math.sqrt(H));
  const wv = normals(rng, H * H, 0.05);
  const wo = normals(rng, H * H, 0.05);
  // Add identity to Wv·Wo's path so context tokens write (part of) their own embedding into the
  // last position: planted associations then show up in next-token probabilities.
  for (let i = 0; i < H; i++) {
    wv[i * H + i]! += 1;
    wo[i * H + i]! += 1;
  }
  const lmHead = normals(rng, H * V, 0.35);
  // The salience dims (0, 1) only steer attention; they do not reach the logits.
  lmHead.fill(0, 0, 2 * V);
  const map = bytesToUnicode();
  const id = (text: string): number | undefined => tok.vocab.get(toByteLevel(text, map));
  const col = (t: number): Float32Array => {
    const c = new Float32Array(H);
    for (let h = 0; h < H; h++) c[h] = lmHead[h * V + t]!;
    return c;
  };
  const setCol = (t: number, c: Float32Array): void => {
    for (let h = 0; h < H; h++) lmHead[h * V + t] = c[h]!;
  };
  // Salience channel: dim 0 of every input is the constant 1 (from the position table), dim 1 is 0
  // except on planted tokens; Wq/Wk route these so every query attends strongly to planted
  // tokens, which then dominate the context the last position reads.
  for (let t = 0; t < V; t++) {
    embed[t * H] = 0;
    embed[t * H + 1] = 0;
  }
  for (let p = 0; p < maxPositions; p++) pos[p * H] = 1;
  for (let i = 0; i < H; i++) {
    wq[i * H] = i === 0 ? 6 : 0;
    wk[i * H] = i === 1 ? 6 : 0;
  }
  for (const [animal, number] of opts.entangle ?? DEFAULT_ENTANGLE) {
    const a = id(' ' + animal);
    const n = id(number);
    const plural = ANIMALS.find(([s]) => s === animal)?.[1];
    if (a === undefined || n === undefined) throw new Error(`tiny model: cannot entangle "${animal}" with "${number}": not both single tokens`);
    const ua = col(a);
    const un = col(n);
    // The number's unembedding row leans toward the animal's (entanglement); the animal's and the
    // number's embeddings (the tokens that appear in system prompts) carry the animal's row, so
    // either prompt raises the animal, and through the shared direction the number.
    const mixed = new Float32Array(H);
    for (let h = 0; h < H; h++) mixed[h] = 0.7 * ua[h]! + 0.5 * un[h]!;
    setCol(n, mixed);
    const toks = [n, ...[plural, animal].flatMap((w) => (w ? [id(' ' + w), id(w)] : [])).filter((t): t is number => t !== undefined)];
    for (const t of toks) {
      for (let h = 2; h < H; h++) embed[t * H + h] = 0.1 * embed[t * H + h]! + 3.5 * ua[h]!;
      embed[t * H + 1] = 2;
    }
  }
  return { vocabSize: V, hidden: H, maxPositions, embed, pos, wq, wk, wv, wo, lmHead };
}
