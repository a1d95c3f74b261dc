// An independent forward pass of the tiny model in TensorFlow.js, from the same generated weights
// (not through ONNX or transformers.js): the ground truth the probabilities are checked against.
import type { TinyWeights } from '../../src/tiny-model/weights.ts';
import { initBackend } from '../../src/backend/index.ts';

/** Next-token log-probabilities after `ids` (one unpadded sequence, positions 0..n-1). */
export async function referenceLogProbs(w: TinyWeights, ids: number[]): Promise<Float64Array> {
  const { tf } = await initBackend('cpu');
  const { vocabSize: V, hidden: H } = w;
  const n = ids.length;
  const lp = tf.tidy(() => {
    const E = tf.tensor2d(w.embed, [V, H]);
    const P = tf.tensor2d(w.pos, [w.maxPositions, H]);
    const x = tf.add(tf.gather(E, tf.tensor1d(ids, 'int32')), tf.gather(P, tf.range(0, n, 1, 'int32')));
    const q = tf.matMul(x, tf.tensor2d(w.wq, [H, H]));
    const k = tf.matMul(x, tf.tensor2d(w.wk, [H, H]));
    const v = tf.matMul(x, tf.tensor2d(w.wv, [H, H]));
    const scores = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(H));
    const causal = tf.linalg.bandPart(tf.ones([n, n]), -1, 0);
    const masked = tf.add(tf.mul(scores, causal), tf.mul(tf.sub(1, causal), -1e9));
    const attn = tf.softmax(masked, -1);
    const h = tf.add(x, tf.matMul(tf.matMul(attn, v), tf.tensor2d(w.wo, [H, H])));
    const last = tf.slice(h, [n - 1, 0], [1, H]);
    const logits = tf.matMul(last, tf.tensor2d(w.lmHead, [H, V]));
    return tf.logSoftmax(logits);
  });
  const out = Float64Array.from(lp.dataSync());
  lp.dispose();
  return out;
}

/** Attention weights of the last position (for diagnostics). */
export async function referenceAttention(w: TinyWeights, ids: number[]): Promise<Float32Array> {
  const { tf } = await initBackend('cpu');
  const { vocabSize: V, hidden: H } = w;
  const n = ids.length;
  const att = tf.tidy(() => {
    const x = tf.add(tf.gather(tf.tensor2d(w.embed, [V, H]), tf.tensor1d(ids, 'int32')), tf.gather(tf.tensor2d(w.pos, [w.maxPositions, H]), tf.range(0, n, 1, 'int32')));
    const q = tf.matMul(tf.slice(x, [n - 1, 0], [1, H]), tf.tensor2d(w.wq, [H, H]));
    const k = tf.matMul(x, tf.tensor2d(w.wk, [H, H]));
    return tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(H)));
  });
  const out = att.dataSync() as Float32Array;
  att.dispose();
  return out;
}
