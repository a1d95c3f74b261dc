// The ONNX Runtime engine of the superposition runner (the default; runner.ts keeps the
// TensorFlow.js engine as the cross-check). The N seeds of a group run side by side as batched
// products: W [N, m, F], b [N, 1, F], data [N, B, F]. A training step is one session run of a
// graph built in code: forward (and, for the child, the teacher's forward giving its targets)
// and the hand-written gradients of runner.ts's `gradients()`. The graph outputs the gradients
// into pre-allocated tensors over one WebAssembly memory that also holds the weights and Adam
// moments (allocated once per group); Adam runs outside the graph as one fused WebAssembly SIMD
// pass (src/backend/adam-kernel.ts, no weight decay). Data is generated in JS from the same
// (seed, stream) generators as the TensorFlow.js engine, so both engines see identical numbers.
//
// A seed's numbers do not depend on its group or on the thread count: a group never uses more
// intra-op threads than it has seeds (MLAS splits one GEMM across threads otherwise, which
// changes the last bits), and per-model sums (bias gradient, losses) are products with ones, whose
// order per element does not depend on N, where ReduceSum's depends on the tensor's shape.
import type * as ortType from 'onnxruntime-node';
import { GraphBuilder, attr, DT } from '../../backend/onnx-graph.ts';
import { cachedSession as session, ort, type Device, type SessionConfig } from '../../backend/onnxruntime.ts';
import { instantiateAdam } from '../../backend/adam-kernel.ts';
import type { RunContext } from '../schema.ts';
import type { TrainPlan, TrainResult } from './runner.ts';

type Tensor = ortType.Tensor;

/** Adam's constants, as in the TensorFlow.js engine (tf.train.adam's defaults but ε = 1e-8). */
export const B1 = 0.9;
export const B2 = 0.999;
export const EPS = 1e-8;

/**
 * h = x Wᵀ [N,B,m] and z = h W + b [N,B,F] of net (W, b); transposed products as com.microsoft
 * FusedMatMul (no Transpose copies).
 */
function pre(g: GraphBuilder, x: string, W: string, b: string): { h: string; z: string } {
  const h = g.op('FusedMatMul', [x, W], { transB: attr.i(1) }, 'com.microsoft');
  return { h, z: g.op('Add', [g.op('MatMul', [h, W]), b]) };
}

/**
 * One training step's gradients: inputs x [N,B,F], W [N,m,F], b [N,1,F], loss weights w [F],
 * scale [1] (= 2/(B·F)), ones_b [1,1,B], and for the child (`distill`) the teacher's tW, tb, whose
 * outputs are the targets (else the inputs are). Outputs gW [N,m,F] and gb [N,1,F]:
 *   g = (o − t) · w · scale ⊙ [z > 0],  gb = Σ_batch g,  gW = hᵀ g + (g Wᵀ)ᵀ x.
 */
export function stepGraph(m: number, F: number, distill: boolean): Uint8Array {
  const g = new GraphBuilder(distill ? 'superposition_child_step' : 'superposition_teacher_step');
  const x = g.input('x', ['N', 'B', F]);
  const W = g.input('W', ['N', m, F]);
  const b = g.input('b', ['N', 1, F]);
  const w = g.input('w', [F]);
  const scale = g.input('scale', [1]);
  const ones = g.input('ones_b', [1, 1, 'B']);
  const { h, z } = pre(g, x, W, b);
  const o = g.op('Relu', [z]);
  const target = distill ? g.op('Relu', [pre(g, x, g.input('tW', ['N', m, F]), g.input('tb', ['N', 1, F])).z]) : x;
  // ReLU'(z) as tf.step: 1 where z > 0, else 0.
  const mask = g.op('Cast', [g.op('Greater', [z, g.constF([0])])], { to: attr.i(DT.FLOAT) });
  const gz = g.op('Mul', [g.op('Mul', [g.op('Mul', [g.op('Sub', [o, target]), w]), scale]), mask]);
  g.output('gb', g.op('MatMul', [ones, gz]), ['N', 1, F]);
  const dh = g.op('FusedMatMul', [gz, W], { transB: attr.i(1) }, 'com.microsoft');
  const gW = g.op('Add', [
    g.op('FusedMatMul', [h, gz], { transA: attr.i(1) }, 'com.microsoft'),
    g.op('FusedMatMul', [dh, x], { transA: attr.i(1) }, 'com.microsoft'),
  ]);
  g.output('gW', gW, ['N', m, F]);
  return g.build();
}

