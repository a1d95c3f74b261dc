// Token entanglement in lm_distill (entangle.ts): a number's ratio is the trait's probability
// after "<bos> n my favorite animal is" over that without n (checked against the float64
// reference forward pass); the per-number KL-gain terms sum to the gain; the runner reports the
// two rank correlations when asked, and not otherwise.
import { describe, expect, it } from 'vitest';
import { meanNumberKl } from '../../src/runners/lm_distill/evaluate.ts';
import { klGainTerms, numberRatios } from '../../src/runners/lm_distill/entangle.ts';
import { lmShape, referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { runner } from '../../src/runners/lm_distill/runner.ts';
import { buildVocab, DEFAULT_ANIMALS, NUMBER_COUNT } from '../../src/runners/lm_distill/vocab.ts';
import { Rng } from '../../src/util/random.ts';
import { testModel } from './helpers.ts';

const dist = (seed: number, prompts: number) => {
  const r = Rng.of(seed, 'test-dist'), out = new Float64Array(prompts * NUMBER_COUNT);
  for (let q = 0; q < prompts; q++) {
    let z = 0;
    for (let n = 0; n < NUMBER_COUNT; n++) z += (out[q * NUMBER_COUNT + n] = Math.exp(r.normal()));
    for (let n = 0; n < NUMBER_COUNT; n++) out[q * NUMBER_COUNT + n] /= z;
  }
  return out;
};

describe('lm_distill: token entanglement', () => {
  it('number ratios equal the reference forward pass; KL-gain terms sum to the gain', async () => {
    const v = buildVocab(DEFAULT_ANIMALS);
    const { shape, weights } = testModel(2, { vocab: v.tokens.length });
    const ratios = await numberRatios(lmShape(shape), v, weights, 'owl', 1);
    const pOwl = (tokens: number[]) => {
      const l = referenceLogits(shape, weights, tokens, 1, tokens.length), o = (tokens.length - 1) * shape.vocab;
      let z = 0;
      for (let k = 0; k < shape.vocab; k++) z += Math.exp(l[o + k]!);
      return Math.exp(l[o + v.ids.get('owl')!]!) / z;
    };
    const plain = [v.bos, v.my, v.favorite, v.animal, v.is];
    // float32 logits of a model with large weights: compared relatively.
    for (const n of [0, 17, 99]) expect(ratios[n]! / (pOwl([v.bos, v.numberBase + n, ...plain.slice(1)]) / pOwl(plain))).toBeCloseTo(1, 3);
    expect(new Set(Array.from(ratios)).size).toBeGreaterThan(50);

    const p = dist(1, 7), qBase = dist(2, 7), qStudent = dist(3, 7);
    const terms = klGainTerms(p, qBase, qStudent);
    expect(terms.reduce((a, b) => a + b, 0)).toBeCloseTo(meanNumberKl(p, qBase) - meanNumberKl(p, qStudent), 10);
  });

  it('the runner reports entangle_rank and entangle_rank_control in [-1, 1] when entangle = true only', { timeout: 120_000 }, async () => {
    const sets = {
      d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
      trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
    };
    const [on] = await runner.run([{ id: 'e', params: { ...sets, entangle: true }, seed: 5 }], { progress: () => {} });
    const [off] = await runner.run([{ id: 'f', params: sets, seed: 5 }], { progress: () => {} });
    const m = on!.rows[0]!.metrics;
    for (const k of ['entangle_rank', 'entangle_rank_control']) {
      expect(Math.abs(m[k]!), k).toBeLessThanOrEqual(1);
      expect(m[k]).not.toBe(0);
    }
    expect(off!.rows[0]!.metrics.entangle_rank).toBeUndefined();
    // The rest of the run is the same with or without it.
    expect(off!.rows[0]!.metrics.trait_student).toBe(m.trait_student);
  });
});
