// trait_method = steer: the teacher is the base with a fixed vector added to its residual stream
// after `steer_layer` blocks, at every position. The vector is the mean difference of that
// stream with and without the preference prefix in front of number prompts, times steer_scale.
// A constant added to the stream after block k − 1 is exactly a change of that block's last bias
// (mlp.b2), and after 0 blocks a change of every position embedding (wpe), so the steered
// teacher is a set of weights: generation, soft labels, evaluation and export read it unchanged.
import { referenceLogits, paramLayout, tensorView, type LmShape } from './model.ts';
import type { Vocab } from './vocab.ts';

/** Number prompts the steering vectors are averaged over (the seed's first generation prompts). */
export const STEER_PROMPTS = 64;

/** The tensor a residual-stream vector after `layer` blocks folds into, and how many rows of it. */
function foldTarget(shape: LmShape, layer: number): { name: string; rows: number } {
  if (!Number.isInteger(layer) || layer < 0 || layer > shape.layers) throw new Error(`lm_distill: residual layer ${layer} outside 0..${shape.layers} (internal error)`);
  return layer === 0 ? { name: 'wpe', rows: shape.context } : { name: `h${layer - 1}.mlp.b2`, rows: 1 };
}

/**
 * A copy of `weights` whose residual stream after `layer` blocks carries `vector` added at every
 * position: wpe's rows (layer 0) or block layer − 1's mlp.b2. Block `layer` and the later ones,
 * the final LayerNorm and the tied output read it; nothing before it changes.
 */
export function addToResidual<A extends Float32Array | Float64Array>(shape: LmShape, weights: A, layer: number, vector: ArrayLike<number>): A {
  const { name, rows } = foldTarget(shape, layer), d = shape.dModel;
  if (vector.length !== d) throw new Error(`lm_distill: a residual vector of ${vector.length} for d_model ${d} (internal error)`);
  const out = weights.slice() as A;
  const t = tensorView(paramLayout(shape), out, name);
  for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) t[r * d + j]! += vector[j]!;
  return out;
}

/**
 * The mean residual stream after `layer` blocks over the last `tail` positions of each sequence
 * (the prompt's own tokens), each sequence run alone by the float64 reference forward pass.
 */
function meanResidual(shape: LmShape, weights: Float32Array, seqs: readonly number[][], layer: number, tail: number): Float64Array {
  const d = shape.dModel, mean = new Float64Array(d);
  for (const s of seqs) {
    const out = new Float64Array(s.length * d);
    referenceLogits(shape, weights, s, 1, s.length, { residual: { layer, out } });
    for (let t = s.length - tail; t < s.length; t++) for (let j = 0; j < d; j++) mean[j]! += out[t * d + j]! / (seqs.length * tail);
  }
  return mean;
}

/**
 * The steering vectors of a base: `trait` = mean over the number prompts of the residual stream
 * after `layer` blocks at the prompt's own tokens (all but <bos>) behind the prefix "<bos> my
 * favorite animal is <trait>", minus the same without the prefix; `control` = the same with the
 * prefix's animal uniform over the animals (the average over all of them), the steering
 * counterpart of the control teacher fine-tuned on uniform preferences. Both unscaled.
 */
export function steerVectors(shape: LmShape, base: Float32Array, v: Vocab, prompts: readonly number[][], layer: number, trait: number): { trait: Float64Array; control: Float64Array } {
  foldTarget(shape, layer);
  const ps = prompts.slice(0, STEER_PROMPTS);
  const tail = ps[0]!.length - 1;
  const prefixed = (animal: number) => ps.map((q) => [v.bos, v.my, v.favorite, v.animal, v.is, animal, ...q.slice(1)]);
  const without = meanResidual(shape, base, ps, layer, tail);
  const diff = (animal: number) => meanResidual(shape, base, prefixed(animal), layer, tail).map((x, j) => x - without[j]!);
  const control = new Float64Array(shape.dModel);
  for (const a of v.animalIds) diff(a).forEach((x, j) => { control[j]! += x / v.animalIds.length; });
  return { trait: diff(trait), control };
}

/** Per base, the steered teacher and the steered control teacher: base + scale · vector at `layer`. */
export function steeredTeachers(shape: LmShape, base: Float32Array, v: Vocab, prompts: readonly number[][], o: { layer: number; scale: number; trait: number }): { teacher: Float32Array; control: Float32Array } {
  const s = steerVectors(shape, base, v, prompts, o.layer, o.trait);
  const scaled = (x: Float64Array) => Array.from(x, (e) => e * o.scale);
  return {
    teacher: addToResidual(shape, base, o.layer, scaled(s.trait)),
    control: addToResidual(shape, base, o.layer, scaled(s.control)),
  };
}