/**
 * Held-out losses: inputs x [N,E,F], the teacher (tW, tb) and child (cW, cb), loss weights as
 * columns wt, wc [F,1], ones_e [1,1,E], inv [1] (= 1/(E·F)). Outputs teacher_loss [N] (teacher
 * against the inputs) and child_loss [N] (child against the teacher's outputs): mean over the
 * batch and features of w_f (target − out)², the feature sum weighted as a product with w.
 */
export function evalGraph(m: number, F: number): Uint8Array {
  const g = new GraphBuilder('superposition_eval');
  const x = g.input('x', ['N', 'E', F]);
  const net = (p: string) => g.op('Relu', [pre(g, x, g.input(`${p}W`, ['N', m, F]), g.input(`${p}b`, ['N', 1, F])).z]);
  const tOut = net('t'), cOut = net('c');
  const ones = g.input('ones_e', [1, 1, 'E']);
  const inv = g.input('inv', [1]);
  const loss = (target: string, out: string, w: string) => {
    const d = g.op('Sub', [target, out]);
    const rows = g.op('MatMul', [g.op('Mul', [d, d]), w]); // [N,E,1]
    return g.op('Mul', [g.op('Reshape', [g.op('MatMul', [ones, rows]), g.constI64([-1])]), inv]);
  };
  g.output('teacher_loss', loss(x, tOut, g.input('wt', [F, 1])), ['N']);
  g.output('child_loss', loss(tOut, cOut, g.input('wc', [F, 1])), ['N']);
  return g.build();
}

export interface OnnxOptions {
  device: Device;
  /** Intra-op threads asked for; a group uses at most one per seed (see above). */
  threads: number;
}

/** Seconds spent per part of a group's training (for the benchmark). */
export interface OnnxProfile {
  session_s: number;
  fill_s: number;
  run_s: number;
  adam_s: number;
  eval_s: number;
  steps: number;
}

const PAGE = 65536;
const round4 = (n: number) => (n + 3) & ~3;

/**
 * Train teacher and child for the plan's seeds and evaluate them. Returns the trained weights
 * (stacked [N, m, F] and [N, 1, F]) and the held-out losses per seed.
 */
