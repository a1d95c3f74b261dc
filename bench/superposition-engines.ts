// Does ONNX Runtime help the superposition runner? Its shapes are tiny (N seeds × batch 256 ×
// 25 features × 5 hidden), so per-step overhead, not arithmetic, decides. This times one
// training step (data generation excluded) both ways at the runner's default shapes:
//   * TensorFlow.js (the runner's engine): forward, hand-written gradients and Adam in one tf.tidy;
//   * ONNX Runtime: the same forward and gradients as one session run of a graph built in code,
//     with Adam left out (so the ORT number is a lower bound for a port).
//   npx tsx bench/superposition-engines.ts [seeds=8] [batch=256] [steps=300]
import { initBackend } from '../src/backend/index.ts';
import { GraphBuilder, attr } from '../src/backend/onnx-graph.ts';
import { createSession, ort } from '../src/backend/onnxruntime.ts';
import { forward, gradients } from '../src/runners/superposition/runner.ts';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`${k}=`))?.split('=')[1] ?? d);
const N = arg('seeds', 8), B = arg('batch', 256), steps = arg('steps', 300), F = 25, m = 5;
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * (Math.random() < 0.1 ? 1 : 0));
const x = rand(N * B * F), W0 = Float32Array.from({ length: N * m * F }, () => Math.random() - 0.5);
const w = Float32Array.from({ length: F }, (_, f) => 0.7 ** f);

const { tf, name } = await initBackend(process.env.SUBLAB_BACKEND ?? 'auto');
let state = [tf.tensor3d(W0, [N, m, F]), tf.zeros([N, 1, F]), tf.zeros([N, m, F]), tf.zeros([N, m, F]), tf.zeros([N, 1, F]), tf.zeros([N, 1, F])];
const wT = tf.tensor1d(w);
const tfStep = () => {
  const next = tf.tidy(() => {
    const [W, b, mW, vW, mb, vb] = state as [typeof state[0], typeof state[0], typeof state[0], typeof state[0], typeof state[0], typeof state[0]];
    const xt = tf.tensor3d(x, [N, B, F]);
    const target = forward(tf, W, b, xt);
    const { dW, db } = gradients(tf, W, b, xt, target, wT);
    const adam = (p: typeof W, mo: typeof W, ve: typeof W, gr: typeof W) => {
      const m1 = tf.add(tf.mul(mo, 0.9), tf.mul(gr, 0.1));
      const v1 = tf.add(tf.mul(ve, 0.999), tf.mul(tf.square(gr), 0.001));
      return [tf.sub(p, tf.div(tf.mul(m1, 1e-3), tf.add(tf.sqrt(v1), 1e-8))), m1, v1];
    };
    return [...adam(W, mW, vW, dW), ...adam(b, mb, vb, db)];
  });
  state.forEach((t) => t.dispose());
  state = [next[0]!, next[3]!, next[1]!, next[2]!, next[4]!, next[5]!];
};
for (let i = 0; i < 20; i++) tfStep();
let t0 = performance.now();
for (let i = 0; i < steps; i++) tfStep();
state[0]!.dataSync();
const tfMs = (performance.now() - t0) / steps;

// The same forward and gradients as an ONNX graph: h = x Wᵀ, z = h W + b, o = relu(z),
// g = 2 w (o − t)/(B F) ⊙ [z > 0], db = Σ_batch g, dW = hᵀ g + (g Wᵀ)ᵀ x.
const g = new GraphBuilder('superposition_step');
const X = g.input('x', [N, B, F]), Wn = g.input('W', [N, m, F]), bn = g.input('b', [N, 1, F]), T = g.input('t', [N, B, F]), wn = g.input('w', [F]);
const h = g.op('FusedMatMul', [X, Wn], { transB: attr.i(1) }, 'com.microsoft');
const z = g.op('Add', [g.op('MatMul', [h, Wn]), bn]);
const o = g.op('Relu', [z]);
const mask = g.op('Cast', [g.op('Greater', [z, g.constF([0])])], { to: attr.i(1) });
const gr = g.op('Mul', [g.op('Mul', [g.op('Sub', [o, T]), g.op('Mul', [wn, g.constF([2 / (B * F)])])]), mask]);
g.output('db', g.op('ReduceSum', [gr, g.constI64([1])], { keepdims: attr.i(1) }), [N, 1, F]);
const dh = g.op('FusedMatMul', [gr, Wn], { transB: attr.i(1) }, 'com.microsoft');
g.output('dW', g.op('Add', [g.op('FusedMatMul', [h, gr], { transA: attr.i(1) }, 'com.microsoft'), g.op('FusedMatMul', [dh, X], { transA: attr.i(1) }, 'com.microsoft')]), [N, m, F]);
const o_ = ort();
const results: Record<string, number> = {};
for (const threads of [1, 2]) {
  const s = await createSession(g.build(), { device: 'cpu', threads });
  const feeds = {
    x: new o_.Tensor('float32', x, [N, B, F]), W: new o_.Tensor('float32', W0, [N, m, F]), b: new o_.Tensor('float32', new Float32Array(N * F), [N, 1, F]),
    t: new o_.Tensor('float32', x, [N, B, F]), w: new o_.Tensor('float32', w, [F]),
  };
  for (let i = 0; i < 20; i++) await s.run(feeds);
  t0 = performance.now();
  for (let i = 0; i < steps; i++) await s.run(feeds);
  results[`onnxruntime_${threads}_thread_ms`] = +((performance.now() - t0) / steps).toFixed(3);
}
console.log(JSON.stringify({ shapes: { seeds: N, batch: B, features: F, hidden: m }, [`tfjs_${name}_ms`]: +tfMs.toFixed(3), ...results }, null, 2));
