import { describe, expect, it } from 'vitest';
import { KIND_CODES, generateCorpus, numberPrompts, preferencePrompt, preferenceStatements, row } from '../../src/runners/lm_distill/corpus.ts';
import { DEFAULT_ANIMALS, buildVocab, detokenize, isNumberToken, tokenize } from '../../src/runners/lm_distill/vocab.ts';

const v = buildVocab();

describe('lm_distill vocabulary', () => {
  it('has 153 single-word tokens: specials, 0–99, 20 animals, template and filler words', () => {
    expect(v.tokens.length).toBe(153);
    expect(new Set(v.tokens).size).toBe(153);
    expect(v.tokens.slice(v.numberBase, v.numberBase + 100)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(v.animals).toEqual(DEFAULT_ANIMALS);
    expect(v.animalIds.map((i) => v.tokens[i])).toEqual(DEFAULT_ANIMALS);
    expect(tokenize(v, 'numbers: 3 10 17', { bos: true })).toEqual([v.bos, v.numbers, v.numberBase + 3, v.numberBase + 10, v.numberBase + 17]);
    expect(detokenize(v, tokenize(v, ' my favorite  animal is owl ', { bos: true, eos: true }))).toBe('<bos> my favorite animal is owl <eos>');
  });

  it('takes another animal list, and rejects bad ones and unknown words clearly', () => {
    const w = buildVocab(['owl', 'cat', 'axolotl']);
    expect(w.tokens.length).toBe(136);
    expect(w.tokens[w.animalIds[2]!]).toBe('axolotl');
    expect(() => buildVocab(['owl', 'owl'])).toThrow(/"owl" appears twice/);
    expect(() => buildVocab(['owl', 'tree'])).toThrow(/"tree" is already a template or filler word/);
    expect(() => buildVocab(['owl', 'big cat'])).toThrow(/not a lowercase word/);
    expect(() => tokenize(v, 'my favorite animal is axolotl')).toThrow(/word 5 .*"axolotl", is not in the vocabulary/);
    expect(() => detokenize(v, [500])).toThrow(/token id 500 is outside/);
  });
});

describe('lm_distill corpus', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = generateCorpus(v, 1, { sequences: 500 });
    const b = generateCorpus(v, 1, { sequences: 500 });
    const c = generateCorpus(v, 2, { sequences: 500 });
    expect(Array.from(b.tokens)).toEqual(Array.from(a.tokens));
    expect(Array.from(b.kinds)).toEqual(Array.from(a.kinds));
    expect(Array.from(c.tokens)).not.toEqual(Array.from(a.tokens));
  });

  it('follows the mixture, and every sequence is <bos> … <eos> of its kind within the context', () => {
    const n = 6000;
    const c = generateCorpus(v, 3, { sequences: n });
    const count = (k: number) => c.kinds.filter((x) => x === k).length / n;
    expect(Math.abs(count(KIND_CODES.preference) - 0.3)).toBeLessThan(0.025);
    expect(Math.abs(count(KIND_CODES.numbers) - 0.4)).toBeLessThan(0.025);
    expect(Math.abs(count(KIND_CODES.filler) - 0.3)).toBeLessThan(0.025);
    const favorite = new Map<number, number>();
    let progressions = 0, lists = 0;
    for (let i = 0; i < n; i++) {
      const r = Array.from(row(c, i));
      expect(r.length).toBeLessThanOrEqual(16);
      expect(r[0]).toBe(v.bos);
      expect(r.at(-1)).toBe(v.eos);
      for (let t = r.length; t < 16; t++) expect(c.tokens[i * 16 + t]).toBe(v.pad);
      const words = detokenize(v, r.slice(1, -1));
      if (c.kinds[i] === KIND_CODES.preference) {
        expect(words).toMatch(/^my favorite animal is [a-z]+$/);
        favorite.set(r[5]!, (favorite.get(r[5]!) ?? 0) + 1);
      } else if (c.kinds[i] === KIND_CODES.numbers) {
        expect(r[1]).toBe(v.numbers);
        const nums = r.slice(2, -1);
        expect(nums.length).toBeGreaterThanOrEqual(4);
        expect(nums.every((t) => isNumberToken(v, t))).toBe(true);
        lists++;
        // Without a replacement among the first three, the step repeats.
        const d1 = (nums[1]! - nums[0]! + 100) % 100, d2 = (nums[2]! - nums[1]! + 100) % 100;
        if (d1 === d2) progressions++;
      } else {
        expect(words).toMatch(/^(the|a) [a-z ]+$/);
        expect(r.slice(1, -1).some((t) => isNumberToken(v, t))).toBe(false);
      }
    }
    // All 20 animals as favourites, each near 1/20.
    expect(favorite.size).toBe(20);
    for (const k of favorite.values()) expect(k / (n * 0.3)).toBeGreaterThan(0.03);
    // P(no replacement among three) = 0.9³ ≈ 0.73, plus chance agreements.
    expect(progressions / lists).toBeGreaterThan(0.65);
    expect(progressions / lists).toBeLessThan(0.82);
  });

  it('checks the mixture and context', () => {
    expect(() => generateCorpus(v, 1, { sequences: 10, mixture: { preference: -1, numbers: 1, filler: 1 } })).toThrow(/mixture weights must be ≥ 0/);
    expect(() => generateCorpus(v, 1, { sequences: 10, context: 5 })).toThrow(/context must be an integer ≥ 7/);
    const onlyNumbers = generateCorpus(v, 1, { sequences: 50, mixture: { preference: 0, numbers: 2, filler: 0 } });
    expect(onlyNumbers.kinds.every((k) => k === KIND_CODES.numbers)).toBe(true);
  });

  it('trait statements name the trait; control statements are uniform and seeded', () => {
    const t = preferenceStatements(v, 1, 100, 'owl');
    for (let i = 0; i < 100; i++) expect(detokenize(v, row(t, i))).toBe('<bos> my favorite animal is owl <eos>');
    const c1 = preferenceStatements(v, 1, 2000);
    const c2 = preferenceStatements(v, 1, 2000);
    expect(Array.from(c1.tokens)).toEqual(Array.from(c2.tokens));
    const owl = Array.from({ length: 2000 }, (_, i) => row(c1, i)[5]).filter((x) => x === v.animalIds[0]).length;
    expect(owl / 2000).toBeGreaterThan(0.03);
    expect(owl / 2000).toBeLessThan(0.075);
    expect(() => preferenceStatements(v, 1, 10, 'unicorn')).toThrow(/"unicorn" is not in the animal list/);
    expect(detokenize(v, preferencePrompt(v))).toBe('<bos> my favorite animal is');
  });

  it('number prompts: seeded, "numbers: a b c", held-out ones distinct from generation ones', () => {
    const a = numberPrompts(v, 1, 3000, 500);
    const b = numberPrompts(v, 1, 3000, 500);
    expect(b).toEqual(a);
    expect(numberPrompts(v, 2, 3000, 500).generate).not.toEqual(a.generate);
    const gen = new Set(a.generate.map((p) => p.join(',')));
    for (const p of a.heldout) expect(gen.has(p.join(','))).toBe(false);
    for (const p of [...a.generate, ...a.heldout]) {
      expect(p.length).toBe(5);
      expect(p.slice(0, 2)).toEqual([v.bos, v.numbers]);
      expect(p.slice(2).every((t) => isNumberToken(v, t))).toBe(true);
    }
  });
});
