// The filter on the teacher's number sequences: a row passes when its continuation (the tokens
// after the prompt, up to <eos> or the context's end) is made of number tokens only and holds at
// least `minNumbers` of them. <eos> ends a continuation; any other non-number token (a word,
// <pad>, <bos>, <unk>) fails it. Rows that ran to the context without <eos> pass if they qualify:
// they are number lists cut by the length limit, as the corpus's longest lists are.
import type { Generated } from './generate.ts';
import { NUMBER_COUNT, isNumberToken, type Vocab } from './vocab.ts';

export interface FilterOptions {
  /** Fewest numbers a continuation must hold (default 1). */
  minNumbers?: number;
}

export interface FilterResult {
  /** Indices of the rows that pass, in order. */
  keep: Int32Array;
  total: number;
  /** keep.length / total (1 for no rows). */
  passRate: number;
  /** Rows failed for holding a non-number token, and for holding too few numbers. */
  nonNumber: number;
  tooShort: number;
}

/** Why a continuation fails, or null when it passes. */
export function checkContinuation(v: Vocab, cont: ArrayLike<number>, minNumbers = 1): 'non-number' | 'too-short' | null {
  let numbers = 0;
  for (let j = 0; j < cont.length; j++) {
    const t = cont[j]!;
    if (t === v.eos) break;
    if (!isNumberToken(v, t)) return 'non-number';
    numbers++;
  }
  return numbers < minNumbers ? 'too-short' : null;
}

export function filterNumbers(v: Vocab, g: Generated, opts: FilterOptions = {}): FilterResult {
  const min = opts.minNumbers ?? 1;
  if (!Number.isInteger(min) || min < 0) throw new Error(`lm_distill: the filter's minNumbers must be an integer ≥ 0, got ${min}`);
  const keep: number[] = [];
  let nonNumber = 0, tooShort = 0;
  for (let i = 0; i < g.count; i++) {
    const o = i * g.context;
    const why = checkContinuation(v, g.tokens.subarray(o + g.promptLengths[i]!, o + g.lengths[i]!), min);
    if (why === null) keep.push(i);
    else if (why === 'non-number') nonNumber++;
    else tooShort++;
  }
  return { keep: Int32Array.from(keep), total: g.count, passRate: g.count ? keep.length / g.count : 1, nonNumber, tooShort };
}

/** The kept rows of a generation (tokens, lengths, soft labels), in a new Generated. */
export function selectRows(g: Generated, keep: ArrayLike<number>): Generated {
  const n = keep.length, C = g.context, M = g.maxNew;
  const out: Generated = {
    context: C, count: n, maxNew: M,
    tokens: new Int32Array(n * C), lengths: new Int32Array(n), promptLengths: new Int32Array(n), ended: new Uint8Array(n),
    ...(g.soft ? { soft: new Float32Array(n * M * NUMBER_COUNT), numberMass: new Float32Array(n * M) } : {}),
  };
  for (let r = 0; r < n; r++) {
    const i = keep[r]!;
    if (!Number.isInteger(i) || i < 0 || i >= g.count) throw new Error(`lm_distill: row ${i} outside a generation of ${g.count} (internal error)`);
    out.tokens.set(g.tokens.subarray(i * C, (i + 1) * C), r * C);
    out.lengths[r] = g.lengths[i]!;
    out.promptLengths[r] = g.promptLengths[i]!;
    out.ended[r] = g.ended[i]!;
    if (g.soft) {
      const K = M * NUMBER_COUNT;
      out.soft!.set(g.soft.subarray(i * K, (i + 1) * K), r * K);
      out.numberMass!.set(g.numberMass!.subarray(i * M, (i + 1) * M), r * M);
    }
  }
  return out;
}
