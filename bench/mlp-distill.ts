// Times mlp_distill on this machine: seconds per phase, achieved GFLOP/s against ONNX Runtime's
// own MatMul peak at the same shapes, peak RSS, and (when a Python with torch is found) the same
// work in bench/torch_mlp_distill.py side by side, as a ratio. Two measurements: equal work (every
// arm, evaluation and curve, against the script's four arms with curves) and the plain two-arm
// experiment (only student_acc and cross_model_acc asked for, against the script's arms=2).
//   npx tsx bench/mlp-distill.ts [config=baseline|published] [backend=onnxruntime|tfjs-wasm|...]
//                                [torch=auto|off] [work=both|all|two] [threads=2] [workers=1] [key=value ...]
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
import { partsFor } from '../src/plan/needs.ts';
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
const work = String(args.work ?? 'both');
if (!['both', 'all', 'two'].includes(work)) throw new Error('bench: work must be both, all or two');
delete args.config; delete args.torch; delete args.work;
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
/** Teacher forward + the arms' forward and backward. */
const distillFlops = (arms: number) => N * noise * (fwd + arms * (fwd + bwd)) * cfg.epochs_distill;

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

/** One training of the group, asked for `parts` (undefined: everything): wall time, phases, results. */
async function measure(parts: readonly string[] | undefined) {
  const t0 = performance.now();
  let phases: Record<string, number>;
  let results;
  let backend: string;
  if (engine === 'onnxruntime' && Number(params.workers ?? 0) === 1) {
    // One session in this thread: the engine's own per-phase profile.
    const prof: EngineProfile = { teacher_s: 0, distill_s: 0, eval_s: 0, session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, steps: { teacher: 0, distill: 0 } };
    results = await trainGroupOnnx(cfg, seeds, { device: 'cpu', threads, ...(parts ? { parts } : {}) }, () => {}, prof);
    if (process.env.SUBLAB_ORT_PROFILE) await endProfiling();
    backend = `onnxruntime/cpu (${threads} threads)`;
    phases = { ...prof, steps: undefined } as unknown as Record<string, number>;
    delete phases.steps;
  } else {
    const ends: Record<string, number> = {};
    const out = await trainSeeds(params, seeds, { progress: (p) => { ends[p.phase] = performance.now(); }, ...(parts ? { parts } : {}) });
    results = out.results;
    backend = out.backend;
    phases = { teacher_s: ((ends.teacher ?? t0) - t0) / 1000, distill_s: ((ends.distill ?? t0) - (ends.teacher ?? t0)) / 1000 };
  }
  return { wall: (performance.now() - t0) / 1000, phases, results, backend };
}

const py = torchMode === 'off' ? undefined : findTorchPython();
const dataDir = py ? mkdtempSync(path.join(os.tmpdir(), 'sublab-bench-')) : undefined;
if (dataDir) {
  const bytes = (a: Float32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dataDir, 'train_x.f32'), bytes(ds.trainX.subarray(0, ds.nTrain * 784)));
  writeFileSync(path.join(dataDir, 'test_x.f32'), bytes(ds.testX.subarray(0, ds.nTest * 784)));
  writeFileSync(path.join(dataDir, 'train_y.u8'), bytes(ds.trainY.subarray(0, ds.nTrain)));
  writeFileSync(path.join(dataDir, 'test_y.u8'), bytes(ds.testY.subarray(0, ds.nTest)));
}

/** bench/torch_mlp_distill.py with `arms` (4: equal work, curves included; 2: the plain script). */
function torchRun(arms: 2 | 4): Record<string, number> & { train_s: number; process_wall_s: number } {
  const tArgs = [
    `models=${N}`, `hidden=${cfg.hidden}`, `layers=${cfg.layers}`, `aux=${cfg.aux_logits}`, `lr=${cfg.lr}`, `batch=${cfg.batch_size}`,
    `epochs_teacher=${cfg.epochs_teacher}`, `epochs_distill=${cfg.epochs_distill}`, `noise_size=${noise}`, `threads=${threads}`, `arms=${arms}`,
  ];
  const t1 = performance.now();
  const out = execFileSync(py!, [path.join(import.meta.dirname, 'torch_mlp_distill.py'), dataDir!, ...tArgs], { env: torchEnv(), encoding: 'utf8', maxBuffer: 1 << 20 });
  const processWall = (performance.now() - t1) / 1000;
  const torch = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
  const train = torch.teacher_s! + torch.distill_s! + torch.eval_s!;
  return { ...torch, train_s: +train.toFixed(1), process_wall_s: +processWall.toFixed(1) };
}

const bestPeak = Object.keys(peaks).length ? Math.max(...Object.values(peaks)) : undefined;
/** One side-by-side: sublab asked for `parts`, the script with `arms`; floor = the products at the best MatMul rate. */
async function sideBySide(parts: readonly string[] | undefined, arms: 2 | 4) {
  const { wall, phases, results, backend } = await measure(parts);
  const flops = teacherFlops + distillFlops(arms);
  const floorS = bestPeak !== undefined ? flops / bestPeak / 1e9 : undefined;
  const mean = (k: string) => (results[0]!.metrics[k] === undefined ? undefined : +(results.reduce((a, r) => a + r.metrics[k]!, 0) / results.length).toFixed(4));
  const out: Record<string, unknown> = {
    backend,
    seconds: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +v.toFixed(2)])),
    train_s: +wall.toFixed(1),
    gflops: {
      teacher: +(teacherFlops / phases.teacher_s! / 1e9).toFixed(0),
      distill: +(distillFlops(arms) / phases.distill_s! / 1e9).toFixed(0),
      total_tflop: +(flops / 1e12).toFixed(2),
    },
    // What this machine allows: the training products alone at the best MatMul rate measured above
    // (evaluation, Adam and inputs not counted), and how much of that rate the whole run achieved.
    ...(floorS !== undefined ? { floor: { products_at_peak_s: +floorS.toFixed(1), fraction_of_peak: +(floorS / wall).toFixed(2) } } : {}),
    accuracy: { teacher: mean('teacher_acc'), student: mean('student_acc'), cross: mean('cross_model_acc'), student_all: mean('student_all_acc'), cross_all: mean('cross_model_all_acc') },
  };
  if (py) {
    const torch = torchRun(arms);
    out.torch = torch;
    out.ratio_sublab_over_torch = +(wall / torch.train_s).toFixed(2);
    if (floorS !== undefined) out.ratio_floor_over_torch = +(floorS / torch.train_s).toFixed(2);
  } else out.torch = torchMode === 'off' ? 'off' : TORCH_MISSING;
  return out;
}

const report: Record<string, unknown> = {
  config: configName, machine,
  setup: { models: N, hidden: cfg.hidden, layers: cfg.layers, batch: cfg.batch_size, batch_distill: BD, epochs: [cfg.epochs_teacher, cfg.epochs_distill], noise_size: noise, train: ds.nTrain, test: ds.nTest },
  ort_matmul_peak_gflops: peaks,
};
try {
  // Equal work: every arm, evaluation and curve (the runner's --all-metrics), against the four-arm script.
  if (work !== 'two') report.equal_work = await sideBySide(undefined, 4);
  // The published experiment as asked: student_acc and cross_model_acc only, against the plain two-arm script.
  if (work !== 'all') report.two_arms = await sideBySide(partsFor(mlpDistillSchema, ['student_acc', 'cross_model_acc'], false), 2);
} finally {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
report.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(report, null, 2));
