// The LM-head swap (hybrid.ts) and head pruning (prune.ts) on seeded models, against the float64
// reference forward pass: a hybrid is its body's model with the head's final LayerNorm and
// unembedding (the tie cut); a head's output norm is what it adds to the residual stream, and
// pruning removes exactly that.
import { describe, expect, it } from 'vitest';
import { generateCorpus, preferencePrompt } from '../../src/runners/lm_distill/corpus.ts';
import { traitStats } from '../../src/runners/lm_distill/evaluate.ts';
import { hybridTrait } from '../../src/runners/lm_distill/hybrid.ts';
import { paramLayout, referenceLogits, tensorView } from '../../src/runners/lm_distill/model.ts';
import { headOutputNorms, headsToPrune, pruneByOutputNorm, withoutHeads } from '../../src/runners/lm_distill/prune.ts';
import { groupOf } from '../../src/runners/lm_distill/train.ts';
import { animalId, buildVocab } from '../../src/runners/lm_distill/vocab.ts';
import { testModel } from './helpers.ts';

const v = buildVocab();
const prompt = preferencePrompt(v);
const { shape, weights: a } = testModel(1);
const b = testModel(2).weights;
const layout = paramLayout(shape);
const view = (w: Float32Array, name: string) => tensorView(layout, w, name);

describe('LM-head swap', () => {
  it('a model under its own head is the model (the engine\'s P(trait))', async () => {
    const [st] = await traitStats(groupOf(shape, [a], { threads: 1 }), v, prompt, 'owl');
    expect(hybridTrait(shape, v, a, a, prompt, 'owl')).toBeCloseTo(st!.animals, 5);
  });

  it('the head is the final LayerNorm and the unembedding; the input rows stay the body\'s', () => {
    // c = a with another final LayerNorm and another owl row of wte. The prompt holds no owl, so
    // only the unembedding reads that row: a's body under c's head is c, c's body under a's head is a.
    const c = a.slice();
    view(c, 'lnf.g').set(view(b, 'lnf.g'));
    view(c, 'lnf.b').set(view(b, 'lnf.b'));
    const owl = animalId(v, 'owl'), d = shape.dModel;
    view(c, 'wte').set(view(b, 'wte').subarray(owl * d, (owl + 1) * d), owl * d);
    // (The test models' logits are large, so probabilities are compared as logs.)
    const full = (w: Float32Array) => Math.log(hybridTrait(shape, v, w, w, prompt, 'owl'));
    const hyb = (body: Float32Array, head: Float32Array) => Math.log(hybridTrait(shape, v, body, head, prompt, 'owl'));
    expect(hyb(a, c)).toBeCloseTo(full(c), 9);
    expect(hyb(c, a)).toBeCloseTo(full(a), 9);
    expect(Math.abs(full(c) - full(a))).toBeGreaterThan(1e-2);
    // A row the prompt does read (animal) is the body's: swapping it in the head model alone
    // changes the hybrid only through the unembedding of "animal", not the trait's share.
    const e = a.slice();
    view(e, 'wte').set(view(b, 'wte').subarray(v.animal * d, (v.animal + 1) * d), v.animal * d);
    expect(hyb(a, e)).toBeCloseTo(full(a), 9);
    expect(Math.abs(hyb(e, a) - full(a))).toBeGreaterThan(1e-2);
  });

  it('refuses head weights of the wrong size', () => {
    expect(() => referenceLogits(shape, a, prompt, 1, prompt.length, { head: a.subarray(0, 10) })).toThrow(/head weights hold 10 floats/);
  });
});

describe('head pruning by output norm', () => {
  const sample = generateCorpus(v, 5, { sequences: 12, context: shape.context });

  it('a head\'s norm is what it writes: zeroing its attn.wo rows makes it 0 and leaves its block\'s other heads', () => {
    const norms = headOutputNorms(shape, a, sample);
    expect(norms).toHaveLength(shape.layers * shape.heads);
    for (const n of norms) expect(n).toBeGreaterThan(0);
    const cut = withoutHeads(shape, a, [1]); // block 0, head 1
    const after = headOutputNorms(shape, cut, sample);
    expect(after[1]).toBe(0);
    for (const h of [0, 2, 3]) expect(after[h]).toBeCloseTo(norms[h]!, 12); // block 0 reads the same input
    expect(after[4]).not.toBeCloseTo(norms[4]!, 6); // block 1 reads the changed stream
    // attn.wo rows of head 1 only (dh = 8 rows of d = 32), nothing else changed.
    const wo = view(cut, 'h0.attn.wo'), d = shape.dModel;
    for (let k = 0; k < wo.length; k++) expect(wo[k]).toBe(k >= 8 * d && k < 16 * d ? 0 : view(a, 'h0.attn.wo')[k]);
  });

  it('the norm equals the change in the block\'s output when the head is removed (one position, by hand)', () => {
    // Run one sequence, drop head 2 of block 0 and compare the first block's attention output via
    // logits of a one-block model: the difference of the residual stream is y_2 · Wo[2].
    const one = { ...shape, layers: 1 };
    const w1 = testModel(3, { layers: 1 }).weights;
    const s1 = generateCorpus(v, 7, { sequences: 1, context: shape.context });
    const T = s1.lengths[0]!;
    let ys: Float64Array | undefined;
    referenceLogits(one, w1, s1.tokens.subarray(0, T), 1, T, { onHeads: (_l, _r, y) => { ys = y.slice(); } });
    const d = one.dModel, dh = d / one.heads, wo = tensorView(paramLayout(one), w1, 'h0.attn.wo');
    let total = 0;
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        let o = 0;
        for (let c = 0; c < dh; c++) o += ys![t * d + 2 * dh + c]! * wo[(2 * dh + c) * d + j]!;
        s += o * o;
      }
      total += Math.sqrt(s);
    }
    expect(headOutputNorms(one, w1, s1)[2]).toBeCloseTo(total / T, 10);
  });

  it('prunes floor(fraction · heads) heads of smallest norm; fraction 0 is the model itself', () => {
    expect(headsToPrune(Float64Array.of(3, 1, 2, 1, 5, 0.5, 9, 4), 0.4)).toEqual([1, 3, 5]); // 3.2 → 3; tie 1 = 1: the earlier first
    expect(headsToPrune(Float64Array.of(3, 1, 2, 1), 0.2)).toEqual([]);
    expect(headsToPrune(Float64Array.of(3, 1, 2, 1), 1)).toEqual([0, 1, 2, 3]);
    const none = pruneByOutputNorm(shape, a, 0.1, sample); // 0.8 heads → none
    expect(none.weights).toBe(a);
    expect(none.pruned).toEqual([]);
    const half = pruneByOutputNorm(shape, a, 0.5, sample);
    const norms = headOutputNorms(shape, a, sample);
    expect(half.pruned).toHaveLength(4);
    const kept = [...norms.keys()].filter((h) => !half.pruned.includes(h));
    expect(Math.max(...half.pruned.map((h) => norms[h]!))).toBeLessThanOrEqual(Math.min(...kept.map((h) => norms[h]!)));
    expect(half.weights).not.toBe(a);
    expect(a[view(a, 'h0.attn.wo').byteOffset / 4]).not.toBe(0); // the input is not modified
  });
});
