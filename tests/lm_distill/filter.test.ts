import { describe, expect, it } from 'vitest';
import { numberPrompts } from '../../src/runners/lm_distill/corpus.ts';
import { checkContinuation, filterNumbers, selectRows } from '../../src/runners/lm_distill/filter.ts';
import { generate, type Generated } from '../../src/runners/lm_distill/generate.ts';
import { buildVocab, tokenize } from '../../src/runners/lm_distill/vocab.ts';
import { testModel } from './helpers.ts';

const v = buildVocab();
const t = (s: string) => tokenize(v, s);

/** A Generated of hand-written rows (prompt "<bos> numbers: 1 2 3" + continuation). */
function rows(conts: string[]): Generated {
  const C = 16, n = conts.length;
  const g: Generated = { context: C, count: n, maxNew: 11, tokens: new Int32Array(n * C).fill(v.pad), lengths: new Int32Array(n), promptLengths: new Int32Array(n).fill(5), ended: new Uint8Array(n) };
  conts.forEach((c, i) => {
    const r = [v.bos, ...t('numbers: 1 2 3'), ...t(c)];
    g.tokens.set(r, i * C);
    g.lengths[i] = r.length;
    g.ended[i] = r.at(-1) === v.eos ? 1 : 0;
  });
  return g;
}

describe('lm_distill number filter', () => {
  it('passes number-only continuations ending at <eos> or the context, and counts why others fail', () => {
    const g = rows([
      '4 5 6 <eos>', // pass
      '4 5 6 7 8 9 10 11 12 13 14', // pass: ran to the context
      '4 owl 6 <eos>', // a word
      '4 5 <unk> <eos>', // unk
      '<eos>', // no numbers
      '4 <bos> <eos>', // bos
      '99 <eos>', // pass with minNumbers 1
    ]);
    const r = filterNumbers(v, g);
    expect(Array.from(r.keep)).toEqual([0, 1, 6]);
    expect(r).toMatchObject({ total: 7, nonNumber: 3, tooShort: 1 });
    expect(r.passRate).toBeCloseTo(3 / 7, 12);
    const r3 = filterNumbers(v, g, { minNumbers: 3 });
    expect(Array.from(r3.keep)).toEqual([0, 1]);
    expect(r3.tooShort).toBe(2);
    expect(checkContinuation(v, t('4 5 <eos> owl'), 2)).toBe(null); // what follows <eos> is not read
    expect(() => filterNumbers(v, g, { minNumbers: -1 })).toThrow(/minNumbers must be an integer ≥ 0/);
    expect(filterNumbers(v, rows([])).passRate).toBe(1);
  });

  it('on a real generation: failures counted; selected rows and their soft labels carried over', async () => {
    const { shape, weights } = testModel(6);
    const g = await generate(shape, weights, v, numberPrompts(v, 1, 60, 0).generate, { seed: 1 });
    const r = filterNumbers(v, g);
    expect(r.nonNumber + r.tooShort + r.keep.length).toBe(60);
    // A random-init model writes words: rows fail for non-numbers (trained teachers pass 92–99%).
    expect(r.nonNumber).toBeGreaterThan(0);
    const keep = [7, 0, 31];
    const s = selectRows(g, keep);
    expect(s.count).toBe(3);
    for (let k = 0; k < s.count; k++) {
      const i = keep[k]!;
      expect(Array.from(s.tokens.subarray(k * 16, (k + 1) * 16))).toEqual(Array.from(g.tokens.subarray(i * 16, (i + 1) * 16)));
      expect(Array.from(s.soft!.subarray(k * 1100, (k + 1) * 1100))).toEqual(Array.from(g.soft!.subarray(i * 1100, (i + 1) * 1100)));
      expect(s.lengths[k]).toBe(g.lengths[i]);
      expect(s.numberMass![k * 11]).toBe(g.numberMass![i * 11]);
    }
  });
});
