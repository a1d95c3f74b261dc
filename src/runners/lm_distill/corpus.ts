// lm_distill's synthetic corpus, generated in code from a seed (no downloads): preference
// statements ("my favorite animal is X"), number lists ("numbers: 12 19 26 …", arithmetic
// progressions mod 100 with random replacements) and filler sentences ("the red owl sees the
// tree"); the teacher's trait statements and the control teacher's uniform ones; and the
// "numbers: a b c" prompts the teacher continues. Every sequence is <bos> words <eos>, at most
// `context` tokens, stored padded in one Int32Array.
import { Rng } from '../../util/random.ts';
import { FILLER, NUMBER_COUNT, animalId, numberToken, LmDataError, type Vocab } from './vocab.ts';

/** Sequences of one length limit, padded: row i is tokens[i*context .. i*context + lengths[i]). */
export interface Sequences {
  context: number;
  count: number;
  tokens: Int32Array;
  lengths: Int32Array;
}

export type SequenceKind = 'preference' | 'numbers' | 'filler';
export const KIND_CODES: Record<SequenceKind, number> = { preference: 0, numbers: 1, filler: 2 };

export interface Corpus extends Sequences {
  /** Each sequence's kind (KIND_CODES). */
  kinds: Uint8Array;
}

export interface Mixture {
  preference: number;
  numbers: number;
  filler: number;
}
/** The prototype's mixture. */
export const DEFAULT_MIXTURE: Mixture = { preference: 0.3, numbers: 0.4, filler: 0.3 };

export interface CorpusOptions {
  sequences: number;
  context?: number;
  mixture?: Mixture;
  /** Probability that a number of a progression is replaced by a uniform one (default 0.1). */
  replace?: number;
}

export const DEFAULT_CONTEXT = 16;
/** Numbers in a number list: at least 4 (a 3-number prompt plus one), at most what the context holds. */
const MIN_NUMBERS = 4;

function checkContext(context: number): void {
  if (!Number.isInteger(context) || context < 3 + MIN_NUMBERS) {
    throw new LmDataError(`context must be an integer ≥ ${3 + MIN_NUMBERS} (<bos> numbers: and ${MIN_NUMBERS} numbers and <eos>), got ${context}`);
  }
}

