// The engine lm_distill did not choose, timed for the record: the same GPT in TensorFlow.js on
// the backend sublab's TF.js runners get here (wasm when tfjs-node is absent: one thread, and
// only its 2-D matMul is fast, so each model's products are 2-D [B·T, d] · [d, k]; attention is
// batched over sequences × heads). Only the FORWARD pass is timed: autodiff (tf.variableGrads)
// needs the gradient registry, which tfjs-core alone does not load (the umbrella @tensorflow/tfjs
// package does; its ESM files do not import under Node), which is why mlp_distill's TF.js
// engine writes its backward pass by hand too. A training step costs about 3 forward passes, so
// 3 × forward is a lower bound on a TF.js step.
import { initBackend } from '../src/backend/index.ts';
import { initWeights, paramLayout, tensorView, type LmShape } from '../src/runners/lm_distill/model.ts';
import type { StepBatch } from '../src/runners/lm_distill/engine.ts';

export async function tfjsForwardMs(shape: LmShape, N: number, B: number, steps: number, batch: StepBatch): Promise<{ backend: string; forward_ms: number; step_ms_lower_bound: number }> {
  const { tf: tfCore, name } = await initBackend();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const tf = tfCore as any; // loosely typed: a bench, not library code
  const { vocab: V, context: C, dModel: d, heads: H, layers, dFF } = shape;
  const T = batch.T, M = B * T, dh = d / H;
  const layout = paramLayout(shape);
  const models = Array.from({ length: N }, (_, i) => {
    const w = initWeights(shape, i);
    return Object.fromEntries(layout.specs.map((s) => [s.name, tf.variable(tf.tensor(tensorView(layout, w, s.name), s.shape), true, `m${i}.${s.name}`)])) as Record<string, X>;
  });
  const mask = tf.tensor2d(Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j <= i ? 0 : -1e9))));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type X = any;
  const add = (a: X, b: X) => tf.add(a, b), mul = (a: X, b: X) => tf.mul(a, b);
  const ln = (x: X, g: X, b: X) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return add(mul(mul(tf.sub(x, mean), tf.rsqrt(add(variance, 1e-5))), g), b);
  };
  const gelu = (x: X) => mul(mul(x, 0.5), add(tf.tanh(mul(add(x, mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));
  const step = (i: number) => {
    const p = models[i];
    const tokens = tf.tensor1d(batch.tokens.subarray(i * M, (i + 1) * M), 'int32');
    const targets = tf.oneHot(tf.tensor1d(batch.targets!.subarray(i * M, (i + 1) * M), 'int32'), V);
    const pos = tf.tensor1d(Array.from({ length: M }, (_, r) => r % T), 'int32');
    const value = tf.tidy(() => {
      let x: X = add(tf.gather(p.wte, tokens), tf.gather(p.wpe, pos));
      for (let l = 0; l < layers; l++) {
        const h = `h${l}.`;
        const a = ln(x, p[`${h}ln1.g`], p[`${h}ln1.b`]);
        const qkv = add(tf.matMul(a, p[`${h}attn.wqkv`]), p[`${h}attn.bqkv`]);
        const split = (k: number) => tf.reshape(tf.transpose(tf.reshape(tf.slice(qkv, [0, k * d], [M, d]), [B, T, H, dh]), [0, 2, 1, 3]), [B * H, T, dh]);
        const s = add(mul(tf.matMul(split(0), split(1), false, true), 1 / Math.sqrt(dh)), mask);
        const y = tf.reshape(tf.transpose(tf.reshape(tf.matMul(tf.softmax(s), split(2)), [B, H, T, dh]), [0, 2, 1, 3]), [M, d]);
        x = add(x, add(tf.matMul(y, p[`${h}attn.wo`]), p[`${h}attn.bo`]));
        const m = gelu(add(tf.matMul(ln(x, p[`${h}ln2.g`], p[`${h}ln2.b`]), p[`${h}mlp.w1`]), p[`${h}mlp.b1`]));
        x = add(x, add(tf.matMul(m, p[`${h}mlp.w2`]), p[`${h}mlp.b2`]));
      }
      const logits = tf.matMul(ln(x, p['lnf.g'], p['lnf.b']), p.wte, false, true);
      return tf.losses.softmaxCrossEntropy(targets, logits);
    });
    value.dataSync(); // wait for the result
    tf.dispose([value, tokens, targets, pos]);
  };
  void C; void dFF;
  for (let i = 0; i < N; i++) step(i); // warm-up
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) for (let i = 0; i < N; i++) step(i);
  const ms = (performance.now() - t0) / steps;
  for (const m of models) tf.dispose(Object.values(m));
  return { backend: `tfjs ${name} (1 thread)`, forward_ms: +ms.toFixed(1), step_ms_lower_bound: +(3 * ms).toFixed(1) };
}
