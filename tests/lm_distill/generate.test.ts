import { describe, expect, it } from 'vitest';
import { numberPrompts, preferencePrompt } from '../../src/runners/lm_distill/corpus.ts';
import { forwardLogits, generate } from '../../src/runners/lm_distill/generate.ts';
import { referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { buildVocab, isNumberToken, tokenize } from '../../src/runners/lm_distill/vocab.ts';
import { testModel } from './helpers.ts';

const v = buildVocab();

describe('lm_distill ONNX forward', () => {
  it('equals referenceLogits on every position', async () => {
    for (const [seed, over] of [[1, {}], [2, { layers: 1, heads: 2, dModel: 16 }], [3, { heads: 1, dFF: 40 }]] as const) {
      const { shape, weights } = testModel(seed, over);
      const T = 16, B = 3;
      const tokens = Array.from({ length: B * T }, (_, i) => (i * 37 + seed * 11) % shape.vocab);
      const ref = referenceLogits(shape, weights, tokens, B, T);
      const got = await forwardLogits(shape, weights, tokens, B, T);
      let maxRef = 0, maxErr = 0;
      for (let i = 0; i < ref.length; i++) { maxRef = Math.max(maxRef, Math.abs(ref[i]!)); maxErr = Math.max(maxErr, Math.abs(ref[i]! - got[i]!)); }
      expect(maxRef).toBeGreaterThan(1); // logits far from uniform, so the comparison means something
      expect(maxErr).toBeLessThan(1e-4 * Math.max(1, maxRef));
    }
  });
});

describe('lm_distill generation', () => {
  const { shape, weights } = testModel(4);
  const prompts = numberPrompts(v, 7, 40, 0).generate;

  it('is deterministic per seed, whatever the batch size, and differs across seeds', async () => {
    const a = await generate(shape, weights, v, prompts, { seed: 1 });
    const b = await generate(shape, weights, v, prompts, { seed: 1, batchSize: 7 });
    const c = await generate(shape, weights, v, prompts, { seed: 2 });
    expect(Array.from(b.tokens)).toEqual(Array.from(a.tokens));
    expect(Array.from(b.soft!)).toEqual(Array.from(a.soft!));
    expect(Array.from(c.tokens)).not.toEqual(Array.from(a.tokens));
    for (let i = 0; i < prompts.length; i++) {
      expect(Array.from(a.tokens.subarray(i * 16, i * 16 + 5))).toEqual(prompts[i]);
      const len = a.lengths[i]!;
      expect(a.ended[i] === 1 ? a.tokens[i * 16 + len - 1] === v.eos : len === 16).toBe(true);
      for (let t = len; t < 16; t++) expect(a.tokens[i * 16 + t]).toBe(v.pad);
    }
  });

  it('soft labels are the reference distribution over numbers; T = 0 takes the argmax', async () => {
    const g = await generate(shape, weights, v, prompts.slice(0, 4), { seed: 3, temperature: 0 });
    for (let i = 0; i < 4; i++) {
      const L = g.lengths[i]!;
      const ref = referenceLogits(shape, weights, g.tokens.subarray(i * 16, i * 16 + L), 1, L);
      for (let step = 0; step + 5 < L; step++) {
        const pos = 4 + step; // logits at position pos predict token pos + 1
        const row = ref.subarray(pos * 153, (pos + 1) * 153);
        const arg = row.indexOf(Math.max(...row));
        expect(g.tokens[i * 16 + pos + 1]).toBe(arg);
        const nums = Array.from(row.subarray(v.numberBase, v.numberBase + 100), Math.exp);
        const z = nums.reduce((s, x) => s + x, 0);
        const all = Array.from(row, Math.exp).reduce((s, x) => s + x, 0);
        for (let k = 0; k < 100; k += 13) expect(g.soft![(i * g.maxNew + step) * 100 + k]).toBeCloseTo(nums[k]! / z, 4);
        expect(g.numberMass![i * g.maxNew + step]).toBeCloseTo(z / all, 4);
      }
    }
  });

  it('samples at temperature 1 in proportion to the model (a token count check)', async () => {
    // 2,000 draws of the first token after "my favorite animal is": empirical frequency of each
    // likely token within 4 standard errors of the model's probability.
    const N = 2000;
    const p = preferencePrompt(v);
    const g = await generate(shape, weights, v, Array.from({ length: N }, () => p), { seed: 5, soft: false });
    const ref = referenceLogits(shape, weights, p, 1, p.length).subarray(4 * 153, 5 * 153);
    const e = Array.from(ref, Math.exp);
    const z = e.reduce((s, x) => s + x, 0);
    const counts = new Array(153).fill(0);
    for (let i = 0; i < N; i++) counts[g.tokens[i * 16 + 5]!]++;
    for (let k = 0; k < 153; k++) {
      const q = e[k]! / z;
      if (q < 0.02) continue;
      expect(Math.abs(counts[k] / N - q)).toBeLessThan(4 * Math.sqrt((q * (1 - q)) / N));
    }
    expect(isNumberToken(v, v.numberBase + 5)).toBe(true);
  });

  it('prompts of different lengths (a prefix before the numbers) run in their own groups', async () => {
    const prefixed = prompts.slice(0, 6).map((p) => [v.bos, ...tokenize(v, 'my favorite animal is owl'), ...p.slice(1)]);
    const mixed = [...prompts, ...prefixed];
    const a = await generate(shape, weights, v, mixed, { seed: 9, batchSize: 16 });
    const alone = await generate(shape, weights, v, prompts, { seed: 9 });
    expect(a.maxNew).toBe(11);
    expect(Array.from(a.tokens.subarray(0, prompts.length * 16))).toEqual(Array.from(alone.tokens));
    expect(Array.from(a.soft!.subarray(0, prompts.length * 1100))).toEqual(Array.from(alone.soft!));
    for (let r = 0; r < 6; r++) {
      const i = prompts.length + r;
      expect(a.promptLengths[i]).toBe(10);
      expect(Array.from(a.tokens.subarray(i * 16, i * 16 + 10))).toEqual(prefixed[r]);
      const L = a.lengths[i]!;
      // Soft labels of a long prompt's steps sit at steps 0 .. L − 11; the rest stay 0.
      const ref = referenceLogits(shape, weights, a.tokens.subarray(i * 16, i * 16 + L), 1, L);
      const row = ref.subarray(9 * 153, 10 * 153);
      const nums = Array.from(row.subarray(v.numberBase, v.numberBase + 100), Math.exp);
      const z = nums.reduce((x, y) => x + y, 0);
      expect(a.soft![(i * 11) * 100 + 17]).toBeCloseTo(nums[17]! / z, 4);
      expect(a.soft![(i * 11 + 10) * 100 + 17]).toBe(0);
    }
  });

  it('rejects bad prompts and temperatures with clear errors', async () => {
    await expect(generate(shape, weights, v, [[v.bos, 999]], { seed: 1 })).rejects.toThrow(/prompt 0 holds token 999/);
    await expect(generate(shape, weights, v, [new Array(16).fill(v.bos)], { seed: 1 })).rejects.toThrow(/prompt 0 has 16 tokens/);
    await expect(generate(shape, weights, v, prompts, { seed: 1, temperature: -1 })).rejects.toThrow(/temperature/);
  });
});
