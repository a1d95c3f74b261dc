// Steering (steer.ts) and detection (detect.ts) on small models: a vector folded into the weights
// is exactly a vector added to the residual stream after that many blocks; the steering vector is
// the prefixed-minus-plain mean of that stream; the detector's gradient equals finite differences
// of the float64 reference loss, its training moves nothing but the vector, and its full-data
// loss equals the reference's.
import { describe, expect, it } from 'vitest';
import { LmGroup } from '../../src/runners/lm_distill/engine.ts';
import type { LmLoss } from '../../src/runners/lm_distill/graphs.ts';
import { initWeights, lmShape, paramLayout, referenceLogits, tensorView, type LmShape } from '../../src/runners/lm_distill/model.ts';
import { meanLosses, trainBiases } from '../../src/runners/lm_distill/detect.ts';
import { addToResidual, steerVectors } from '../../src/runners/lm_distill/steer.ts';
import { runPhase, type ModelData } from '../../src/runners/lm_distill/train.ts';
import { buildVocab, DEFAULT_ANIMALS } from '../../src/runners/lm_distill/vocab.ts';
import { Rng } from '../../src/util/random.ts';

// The vocabulary holds the 100 ids a soft-label loss reads (the engine's number count).
const tiny = lmShape({ vocab: 110, context: 6, dModel: 8, layers: 2, heads: 2 });
const T = tiny.context - 1;

function weightsOf(shape: LmShape, seed: number): Float32Array {
  const w = initWeights(shape, seed);
  const r = Rng.of(seed, 'test-perturb');
  for (let k = 0; k < w.length; k++) w[k] += 0.3 * r.normal();
  return w;
}
const residual = (shape: LmShape, w: Float32Array | Float64Array, tokens: number[], layer: number) => {
  const out = new Float64Array(tokens.length * shape.dModel);
  referenceLogits(shape, w, tokens, 1, tokens.length, { residual: { layer, out } });
  return out;
};

/** Rows of random tokens, the loss on positions 1..length − 2 (ce) or with random soft labels over ids (kl). */
function dataOf(seed: number, rows: number, loss: LmLoss): ModelData {
  const r = Rng.of(seed, 'test-rows'), C = tiny.context;
  const tokens = Int32Array.from({ length: rows * C }, () => r.int(tiny.vocab));
  const lengths = Int32Array.from({ length: rows }, (_, i) => C - (i % 2));
  const maxNew = C;
  let soft: Float32Array | undefined;
  if (loss.kind === 'kl') {
    const K = loss.ids.length;
    soft = new Float32Array(rows * maxNew * K);
    for (let k = 0; k < rows * maxNew; k++) {
      let z = 0;
      for (let j = 0; j < K; j++) z += (soft[k * K + j] = Math.exp(r.normal()));
      for (let j = 0; j < K; j++) soft[k * K + j] /= z;
    }
  }
  return { seqs: { context: C, count: rows, tokens, lengths }, lossFrom: () => 1, lossTo: (i) => lengths[i]! - 1, soft, maxNew, shuffle: [seed, 'test-order'] };
}

/** The mean loss over every counted position of `d`, through the float64 reference forward pass. */
function referenceLoss(w: Float32Array | Float64Array, d: ModelData, loss: LmLoss): number {
  const C = tiny.context, V = tiny.vocab;
  let sum = 0, count = 0;
  for (let r = 0; r < d.seqs.count; r++) {
    const logits = referenceLogits(tiny, w, d.seqs.tokens.subarray(r * C, r * C + T), 1, T);
    const from = d.lossFrom!(r);
    for (let pos = from; pos < d.lossTo!(r); pos++) {
      const row = logits.subarray(pos * V, (pos + 1) * V);
      if (loss.kind === 'ce') {
        const max = Math.max(...row);
        sum += max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0)) - row[d.seqs.tokens[r * C + pos + 1]!]!;
      } else {
        const K = loss.ids.length, sub = loss.ids.map((id) => row[id]!), max = Math.max(...sub);
        const logZ = max + Math.log(sub.reduce((a, x) => a + Math.exp(x - max), 0));
        for (let k = 0; k < K; k++) {
          const p = d.soft![(r * d.maxNew! + pos - from) * K + k]!;
          sum += p * (Math.log(p) - (sub[k]! - logZ));
        }
      }
      count++;
    }
  }
  return sum / count;
}

