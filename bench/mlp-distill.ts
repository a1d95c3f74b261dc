// Times mlp_distill on this machine: seconds per phase, achieved GFLOP/s against ONNX Runtime's
// own MatMul peak at the same shapes, peak RSS, and (when a Python with torch is found) the same
// work in bench/torch_mlp_distill.py side by side, as a ratio.
//   npx tsx bench/mlp-distill.ts [config=baseline|published] [backend=onnxruntime|tfjs-wasm|...]
//                                [torch=auto|off] [threads=2] [workers=1] [key=value ...]
// By default the runner's own path (trainSeeds: on the CPU the group split over one worker thread
// per core); workers=1 runs one session in this thread and prints its per-phase profile.
// baseline: the bundled defaults (25 models, batch 128, 5 teacher epochs, 60,000 noise images).
// published: batch 1024, 5 + 5 epochs, noise = the training set (the published run's settings on
// the bundled 8,000 digits). Any mlp_distill parameter can be overridden.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveEngine, trainSeeds } from '../src/runners/mlp_distill/runner.ts';
import { mlpDistillSchema } from '../src/runners/mlp_distill/schema.ts';
import { trainGroupOnnx, type EngineProfile } from '../src/runners/mlp_distill/onnx/engine.ts';
import { groupSetup } from '../src/runners/mlp_distill/model.ts';
import { GraphBuilder } from '../src/backend/onnx-graph.ts';
import { createSession, defaultThreads, endProfiling, ort } from '../src/backend/onnxruntime.ts';
import type { Value } from '../src/language/ast.ts';
import { TORCH_MISSING, findTorchPython, torchEnv } from './torch-python.ts';

const CONFIGS: Record<string, Record<string, Value>> = {
  baseline: {},
  published: { batch_size: 1024, epochs_teacher: 5, epochs_distill: 5, noise_size: 0 },
};
const args: Record<string, Value> = {};
for (const a of process.argv.slice(2)) {
  const [k, v] = a.split('=');
  if (!k || v === undefined) throw new Error(`bench: expected key=value, got "${a}"`);
  args[k] = Number.isFinite(Number(v)) ? Number(v) : v;
}
const configName = String(args.config ?? 'baseline');
if (!CONFIGS[configName]) throw new Error(`bench: config must be one of ${Object.keys(CONFIGS).join(', ')}`);
const torchMode = String(args.torch ?? 'auto');
delete args.config; delete args.torch;
const params: Record<string, Value> = { ...CONFIGS[configName], ...args };
const N = Number(params.models ?? 25);
const threads = Number(params.threads ?? 0) || defaultThreads();
const cfg = mlpDistillSchema.resolve(params);
const { ds, dims, noiseSize: noise, BD } = groupSetup(cfg);
const engine = resolveEngine(params.backend);

// FLOPs per example and model: forward 2·d_in·d_out per layer; backward dW the same, dX the same
// except at the first layer (no gradient w.r.t. the input).
let fwd = 0, bwd = 0;
for (let l = 0; l + 1 < dims.length; l++) { const f = 2 * dims[l]! * dims[l + 1]!; fwd += f; bwd += l === 0 ? f : 2 * f; }
const teacherFlops = N * ds.nTrain * (fwd + bwd) * cfg.epochs_teacher;
const distillFlops = N * noise * (fwd + 4 * (fwd + bwd)) * cfg.epochs_distill; // teacher forward + four arms

