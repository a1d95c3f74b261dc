// A seeded lm_distill model whose every weight matters (GPT-2's init scaled up and LayerNorm
// gains and biases perturbed), so forward-pass mismatches show in the logits.
import { Rng } from '../../src/util/random.ts';
import { initWeights, lmShape, type LmShape } from '../../src/runners/lm_distill/model.ts';

export function testModel(seed = 1, over: Partial<LmShape> = {}): { shape: LmShape; weights: Float32Array } {
  const shape = lmShape({ vocab: 153, context: 16, dModel: 32, layers: 2, heads: 4, ...over });
  const weights = initWeights(shape, seed);
  const rng = Rng.of(seed, 'test-perturb');
  for (let i = 0; i < weights.length; i++) weights[i] = weights[i]! * 10 + rng.normal() * 0.1;
  return { shape, weights };
}