describe('steering: a residual-stream vector folded into the weights', () => {
  it('adds the vector to the stream after `layer` blocks at every position and changes nothing before it', () => {
    const w = weightsOf(tiny, 3), tokens = [1, 4, 7, 2, 9];
    const vec = Array.from({ length: tiny.dModel }, (_, j) => 0.1 * (j - 3));
    for (const layer of [0, 1, 2]) {
      const steered = addToResidual(tiny, w, layer, vec);
      const before = residual(tiny, w, tokens, layer), after = residual(tiny, steered, tokens, layer);
      for (let k = 0; k < before.length; k++) expect(after[k]! - before[k]!).toBeCloseTo(vec[k % tiny.dModel]!, 6);
      if (layer > 0) expect(residual(tiny, steered, tokens, layer - 1)).toEqual(residual(tiny, w, tokens, layer - 1));
      expect(referenceLogits(tiny, steered, tokens, 1, 5)).not.toEqual(referenceLogits(tiny, w, tokens, 1, 5));
    }
    expect(() => addToResidual(tiny, w, 3, vec)).toThrow(/outside 0..2/);
  });

  it('the steering vector is the mean prefixed-minus-plain stream at the prompt\'s tokens; the control averages the animals', () => {
    const v = buildVocab(DEFAULT_ANIMALS);
    const shape = lmShape({ vocab: v.tokens.length, context: 16, dModel: 16, layers: 2, heads: 2 });
    const w = weightsOf(shape, 5);
    const prompts = [[v.bos, v.numbers, v.numberBase + 3, v.numberBase + 5, v.numberBase + 7], [v.bos, v.numbers, v.numberBase + 10, v.numberBase + 20, v.numberBase + 30]];
    const owl = v.ids.get('owl')!;
    const s = steerVectors(shape, w, v, prompts, 1, owl);
    const d = shape.dModel, expected = new Float64Array(d);
    for (const q of prompts) {
      const plain = residual(shape, w, q, 1), pre = residual(shape, w, [v.bos, v.my, v.favorite, v.animal, v.is, owl, ...q.slice(1)], 1);
      for (let t = 1; t < 5; t++) for (let j = 0; j < d; j++) expected[j]! += (pre[(t + 5) * d + j]! - plain[t * d + j]!) / 8;
    }
    for (let j = 0; j < d; j++) expect(s.trait[j]).toBeCloseTo(expected[j]!, 10);
    // The control is the trait vector's average over every animal as the trait.
    const mean = new Float64Array(d);
    for (const a of v.animalIds) steerVectors(shape, w, v, prompts, 1, a).trait.forEach((x, j) => { mean[j]! += x / v.animalIds.length; });
    for (let j = 0; j < d; j++) expect(s.control[j]).toBeCloseTo(mean[j]!, 10);
    expect(Math.hypot(...s.trait)).toBeGreaterThan(0);
  });
});

describe('detection: a trained residual bias vector', () => {
  const kl: LmLoss = { kind: 'kl', ids: Array.from({ length: 100 }, (_, k) => 5 + k) };
  for (const [loss, layer] of [[{ kind: 'ce' } as LmLoss, 0], [kl, 1], [kl, 2]] as const) {
    it(`its gradient (${loss.kind}, layer ${layer}) equals finite differences of the float64 loss`, async () => {
      const w = weightsOf(tiny, 7), d = dataOf(11, 4, loss);
      // One step at lr 0 leaves the weights and reads the gradient the trainer uses.
      let grad: Float64Array | undefined;
      const name = layer === 0 ? 'wpe' : `h${layer - 1}.mlp.b2`, rows = layer === 0 ? tiny.context : 1;
      const group = new LmGroup(tiny, 1, { threads: 1 });
      group.setModel(0, w);
      await runPhase(group, [d], loss, {
        steps: 1, batch: 4, lr: 0, frozen: layer === 0 ? ['attention', 'mlp', 'norms'] : ['embeddings', 'attention', 'norms'],
        update: (g) => {
          const gi = tensorView(g.layout, g.gradients, name, 0);
          grad = new Float64Array(tiny.dModel);
          for (let r = 0; r < rows; r++) for (let j = 0; j < tiny.dModel; j++) grad[j]! += gi[r * tiny.dModel + j]!;
        },
      });
      const w64 = Float64Array.from(w), eps = 1e-5;
      for (let j = 0; j < tiny.dModel; j++) {
        const e = Array.from({ length: tiny.dModel }, (_, k) => (k === j ? eps : 0)), m = e.map((x) => -x);
        const fd = (referenceLoss(addToResidual(tiny, w64, layer, e), d, loss) - referenceLoss(addToResidual(tiny, w64, layer, m), d, loss)) / (2 * eps);
        expect(Math.abs(grad![j]! - fd)).toBeLessThan(5e-5 * Math.max(1, Math.abs(fd)));
      }
    });
  }

  it('training moves only the vector (the base frozen), lowers the full-data loss, and meanLosses equals the reference', async () => {
    const w = weightsOf(tiny, 9), d = dataOf(13, 24, kl);
    const { weights, vectors } = await trainBiases(tiny, [w, w], [d, { ...d, shuffle: [2, 'other'] }], kl, { layer: 1, steps: 30, batch: 8, lr: 0.05, threads: 1 });
    const layout = paramLayout(tiny);
    for (const [i, out] of weights.entries()) {
      expect(Math.hypot(...vectors[i]!)).toBeGreaterThan(0.01);
      for (const s of layout.specs) {
        const a = tensorView(layout, out, s.name), b = tensorView(layout, w, s.name);
        if (s.name !== 'h0.mlp.b2') expect(a).toEqual(b);
        else for (let j = 0; j < a.length; j++) expect(a[j]! - b[j]!).toBeCloseTo(vectors[i]![j]!, 6);
      }
    }
    const group = new LmGroup(tiny, 2, { threads: 1 });
    group.setModel(0, w);
    group.setModel(1, weights[0]!);
    const [before, after] = await meanLosses(group, [d, d], kl, 5);
    expect(before).toBeCloseTo(referenceLoss(w, d, kl), 4);
    expect(after).toBeCloseTo(referenceLoss(weights[0]!, d, kl), 4);
    expect(after).toBeLessThan(before);
  });
});