/** ONNX Runtime's batched MatMul at a shape: best of 10, GFLOP/s. */
async function ortPeak(m: number, k: number, n: number): Promise<number> {
  const g = new GraphBuilder('peak');
  const a = g.input('a', [N, m, k]), b = g.input('b', [N, k, n]);
  g.output('c', g.op('MatMul', [a, b]), [N, m, n]);
  const s = await createSession(g.build(), { device: 'cpu', threads });
  const o = ort();
  const A = new o.Tensor('float32', Float32Array.from({ length: N * m * k }, () => Math.random()), [N, m, k]);
  const Bt = new o.Tensor('float32', Float32Array.from({ length: N * k * n }, () => Math.random()), [N, k, n]);
  const C = { c: new o.Tensor('float32', new Float32Array(N * m * n), [N, m, n]) };
  let best = Infinity;
  for (let i = 0; i < 12; i++) {
    const t = performance.now();
    await s.run({ a: A, b: Bt }, C as never);
    if (i >= 2) best = Math.min(best, performance.now() - t);
  }
  await s.release();
  return (2 * N * m * k * n) / best / 1e6;
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
const peaks: Record<string, number> = {};
if (engine === 'onnxruntime') {
  peaks[`${cfg.batch_size}x784x${cfg.hidden}`] = +(await ortPeak(cfg.batch_size, 784, cfg.hidden)).toFixed(0);
  peaks[`${cfg.batch_size}x${cfg.hidden}x${cfg.hidden}`] = +(await ortPeak(cfg.batch_size, cfg.hidden, cfg.hidden)).toFixed(0);
}

const seeds = Array.from({ length: N }, (_, i) => i);
const t0 = performance.now();
let phases: Record<string, number>;
let results;
let backend: string;
if (engine === 'onnxruntime' && Number(params.workers ?? 0) === 1) {
  // One session in this thread: the engine's own per-phase profile.
  const prof: EngineProfile = { teacher_s: 0, distill_s: 0, eval_s: 0, session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, steps: { teacher: 0, distill: 0 } };
  results = await trainGroupOnnx(cfg, seeds, { device: 'cpu', threads }, () => {}, prof);
  if (process.env.SUBLAB_ORT_PROFILE) await endProfiling();
  backend = `onnxruntime/cpu (${threads} threads)`;
  phases = { ...prof, steps: undefined } as unknown as Record<string, number>;
  delete phases.steps;
} else {
  const ends: Record<string, number> = {};
  const out = await trainSeeds(params, seeds, { progress: (p) => { ends[p.phase] = performance.now(); } });
  results = out.results;
  backend = out.backend;
  phases = { teacher_s: ((ends.teacher ?? t0) - t0) / 1000, distill_s: ((ends.distill ?? t0) - (ends.teacher ?? t0)) / 1000 };
}
const wall = (performance.now() - t0) / 1000;
const floorS = Object.keys(peaks).length ? (teacherFlops + distillFlops) / Math.max(...Object.values(peaks)) / 1e9 : undefined;
const mean = (k: string) => +(results.reduce((a, r) => a + r.metrics[k]!, 0) / results.length).toFixed(4);
const report: Record<string, unknown> = {
  config: configName, backend, machine,
  setup: { models: N, hidden: cfg.hidden, layers: cfg.layers, batch: cfg.batch_size, batch_distill: BD, epochs: [cfg.epochs_teacher, cfg.epochs_distill], noise_size: noise, train: ds.nTrain, test: ds.nTest },
  seconds: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +v.toFixed(2)])),
  train_s: +wall.toFixed(1),
  gflops: {
    teacher: +(teacherFlops / phases.teacher_s! / 1e9).toFixed(0),
    distill: +(distillFlops / phases.distill_s! / 1e9).toFixed(0),
    total_tflop: +((teacherFlops + distillFlops) / 1e12).toFixed(2),
  },
  ort_matmul_peak_gflops: peaks,
  // What this machine allows: the training products alone at the best MatMul rate measured above
  // (evaluation, Adam and inputs not counted), and how much of that rate the whole run achieved.
  ...(floorS !== undefined ? { floor: { products_at_peak_s: +floorS.toFixed(1), fraction_of_peak: +(floorS / wall).toFixed(2) } } : {}),
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  accuracy: { teacher: mean('teacher_acc'), student: mean('student_acc'), cross: mean('cross_model_acc'), student_all: mean('student_all_acc'), cross_all: mean('cross_model_all_acc') },
};

// ---- PyTorch, side by side ----
const py = torchMode === 'off' ? undefined : findTorchPython();
if (py) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-bench-'));
  try {
    const bytes = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    writeFileSync(path.join(dir, 'train_x.f32'), bytes(ds.trainX.subarray(0, ds.nTrain * 784)));
    writeFileSync(path.join(dir, 'test_x.f32'), bytes(ds.testX.subarray(0, ds.nTest * 784)));
    writeFileSync(path.join(dir, 'train_y.u8'), bytes(ds.trainY.subarray(0, ds.nTrain)));
    writeFileSync(path.join(dir, 'test_y.u8'), bytes(ds.testY.subarray(0, ds.nTest)));
    const env = torchEnv();
    const tArgs = [
      `models=${N}`, `hidden=${cfg.hidden}`, `layers=${cfg.layers}`, `aux=${cfg.aux_logits}`, `lr=${cfg.lr}`, `batch=${cfg.batch_size}`,
      `epochs_teacher=${cfg.epochs_teacher}`, `epochs_distill=${cfg.epochs_distill}`, `noise_size=${noise}`, `threads=${threads}`,
    ];
    const t1 = performance.now();
    const out = execFileSync(py, [path.join(import.meta.dirname, 'torch_mlp_distill.py'), dir, ...tArgs], { env, encoding: 'utf8', maxBuffer: 1 << 20 });
    const processWall = (performance.now() - t1) / 1000;
    const torch = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
    const torchTrain = torch.teacher_s! + torch.distill_s! + torch.eval_s!;
    report.torch = { ...torch, train_s: +torchTrain.toFixed(1), process_wall_s: +processWall.toFixed(1) };
    report.ratio_sublab_over_torch = +(wall / torchTrain).toFixed(2);
    if (floorS !== undefined) report.ratio_floor_over_torch = +(floorS / torchTrain).toFixed(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  report.torch = torchMode === 'off' ? 'off' : TORCH_MISSING;
}
console.log(JSON.stringify(report, null, 2));
