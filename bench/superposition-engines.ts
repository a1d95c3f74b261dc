// Does ONNX Runtime help the superposition runner? Its shapes are tiny (N seeds × batch 256 ×
// 25 features × 5 hidden), so per-step overhead, not arithmetic, decides.
// Part 1 (step) times one training step (data generation excluded) both ways at the runner's
// default shapes:
//   * TensorFlow.js: forward, hand-written gradients and Adam in one tf.tidy;
//   * ONNX Runtime: the engine's step graph (the same forward and gradients) as one session run,
//     with data and Adam left out (part 2 times those).
// Part 2 (run) times whole runs of the runner's engines: one point (the ablated.exp setup at
// sparsity 0.9: 20 features, 5 dimensions, 2000 + 2000 steps of batch 256, eval 4096) × N seeds
// as one group, on ONNX Runtime at 1 and 2 threads (with its per-part profile) and on
// TensorFlow.js (SUBLAB_BACKEND picks which; wasm here).
//   npx tsx bench/superposition-engines.ts [step|run] [seeds=8] [batch=256] [steps=300] [runsteps=2000]
import { initBackend } from '../src/backend/index.ts';
import { createSession, ort } from '../src/backend/onnxruntime.ts';
import { forward, gradients, makePlan, trainTfjs } from '../src/runners/superposition/runner.ts';
import { superpositionSchema } from '../src/runners/superposition/schema.ts';
import { stepGraph, trainOnnx, type OnnxProfile } from '../src/runners/superposition/onnx-engine.ts';

const arg = (k: string, d: number) => Number(process.argv.find((a) => a.startsWith(`${k}=`))?.split('=')[1] ?? d);
const parts = process.argv.includes('step') || process.argv.includes('run') ? process.argv.filter((a) => a === 'step' || a === 'run') : ['step', 'run'];
const N = arg('seeds', 8), B = arg('batch', 256), steps = arg('steps', 300), F = 25, m = 5;
const { tf, name } = await initBackend(process.env.SUBLAB_BACKEND ?? 'auto');
const report: Record<string, unknown> = { machine: 'shared 2-core machine; timings vary with load' };

if (parts.includes('step')) {
  const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * (Math.random() < 0.1 ? 1 : 0));
  const x = rand(N * B * F), W0 = Float32Array.from({ length: N * m * F }, () => Math.random() - 0.5);
  const w = Float32Array.from({ length: F }, (_, f) => 0.7 ** f);

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

  // The engine's teacher-step graph (onnx-engine.ts): the same forward and gradients, with the
  // bias sum as a product with ones.
  const graph = stepGraph(m, F, false);
  const o_ = ort();
  const results: Record<string, number> = {};
  for (const threads of [1, 2]) {
    const s = await createSession(graph, { device: 'cpu', threads });
    const feeds = {
      x: new o_.Tensor('float32', x, [N, B, F]), W: new o_.Tensor('float32', W0, [N, m, F]), b: new o_.Tensor('float32', new Float32Array(N * F), [N, 1, F]),
      w: new o_.Tensor('float32', w, [F]), scale: new o_.Tensor('float32', Float32Array.of(2 / (B * F)), [1]),
      ones_b: new o_.Tensor('float32', new Float32Array(B).fill(1), [1, 1, B]),
    };
    for (let i = 0; i < 20; i++) await s.run(feeds);
    t0 = performance.now();
    for (let i = 0; i < steps; i++) await s.run(feeds);
    results[`onnxruntime_${threads}_thread_ms`] = +((performance.now() - t0) / steps).toFixed(3);
  }
  state.forEach((t) => t.dispose());
  wT.dispose();
  report.step = { shapes: { seeds: N, batch: B, features: F, hidden: m }, [`tfjs_${name}_ms`]: +tfMs.toFixed(3), ...results };
  }

if (parts.includes('run')) {
  const params = { variant: 'ablated', ablate: 4, sparsity: 0.9, child_init: 'shared', steps: arg('runsteps', 2000) };
  const cfg = superpositionSchema.resolve(params);
  const seeds = Array.from({ length: N }, (_, i) => 1000 + i);
  const ctx = { progress() {} };
  const run: Record<string, unknown> = { config: { ...params, seeds: N } };
  const r3 = (x: number) => +x.toFixed(3);
  for (const threads of [1, 2]) {
    await trainOnnx(makePlan(cfg, seeds.slice(0, 1)).plan, { device: 'cpu', threads }, ctx); // sessions made
    const prof: OnnxProfile = { session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, eval_s: 0, steps: 0 };
    const t = performance.now();
    await trainOnnx(makePlan(cfg, seeds).plan, { device: 'cpu', threads }, ctx, prof);
    const wall = (performance.now() - t) / 1000;
    run[`onnxruntime_${threads}_thread`] = {
      wall_s: r3(wall),
      per_step_ms: { data: r3((1e3 * prof.fill_s) / prof.steps), session_run: r3((1e3 * prof.run_s) / prof.steps), adam: r3((1e3 * prof.adam_s) / prof.steps) },
      eval_s: r3(prof.eval_s),
    };
  }
  const t = performance.now();
  await trainTfjs(tf, makePlan(cfg, seeds).plan, ctx);
  run[`tfjs_${name}`] = { wall_s: r3((performance.now() - t) / 1000) };
  report.run = run;
}
console.log(JSON.stringify(report, null, 2));
