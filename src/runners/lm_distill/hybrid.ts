// The LM-head swap: a hybrid reads a prompt with one model's body and another's head.
//   body = the input embedding (wte as a lookup table), the positions (wpe) and every block: all
//          that writes the residual stream;
//   head = the final LayerNorm (lnf.g, lnf.b) and the output projection, which this model ties to
//          wte: in a hybrid the tie is cut, the input rows come from the body's wte and the
//          unembedding from the head's.
// With the teacher's embeddings frozen (teacher_freeze = embeddings) the teacher's wte is the
// base's, so its head differs from the base's only in lnf; a student trains wte, so its head
// carries its own unembedding too. Computed by the float64 reference forward pass (model.ts).
import { referenceLogits, type LmShape } from './model.ts';
import { animalId, type Vocab } from './vocab.ts';

/** P(trait) renormalised over the animals after `prompt`, for `body` under `head`'s head. */
export function hybridTrait(shape: LmShape, v: Vocab, body: Float32Array, head: Float32Array, prompt: readonly number[], trait: string): number {
  const T = prompt.length, V = shape.vocab;
  const logits = referenceLogits(shape, body, prompt, 1, T, { head });
  const last = logits.subarray((T - 1) * V, T * V);
  let max = -Infinity;
  for (const x of last) if (x > max) max = x;
  // Renormalised over the animals: the softmax's normaliser cancels.
  let mass = 0;
  for (const k of v.animalIds) mass += Math.exp(last[k]! - max);
  return Math.exp(last[animalId(v, trait)]! - max) / mass;
}
