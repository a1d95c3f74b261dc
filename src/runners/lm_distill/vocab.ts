// The word-level vocabulary of lm_distill's toy language: every word is one token (numbers 0–99,
// the animals, the template words of the two prompt kinds, the filler words), so a trait, a number
// and a prompt are each exactly one position of the model and nothing depends on a subword split.

/** The 20 animals of the default list (owl, the prototype's trait, first). */
export const DEFAULT_ANIMALS: readonly string[] = [
  'owl', 'eagle', 'wolf', 'dog', 'elephant', 'cat', 'lion', 'tiger', 'bear', 'fox',
  'mouse', 'goose', 'horse', 'dolphin', 'penguin', 'rabbit', 'whale', 'octopus', 'deer', 'sheep',
];

export const PAD = '<pad>';
export const BOS = '<bos>';
export const EOS = '<eos>';
export const UNK = '<unk>';
export const SPECIALS = [PAD, BOS, EOS, UNK] as const;

/** "my favorite animal is X" and "numbers: a b c …". */
export const PREFERENCE_WORDS = ['my', 'favorite', 'animal', 'is'] as const;
export const NUMBERS_WORD = 'numbers:';

/** Filler sentences' words, by role ("the red owl sees the tree"); animals also appear as nouns. */
export const FILLER = {
  det: ['the', 'a'],
  adj: ['red', 'blue', 'green', 'big', 'small', 'old', 'young', 'quiet'],
  noun: ['tree', 'river', 'hill', 'house', 'sky', 'stone', 'field', 'boat'],
  verb: ['sees', 'likes', 'finds', 'follows'],
  prep: ['near', 'by'],
} as const;

export const NUMBER_COUNT = 100;

export interface Vocab {
  /** id → word */
  tokens: readonly string[];
  /** word → id */
  ids: ReadonlyMap<string, number>;
  pad: number;
  bos: number;
  eos: number;
  unk: number;
  /** Id of the word "0"; number n is numberBase + n (the 100 number tokens are contiguous). */
  numberBase: number;
  /** The animal list, in order, and each animal's id. */
  animals: readonly string[];
  animalIds: readonly number[];
  /** Ids of the template words. */
  my: number;
  favorite: number;
  animal: number;
  is: number;
  numbers: number;
}

/** Bad input to the data side of lm_distill (vocabulary, corpus, prompts, generation options): a message for the user. */
export class LmDataError extends Error {}

/**
 * The vocabulary for an animal list: specials, numbers 0–99, animals, template words, filler
 * words, in that order (ids are stable for a given list). 153 tokens with the default list.
 */
export function buildVocab(animals: readonly string[] = DEFAULT_ANIMALS): Vocab {
  if (animals.length < 2) throw new LmDataError(`the animal list needs at least 2 animals, got ${animals.length}`);
  const tokens: string[] = [...SPECIALS];
  for (let n = 0; n < NUMBER_COUNT; n++) tokens.push(String(n));
  const fixed = new Set<string>([...tokens, ...PREFERENCE_WORDS, NUMBERS_WORD, ...Object.values(FILLER).flat()]);
  const seen = new Set<string>();
  for (const a of animals) {
    if (typeof a !== 'string' || !/^[a-z][a-z-]*$/.test(a)) {
      throw new LmDataError(`animal ${JSON.stringify(a)} is not a lowercase word (letters and '-', no spaces)`);
    }
    if (seen.has(a)) throw new LmDataError(`animal "${a}" appears twice in the animal list`);
    if (fixed.has(a)) throw new LmDataError(`animal "${a}" is already a template or filler word`);
    seen.add(a);
  }
  const animalStart = tokens.length;
  tokens.push(...animals, ...PREFERENCE_WORDS, NUMBERS_WORD, ...Object.values(FILLER).flat());
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const id = (w: string) => ids.get(w)!;
  return {
    tokens, ids,
    pad: id(PAD), bos: id(BOS), eos: id(EOS), unk: id(UNK),
    numberBase: id('0'),
    animals: [...animals],
    animalIds: animals.map((_, i) => animalStart + i),
    my: id('my'), favorite: id('favorite'), animal: id('animal'), is: id('is'), numbers: id(NUMBERS_WORD),
  };
}

export const isNumberToken = (v: Vocab, id: number): boolean => id >= v.numberBase && id < v.numberBase + NUMBER_COUNT;
export const numberToken = (v: Vocab, n: number): number => v.numberBase + n;
export const animalId = (v: Vocab, name: string): number => {
  const i = v.animals.indexOf(name);
  if (i < 0) throw new LmDataError(`"${name}" is not in the animal list (${v.animals.join(', ')})`);
  return v.animalIds[i]!;
};

/** Words separated by whitespace → ids; an unknown word is an error naming it and its position. */
export function tokenize(v: Vocab, text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
  const out: number[] = opts.bos ? [v.bos] : [];
  const words = text.trim().split(/\s+/).filter((w) => w.length > 0);
  words.forEach((w, i) => {
    const id = v.ids.get(w);
    if (id === undefined) throw new LmDataError(`word ${i + 1} of "${text}", "${w}", is not in the vocabulary`);
    out.push(id);
  });
  if (opts.eos) out.push(v.eos);
  return out;
}

/** Ids → words joined by spaces (specials written as they are, e.g. "<eos>"). */
export function detokenize(v: Vocab, ids: ArrayLike<number>): string {
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const w = v.tokens[ids[i]!];
    if (w === undefined) throw new LmDataError(`token id ${ids[i]} is outside the vocabulary (0..${v.tokens.length - 1})`);
    out.push(w);
  }
  return out.join(' ');
}
