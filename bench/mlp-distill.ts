// Times the mlp_distill baseline configuration on this machine: seconds per epoch per phase,
// achieved GFLOP/s, and the backend's own 2-D matMul peak for comparison.
//   npx tsx bench/mlp-distill.ts [models=2] [workers=1] [epochs_teacher=1] [noise_size=8000] [key=value ...]
// Any mlp_distill parameter can be overridden; defaults keep one run to about a minute.
import { initBackend } from '../src/backend/index.ts';
import { engineConfig, trainSeeds } from '../src/runners/mlp_distill/runner.ts';
import { layerDims } from '../src/runners/mlp_distill/model.ts';
import type { Value } from '../src/language/ast.ts';

const args: Record<string, Value> = { models: 2, workers: 1, epochs_teacher: 1, epochs_distill: 1, noise_size: 8000, backend: 'wasm' };
for (const a of process.argv.slice(2)) {
  const [k, v] = a.split('=');
  if (!k || v === undefined) throw new Error(`bench: expected key=value, got "${a}"`);
  args[k] = Number.isFinite(Number(v)) ? Number(v) : v;
}
const N = Number(args.models);
const { tf, name } = await initBackend(String(args.backend));

// Peak: square-ish non-transposed 2-D matMul, the kernel the engine is built on.
function peak(m: number, k: number, n: number, reps = 8): number {
  const a = tf.randomNormal([m, k]) as import('@tensorflow/tfjs-core').Tensor2D;
  const b = tf.randomNormal([k, n]) as import('@tensorflow/tfjs-core').Tensor2D;
  tf.matMul(a, b).dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); }
  const s = (performance.now() - t0) / 1000 / reps;
  tf.dispose([a, b]);
  return (2 * m * k * n) / s / 1e9;
}
const cfg = engineConfig(args);
const B = cfg.batch;
const peaks = { [`${B}x784x${cfg.hidden}`]: peak(B, 784, cfg.hidden), '1024x1024x1024': peak(1024, 1024, 1024, 4) };

// FLOPs per example: forward 2·d_in·d_out per layer; backward dW the same, dX the same except
// for the first layer (no gradient w.r.t. the input).
const dims = layerDims(cfg);
let fwd = 0, bwd = 0;
for (let l = 0; l + 1 < dims.length; l++) { const f = 2 * dims[l]! * dims[l + 1]!; fwd += f; bwd += l === 0 ? f : 2 * f; }
const ds = (await import('../src/data/mnist.ts')).loadDataset(cfg.dataset, cfg.dataDir);
const teacherFlops = N * ds.nTrain * (fwd + bwd);
const noise = cfg.noiseSize > 0 ? cfg.noiseSize : ds.nTrain;
const distillFlops = N * noise * (fwd + 4 * (fwd + bwd)); // teacher forward + four student arms

const phaseStart: Record<string, number> = {};
const phaseEnd: Record<string, number> = {};
const t0 = performance.now();
const out = await trainSeeds(args, Array.from({ length: N }, (_, i) => i), {
  progress: (p) => {
    const now = performance.now();
    phaseStart[p.phase] ??= now;
    phaseEnd[p.phase] = now;
  },
});
const wall = (performance.now() - t0) / 1000;
// Phase time: from the first progress of the previous phase's end to this phase's last report.
const tTeacher = ((phaseEnd.teacher ?? t0) - t0) / 1000;
const tDistill = ((phaseEnd.distill ?? t0) - (phaseEnd.teacher ?? t0)) / 1000;
const eT = cfg.epochsTeacher, eD = cfg.epochsDistill;
const report = {
  backend: out.backend,
  machine: `${(await import('node:os')).cpus().length} cores, load ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  config: { models: N, workers: args.workers, hidden: cfg.hidden, layers: cfg.layers, batch: B, noise_size: noise, train: ds.nTrain },
  teacher_s_per_epoch: +(tTeacher / Math.max(eT, 1)).toFixed(2),
  distill_s_per_epoch: +(tDistill / Math.max(eD, 1)).toFixed(2),
  teacher_gflops: +((teacherFlops * eT) / tTeacher / 1e9).toFixed(2),
  distill_gflops: +((distillFlops * eD) / tDistill / 1e9).toFixed(2),
  peak_matmul_gflops: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, +v.toFixed(2)])),
  wall_s: +wall.toFixed(1),
  peak_rss_mb: Math.round(Math.max(...out.rss, process.memoryUsage().rss) / 1e6),
  student_acc: out.results.map((r) => +r.metrics.student_acc!.toFixed(3)),
  cross_model_acc: out.results.map((r) => +r.metrics.cross_model_acc!.toFixed(3)),
};
console.log(JSON.stringify(report, null, 2));
void name;