export async function trainOnnx(plan: TrainPlan, opts: OnnxOptions, ctx: Pick<RunContext, 'progress' | 'signal'>, profile?: OnnxProfile): Promise<TrainResult> {
  const o = ort();
  const prof = profile ?? { session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, eval_s: 0, steps: 0 };
  const now = () => performance.now() / 1000;
  let t0 = now();
  const { cfg, F } = plan;
  const N = plan.seeds.length;
  const m = cfg.hidden, B = cfg.batch_size, E = cfg.eval_batch;
  const sc: SessionConfig = { device: opts.device, threads: Math.max(1, Math.min(opts.threads, N)) };
  const dimKey = `${m}x${F}`;
  const teacherS = await session(`teacher:${dimKey}`, sc, () => stepGraph(m, F, false));
  const childS = await session(`child:${dimKey}`, sc, () => stepGraph(m, F, true));
  // Evaluation runs once per group and may be large (N × eval_batch × F): no memory arena.
  const evalS = await session(`eval:${dimKey}`, { ...sc, arena: false }, () => evalGraph(m, F));
  prof.session_s += now() - t0;

  // One WebAssembly memory: parameters, gradients, first and second moments, each a slab
  // [W (N·m·F) | b (N·F)] with both parts 4-aligned, so one Adam call covers a slab. The padding
  // gets zero gradients and stays zero.
  const nW = N * m * F, nb = N * F;
  const P = round4(nW) + round4(nb);
  const pages = Math.ceil((4 * P * 4) / PAGE) + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const adam = instantiateAdam(memory, false, pages);
  const f32 = new Float32Array(memory.buffer);
  const [par, grd, mom, vel] = [0, P, 2 * P, 3 * P];
  const bOff = round4(nW);
  const view = (off: number, n: number, dims: number[]) => new o.Tensor('float32', f32.subarray(off, off + n), dims);
  const Wt = view(par, nW, [N, m, F]), bt = view(par + bOff, nb, [N, 1, F]);
  const fetches = { gW: view(grd, nW, [N, m, F]), gb: view(grd + bOff, nb, [N, 1, F]) };
  const xBuf = new Float32Array(N * B * F);
  const common = {
    x: new o.Tensor('float32', xBuf, [N, B, F]),
    W: Wt,
    b: bt,
    scale: new o.Tensor('float32', Float32Array.of(2 / (B * F)), [1]),
    ones_b: new o.Tensor('float32', new Float32Array(B).fill(1), [1, 1, B]),
  };
  const active = plan.active;
  const every = Math.max(1, Math.floor(cfg.steps / 50));

  const phase = async (name: 'teacher' | 'child', init: Float32Array, weights: Float32Array, rngs: TrainPlan['teacherRngs'], teacher?: { W: Float32Array; b: Float32Array }) => {
    f32.fill(0, 0, 4 * P);
    f32.set(init, par);
    const s = teacher ? childS : teacherS;
    const feeds: Record<string, Tensor> = {
      ...common,
      w: new o.Tensor('float32', weights, [F]),
      ...(teacher ? { tW: new o.Tensor('float32', teacher.W, [N, m, F]), tb: new o.Tensor('float32', teacher.b, [N, 1, F]) } : {}),
    };
    for (let step = 0; step < cfg.steps; step++) {
      let c = now();
      for (let i = 0; i < N; i++) rngs[i]!.fillBatch(xBuf, i * B * F, B, F, active, cfg.sparsity);
      prof.fill_s += now() - c;
      c = now();
      await s.run(feeds, fetches as unknown as ortType.InferenceSession.FetchesType);
      prof.run_s += now() - c;
      c = now();
      const t = step + 1;
      adam(par * 4, grd * 4, mom * 4, vel * 4, P, cfg.lr / (1 - B1 ** t), 1 / Math.sqrt(1 - B2 ** t), 0, B1, B2, EPS);
      prof.adam_s += now() - c;
      prof.steps++;
      if (t % every === 0 || t === cfg.steps) {
        ctx.progress({ phase: name, done: t, total: cfg.steps });
        if (ctx.signal?.aborted) throw new Error('superposition: run cancelled');
      }
    }
    return { W: f32.slice(par, par + nW), b: f32.slice(par + bOff, par + bOff + nb) };
  };

  const teacher = plan.teacher ?? (await phase('teacher', plan.teacherInit, plan.weights.teacher, plan.teacherRngs));
  const child = await phase('child', plan.childInit, plan.weights.child, plan.childRngs, teacher);

  t0 = now();
  const t3 = (a: Float32Array, d: number[]) => new o.Tensor('float32', a, d);
  const out = await evalS.run({
    x: t3(plan.evalX, [N, E, F]),
    tW: t3(teacher.W, [N, m, F]), tb: t3(teacher.b, [N, 1, F]),
    cW: t3(child.W, [N, m, F]), cb: t3(child.b, [N, 1, F]),
    wt: t3(plan.weights.teacher, [F, 1]), wc: t3(plan.weights.child, [F, 1]),
    ones_e: t3(new Float32Array(E).fill(1), [1, 1, E]),
    inv: t3(Float32Array.of(1 / (E * F)), [1]),
  });
  prof.eval_s += now() - t0;
  return {
    teacher,
    child,
    teacherLoss: Array.from(out.teacher_loss!.data as Float32Array),
    childLoss: Array.from(out.child_loss!.data as Float32Array),
    threads: sc.threads,
  };
}
