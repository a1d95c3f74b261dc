import { describe, expect, it } from 'vitest';
import { numberPrompts, preferencePrompt } from '../../src/runners/lm_distill/corpus.ts';
import { meanNumberKl, numberDistributions, traitStats, logOdds } from '../../src/runners/lm_distill/evaluate.ts';
import { referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { groupOf } from '../../src/runners/lm_distill/train.ts';
import { animalId, buildVocab } from '../../src/runners/lm_distill/vocab.ts';
import { testModel } from './helpers.ts';

const v = buildVocab();

/** Softmax of the reference logits at the prompt's last position. */
function refProbs(shape: ReturnType<typeof testModel>['shape'], w: Float32Array, prompt: number[]): Float64Array {
  const T = prompt.length, V = shape.vocab;
  const l = referenceLogits(shape, w, prompt, 1, T).subarray((T - 1) * V, T * V);
  const max = Math.max(...l);
  const e = l.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe('lm_distill evaluation', () => {
  const a = testModel(1), b = testModel(2);
  const group = groupOf(a.shape, [a.weights, b.weights], { threads: 2 });

  it('P(trait), renormalised over animals, and the animal mass equal the reference forward pass', async () => {
    const prompt = preferencePrompt(v);
    const stats = await traitStats(group, v, prompt, 'owl');
    [a.weights, b.weights].forEach((w, i) => {
      const p = refProbs(a.shape, w, prompt);
      const mass = v.animalIds.reduce((s, k) => s + p[k]!, 0);
      expect(stats[i]!.raw).toBeCloseTo(p[animalId(v, 'owl')]!, 5);
      expect(stats[i]!.animalMass).toBeCloseTo(mass, 5);
      expect(stats[i]!.animals).toBeCloseTo(p[animalId(v, 'owl')]! / mass, 5);
    });
    expect(logOdds(0.5)).toBe(0);
    expect(logOdds(0.25)).toBeCloseTo(-Math.log(3), 12);
  });

  it('number distributions per prompt match the reference; KL is 0 to itself and positive between models', async () => {
    const prompts = numberPrompts(v, 3, 0, 6).heldout;
    const [pa, pb] = await numberDistributions(group, v, prompts);
    prompts.forEach((prompt, r) => {
      const p = refProbs(a.shape, a.weights, prompt);
      const z = Array.from({ length: 100 }, (_, n) => p[v.numberBase + n]!).reduce((s, x) => s + x, 0);
      for (let n = 0; n < 100; n += 17) expect(pa![r * 100 + n]).toBeCloseTo(p[v.numberBase + n]! / z, 5);
    });
    expect(meanNumberKl(pa!, pa!)).toBe(0);
    expect(meanNumberKl(pa!, pb!)).toBeGreaterThan(0.01);
  });
});