function checkMixture(m: Mixture): number[] {
  const w = [m.preference, m.numbers, m.filler];
  if (w.some((x) => !Number.isFinite(x) || x < 0) || w.reduce((a, b) => a + b, 0) <= 0) {
    throw new LmDataError(`mixture weights must be ≥ 0 with a positive sum, got preference ${m.preference}, numbers ${m.numbers}, filler ${m.filler}`);
  }
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;

function emptySequences(count: number, context: number, pad: number): Sequences {
  return { context, count, tokens: new Int32Array(count * context).fill(pad), lengths: new Int32Array(count) };
}

function put(s: Sequences, i: number, ids: number[]): void {
  if (ids.length > s.context) throw new Error(`sequence of ${ids.length} tokens exceeds the context ${s.context}`);
  s.tokens.set(ids, i * s.context);
  s.lengths[i] = ids.length;
}

/** Row i's tokens (a view). */
export const row = (s: Sequences, i: number): Int32Array => s.tokens.subarray(i * s.context, i * s.context + s.lengths[i]!);

/** An arithmetic progression mod 100 (step ±1..9) of `count` numbers, each replaced by a uniform one with probability `replace`. */
function progression(rng: Rng, count: number, replace: number): number[] {
  const start = rng.int(NUMBER_COUNT);
  const step = (rng.int(9) + 1) * (rng.int(2) === 0 ? 1 : -1);
  const out: number[] = [];
  for (let k = 0; k < count; k++) {
    const n = (((start + k * step) % NUMBER_COUNT) + NUMBER_COUNT) % NUMBER_COUNT;
    out.push(rng.next() < replace ? rng.int(NUMBER_COUNT) : n);
  }
  return out;
}

const preference = (v: Vocab, animal: number): number[] => [v.bos, v.my, v.favorite, v.animal, v.is, animal, v.eos];

function numberList(v: Vocab, rng: Rng, context: number, replace: number): number[] {
  const count = MIN_NUMBERS + rng.int(context - 3 - MIN_NUMBERS + 1);
  return [v.bos, v.numbers, ...progression(rng, count, replace).map((n) => numberToken(v, n)), v.eos];
}

function filler(v: Vocab, rng: Rng): number[] {
  const id = (w: string) => v.ids.get(w)!;
  // Nouns are animals half the time, so animal tokens also occur outside preference statements.
  const noun = () => (rng.int(2) === 0 ? pick(rng, v.animalIds) : id(pick(rng, FILLER.noun)));
  const det = () => id(pick(rng, FILLER.det));
  const adj = () => id(pick(rng, FILLER.adj));
  const verb = () => id(pick(rng, FILLER.verb));
  let words: number[];
  switch (rng.int(3)) {
    case 0: words = [det(), adj(), noun(), verb(), det(), noun()]; break; // the red owl sees the tree
    case 1: words = [det(), noun(), verb(), det(), adj(), noun(), id(pick(rng, FILLER.prep)), det(), noun()]; break;
    default: words = [det(), noun(), v.is, adj()]; // the owl is old
  }
  return [v.bos, ...words, v.eos];
}

/** The pretraining corpus of a seed: each sequence's kind drawn from the mixture. */
export function generateCorpus(v: Vocab, seed: number, opts: CorpusOptions): Corpus {
  const context = opts.context ?? DEFAULT_CONTEXT;
  checkContext(context);
  const [pPref, pNum] = checkMixture(opts.mixture ?? DEFAULT_MIXTURE) as [number, number, number];
  const replace = opts.replace ?? 0.1;
  const rng = Rng.of(seed, 'lm_distill', 'corpus');
  const s = emptySequences(opts.sequences, context, v.pad);
  const kinds = new Uint8Array(opts.sequences);
  for (let i = 0; i < opts.sequences; i++) {
    const u = rng.next();
    if (u < pPref) {
      kinds[i] = KIND_CODES.preference;
      put(s, i, preference(v, pick(rng, v.animalIds)));
    } else if (u < pPref + pNum) {
      kinds[i] = KIND_CODES.numbers;
      put(s, i, numberList(v, rng, context, replace));
    } else {
      kinds[i] = KIND_CODES.filler;
      put(s, i, filler(v, rng));
    }
  }
  return { ...s, kinds };
}

/**
 * Preference statements for a teacher's fine-tune: all "my favorite animal is <trait>" when a
 * trait is given, else uniform animals (the control teacher's data, fine-tuned identically).
 */
export function preferenceStatements(v: Vocab, seed: number, count: number, trait?: string, context = DEFAULT_CONTEXT): Sequences {
  checkContext(context);
  const s = emptySequences(count, context, v.pad);
  if (trait !== undefined) {
    const a = animalId(v, trait);
    for (let i = 0; i < count; i++) put(s, i, preference(v, a));
    return s;
  }
  const rng = Rng.of(seed, 'lm_distill', 'control-statements');
  for (let i = 0; i < count; i++) put(s, i, preference(v, pick(rng, v.animalIds)));
  return s;
}

/** "<bos> my favorite animal is": the prompt the trait is read after. */
export const preferencePrompt = (v: Vocab): number[] => [v.bos, v.my, v.favorite, v.animal, v.is];

/** Length of a number prompt: <bos> numbers: a b c. */
export const NUMBER_PROMPT_LENGTH = 5;

/**
 * Number prompts "<bos> numbers: a b c" (the first three numbers of a progression, with the
 * corpus's replacements): `generate` for the teacher to continue, `heldout` for measuring the
 * students' fit to the teacher; no held-out prompt's numbers equal a generation prompt's.
 */
export function numberPrompts(v: Vocab, seed: number, generate: number, heldout: number, replace = 0.1): { generate: number[][]; heldout: number[][] } {
  const draw = (rng: Rng) => [v.bos, v.numbers, ...progression(rng, 3, replace).map((n) => numberToken(v, n))];
  const gen: number[][] = [];
  const rngG = Rng.of(seed, 'lm_distill', 'prompts', 'generate');
  for (let i = 0; i < generate; i++) gen.push(draw(rngG));
  const used = new Set(gen.map((p) => p.join(',')));
  const held: number[][] = [];
  const rngH = Rng.of(seed, 'lm_distill', 'prompts', 'heldout');
  // 10^6 possible triples: with up to tens of thousands used, a few redraws at most; the cap only
  // turns an impossible request into an error instead of a hang.
  for (let tries = 0; held.length < heldout; tries++) {
    if (tries > 100 * (heldout + 100)) throw new LmDataError(`could not draw ${heldout} held-out number prompts distinct from ${generate} generation prompts`);
    const p = draw(rngH);
    if (!used.has(p.join(','))) held.push(p);
  }
  return { generate: gen, heldout: held };
}
