// Times lm_distill's training step on this machine, side by side with the same toy in PyTorch
// (bench/torch_lm_distill.py): N word-level GPTs (the prototype: 2 layers, 4 heads,
// context 16, d 64, 153 tokens) trained side by side with AdamW and a cosine rate on random
// token batches (the time does not depend on the data). Prints milliseconds per step, the ratio
// sublab / PyTorch, achieved GFLOP/s, peak RSS.
//   npx tsx bench/lm-distill.ts [models=5] [d=64] [layers=2] [heads=4] [context=16] [vocab=153]
//                               [batch=128] [steps=30] [warmup=3] [threads=2] [torch=auto|off]
//                               [torch_layout=batched|loop]   (PyTorch: N models as [N, ...] weights, or one after another)
//                               [tfjs=off|on]   (tfjs=on: also time the forward pass in TensorFlow.js)
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { LmGroup, cosineLr, type StepBatch } from '../src/runners/lm_distill/engine.ts';
import { initWeights, lmShape, paramCount, type LmShape } from '../src/runners/lm_distill/model.ts';
import { Rng } from '../src/util/random.ts';
import { TORCH_MISSING, findTorchPython, torchEnv } from './torch-python.ts';

const args: Record<string, string> = {
  models: '5', d: '64', layers: '2', heads: '4', context: '16', vocab: '153', batch: '128', steps: '30', warmup: '3',
  threads: '2', torch: 'auto', torch_layout: 'batched', tfjs: 'off', lr: '3e-3', wd: '0.01',
};
for (const a of process.argv.slice(2)) {
  const [k, v] = a.split('=');
  if (!k || v === undefined || !(k in args)) throw new Error(`bench: expected key=value with key one of ${Object.keys(args).join(', ')}; got "${a}"`);
  args[k] = v;
}
const num = (k: string) => Number(args[k]);
const N = num('models'), B = num('batch'), steps = num('steps'), warmup = num('warmup'), threads = num('threads');
const shape: LmShape = lmShape({ vocab: num('vocab'), context: num('context'), dModel: num('d'), layers: num('layers'), heads: num('heads') });
const T = shape.context;

/**
 * Training FLOPs per token and model: the forward pass's products (per layer 2·d·3d for q, k, v,
 * 2·d·d for the output projection, 2·2·d·dFF for the MLP, 2·2·T·d for scores and values at full
 * T), plus the tied output projection 2·d·V; the backward pass twice that.
 */
function flopsPerToken(s: LmShape): number {
  const d = s.dModel;
  const fwd = s.layers * (2 * d * 3 * d + 2 * d * d + 4 * d * s.dFF + 4 * s.context * d) + 2 * d * s.vocab;
  return 3 * fwd;
}
const stepFlops = flopsPerToken(shape) * N * B * T;

function randomBatch(rng: Rng): StepBatch {
  const M = N * B * T;
  const seq = Int32Array.from({ length: N * B * (T + 1) }, () => rng.int(shape.vocab));
  const tokens = new Int32Array(M), targets = new Int32Array(M);
  for (let r = 0; r < N * B; r++) {
    tokens.set(seq.subarray(r * (T + 1), r * (T + 1) + T), r * T);
    targets.set(seq.subarray(r * (T + 1) + 1, (r + 1) * (T + 1)), r * T);
  }
  return { B, T, tokens, targets, mask: new Float32Array(M).fill(1) };
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`;
const group = new LmGroup(shape, N, { threads });
for (let i = 0; i < N; i++) group.setModel(i, initWeights(shape, i));
const rng = Rng.of(0, 'bench-batches');
const batches = Array.from({ length: 4 }, () => randomBatch(rng)); // inputs made before timing
const total = warmup + steps;
let t0 = performance.now();
let loss: Float32Array = new Float32Array(N);
for (let s = 0; s < total; s++) {
  if (s === warmup) t0 = performance.now();
  loss = await group.step(batches[s % batches.length]!, { loss: { kind: 'ce' }, lr: cosineLr(num('lr'), s, total), weightDecay: num('wd') });
}
const stepMs = (performance.now() - t0) / steps;
const report: Record<string, unknown> = {
  machine,
  setup: { models: N, params_per_model: paramCount(shape), ...shape, batch: B, steps, threads, gflop_per_step: +(stepFlops / 1e9).toFixed(2) },
  sublab: {
    engine: `onnxruntime/cpu (${Math.min(threads, N)} threads)`, step_ms: +stepMs.toFixed(2), gflops: +(stepFlops / stepMs / 1e6).toFixed(1),
    loss: +(loss.reduce((a, b) => a + b, 0) / N).toFixed(4), peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  },
};

if (args.tfjs === 'on') {
  const { tfjsForwardMs } = await import('./lm-distill-tfjs.ts');
  const ms = await tfjsForwardMs(shape, N, B, Math.min(steps, 5), batches[0]!);
  report.tfjs = { ...ms, forward_gflops: +(stepFlops / 3 / ms.forward_ms / 1e6).toFixed(1) };
}

const py = args.torch === 'off' ? undefined : findTorchPython();
if (py) {
  const tArgs = ['train', `models=${N}`, `vocab=${shape.vocab}`, `context=${T}`, `d=${shape.dModel}`, `layers=${shape.layers}`,
    `heads=${shape.heads}`, `batch=${B}`, `steps=${steps}`, `warmup=${warmup}`, `lr=${args.lr}`, `wd=${args.wd}`, `threads=${threads}`, `layout=${args.torch_layout}`];
  const out = execFileSync(py, [path.join(import.meta.dirname, 'torch_lm_distill.py'), ...tArgs], { env: torchEnv(), encoding: 'utf8', maxBuffer: 1 << 20 });
  const torch = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
  report.torch = { ...torch, gflops: +(stepFlops / torch.step_ms! / 1e6).toFixed(1) };
  report.ratio_sublab_over_torch = +(stepMs / torch.step_ms!).toFixed(2);
} else {
  report.torch = args.torch === 'off' ? 'off' : TORCH_MISSING;
}
console.log(JSON.stringify(report, null, 2));
