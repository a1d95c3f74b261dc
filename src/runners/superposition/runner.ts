// The toy model of superposition (Elhage et al. 2022), x' = ReLU(WᵀW x + b), with a teacher and a
// child distilled from it (docs/research.md §C). The seeds of a group are trained side by side as one
// batched computation: W is [N, m, F], data [N, B, F]; the summed loss gives each model exactly its
// own gradient and Adam is elementwise, so a model's numbers do not depend on its group.
//
// Two engines (parameter `backend`): ONNX Runtime (the default, onnx-engine.ts: a step is one
// session run, ~15× faster per step at the default shapes than TensorFlow.js wasm) and
// TensorFlow.js (this file; the cross-check). Init, data and evaluation inputs are made here, from
// the same (seed, stream) generators, so both engines start from and see identical numbers.
//
// Design choices (also in the schema's parameter descriptions):
// * Child init: by default an exact copy of the teacher's initial W and b (child_init = shared), the
//   key ingredient of subliminal learning; child_init = independent draws a fresh init (control).
// * ablated: teacher trained on all n features (weights importance^i); child trained on the
//   teacher's outputs with the same weights except feature `ablate`, whose weight is 0.
// * auxiliary: teacher has n + k features; the k auxiliary outputs have loss weight 0 for the
//   teacher. By default (aux_input = zero) the auxiliary inputs are always 0, so the auxiliary
//   columns are extra read-outs the teacher never trains (the MNIST "ghost logits"); aux_input =
//   sparse draws them like real features. The child is trained on the teacher's k auxiliary
//   outputs only (weight 1 each, real outputs weight 0), on the same input distribution.
// * Loss: mean over batch and over all F features of w_f (target_f − x'_f)², as in the published
//   toy-model code (mean over features, not sum).
import type { Value } from '../../language/ast.ts';
import type { Runner, RunContext, RunOutput } from '../schema.ts';
import type { TypedRunContext, TypedRunSpec } from '../define.ts';
import { openTeacherStage, type TeacherStage } from './teacher-stage.ts';
import type { initBackend } from '../../backend/index.ts';
import { resolveEngine, tfjsPackages, TFJS_BACKENDS } from '../../backend/engine-choice.ts';
import { needPackages } from '../../util/optional-packages.ts';
import { defaultThreads, resolveDevice } from '../../backend/onnxruntime.ts';
import { superpositionSchema, type SuperpositionParams } from './schema.ts';
import { Rng, type Sfc32 } from '../../util/random.ts';
import { trainOnnx } from './onnx-engine.ts';

type TF = Awaited<ReturnType<typeof initBackend>>['tf'];
type Tensor = ReturnType<TF['tensor']>;

// RNG streams of one seed.
const STREAM_INIT = 1;
const STREAM_CHILD_INIT = 2;
const STREAM_TEACHER_DATA = 3;
const STREAM_CHILD_DATA = 4;
const STREAM_EVAL = 5;

/** Total features F the model carries (real + auxiliary). */
export function totalFeatures(cfg: SuperpositionParams): number {
  return cfg.variant === 'auxiliary' ? cfg.features + cfg.aux_features : cfg.features;
}

/** Features that carry input data: all, or only the real ones when auxiliary inputs stay zero. */
export function activeFeatures(cfg: SuperpositionParams): number {
  return cfg.variant === 'auxiliary' && cfg.aux_input === 'zero' ? cfg.features : totalFeatures(cfg);
}

/** Per-feature loss weights of the teacher and of the child. */
export function lossWeights(cfg: SuperpositionParams): { teacher: Float32Array; child: Float32Array } {
  const F = totalFeatures(cfg);
  const teacher = new Float32Array(F);
  const child = new Float32Array(F);
  for (let f = 0; f < cfg.features; f++) teacher[f] = Math.pow(cfg.importance, f);
  if (cfg.variant === 'ablated') {
    child.set(teacher);
    child[cfg.ablate] = 0;
  } else {
    for (let f = cfg.features; f < F; f++) child[f] = 1;
  }
  return { teacher, child };
}

/** x' = ReLU(WᵀW x + b) for N models side by side: W [N,m,F], b [N,1,F], x [N,B,F] → [N,B,F]. */
export function forward(tf: TF, W: Tensor, b: Tensor, x: Tensor): Tensor {
  const h = tf.matMul(x, W, false, true); // [N,B,m]
  return tf.relu(tf.add(tf.matMul(h, W), b));
}

/** Per-model loss [N]: mean over batch and features of w_f (target − out)². */
export function weightedMse(tf: TF, out: Tensor, target: Tensor, w: Tensor): Tensor {
  const err = tf.mul(tf.square(tf.sub(target, out)), w);
  return tf.mean(err, [1, 2]);
}

/** Xavier-normal init (std √(2/(m+F)) × init_scale), b = 0, drawn from the seed's own stream. */
function initWeights(seed: number, stream: number, cfg: SuperpositionParams): Float32Array {
  const F = totalFeatures(cfg);
  const std = cfg.init_scale * Math.sqrt(2 / (cfg.hidden + F));
  const rng = Rng.stream(seed, stream);
  const W = new Float32Array(cfg.hidden * F);
  for (let i = 0; i < W.length; i++) W[i] = std * rng.normal();
  return W;
}

function throwIfAborted(ctx: RunContext): void {
  if (ctx.signal?.aborted) throw new Error('superposition: run cancelled');
}

export interface Trained {
  W: Float32Array; // N*m*F
  b: Float32Array; // N*F
}

/** What an engine trains: a group's inits, loss weights, data generators and held-out inputs. */
export interface TrainPlan {
  cfg: SuperpositionParams;
  seeds: number[];
  /** Total features (real + auxiliary) and those that carry input data. */
  F: number;
  active: number;
  /** Initial W of teacher and child, stacked [N, m, F] (b starts at 0). */
  teacherInit: Float32Array;
  childInit: Float32Array;
  weights: { teacher: Float32Array; child: Float32Array };
  /** Per seed: the teacher's and the child's training-data streams. */
  teacherRngs: Sfc32[];
  childRngs: Sfc32[];
  /** Held-out inputs [N, eval_batch, F]. */
  evalX: Float32Array;
  /** The trained teachers, from the teacher stage: the teacher phase is skipped. */
  teacher?: Trained;
}

export interface TrainResult {
  teacher: Trained;
  child: Trained;
  teacherLoss: number[];
  childLoss: number[];
  /** Intra-op threads used (ONNX Runtime). */
  threads?: number;
}

/**
 * Gradients of the summed per-model loss with respect to W and b, written out by hand: tfjs-core's
 * Node bundle registers no gradient functions (tf.grad fails on Sum), and the model is small enough
 * that the chain rule is short. With z = (x Wᵀ) W + b, o = ReLU(z), L = mean_{b,f} w_f (o − t)²:
 *   g = 2 w (o − t) / (B F) ⊙ [z > 0],  ∂L/∂b = Σ_batch g,  ∂L/∂W = hᵀ g + (g Wᵀ)ᵀ x  with h = x Wᵀ.
 */
export function gradients(tf: TF, W: Tensor, b: Tensor, x: Tensor, target: Tensor, w: Tensor): { dW: Tensor; db: Tensor } {
  const [, B, F] = x.shape as number[];
  const h = tf.matMul(x, W, false, true);
  const z = tf.add(tf.matMul(h, W), b);
  const o = tf.relu(z);
  const g = tf.mul(tf.mul(tf.mul(tf.sub(o, target), w), 2 / (B! * F!)), tf.step(z));
  const db = tf.sum(g, 1, true);
  const dh = tf.matMul(g, W, false, true);
  const dW = tf.add(tf.matMul(h, g, true, false), tf.matMul(dh, x, true, false));
  return { dW, db };
}

/**
 * One Adam phase for N models side by side (Adam written out for the same reason as the
 * gradients; the update is tf.train.adam's: bias-corrected moments, lr·m̂/(√v̂ + ε)).
 * `teacher` given: targets are the teacher's outputs (distillation); otherwise the inputs.
 */
async function trainPhase(
  tf: TF,
  cfg: SuperpositionParams,
  W0: Float32Array,
  weights: Float32Array,
  rngs: Sfc32[],
  teacher: Trained | undefined,
  phase: string,
  ctx: RunContext,
): Promise<Trained> {
  const N = rngs.length;
  const F = totalFeatures(cfg);
  const { hidden: m, batch_size: B } = cfg;
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  let state: Tensor[] = [tf.tensor3d(W0, [N, m, F]), tf.zeros([N, 1, F]), tf.zeros([N, m, F]), tf.zeros([N, m, F]), tf.zeros([N, 1, F]), tf.zeros([N, 1, F])];
  const w = tf.tensor1d(weights);
  const tW = teacher ? tf.tensor3d(teacher.W, [N, m, F]) : undefined;
  const tb = teacher ? tf.tensor3d(teacher.b, [N, 1, F]) : undefined;
  const buf = new Float32Array(N * B * F);
  const every = Math.max(1, Math.floor(cfg.steps / 50));
  try {
    for (let step = 0; step < cfg.steps; step++) {
      for (let i = 0; i < N; i++) rngs[i]!.fillBatch(buf, i * B * F, B, F, activeFeatures(cfg), cfg.sparsity);
      const c1 = 1 - Math.pow(beta1, step + 1);
      const c2 = 1 - Math.pow(beta2, step + 1);
      const next = tf.tidy(() => {
        const [W, b, mW, vW, mb, vb] = state as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
        const x = tf.tensor3d(buf, [N, B, F]);
        const target = tW && tb ? forward(tf, tW, tb, x) : x;
        const { dW, db } = gradients(tf, W, b, x, target, w);
        const adam = (p: Tensor, mo: Tensor, ve: Tensor, gr: Tensor): Tensor[] => {
          const m1 = tf.add(tf.mul(mo, beta1), tf.mul(gr, 1 - beta1));
          const v1 = tf.add(tf.mul(ve, beta2), tf.mul(tf.square(gr), 1 - beta2));
          const upd = tf.div(tf.mul(tf.div(m1, c1), cfg.lr), tf.add(tf.sqrt(tf.div(v1, c2)), eps));
          return [tf.sub(p, upd), m1, v1];
        };
        const [W1, mW1, vW1] = adam(W, mW, vW, dW);
        const [b1, mb1, vb1] = adam(b, mb, vb, db);
        return [W1!, b1!, mW1!, vW1!, mb1!, vb1!];
      });
      for (const t of state) t.dispose();
      state = next;
      if ((step + 1) % every === 0 || step + 1 === cfg.steps) {
        ctx.progress({ phase, done: step + 1, total: cfg.steps });
        throwIfAborted(ctx);
        // Let the executor's progress rendering and signals through.
        await new Promise((r) => setImmediate(r));
      }
    }
    return { W: state[0]!.dataSync() as Float32Array, b: state[1]!.dataSync() as Float32Array };
  } finally {
    for (const t of state) t.dispose();
    w.dispose();
    tW?.dispose();
    tb?.dispose();
  }
}

/** Evaluate per-model losses on a fixed held-out batch per model. */
function evaluate(tf: TF, plan: TrainPlan, teacher: Trained, child: Trained): { teacher: number[]; child: number[] } {
  const { cfg, F } = plan;
  const N = plan.seeds.length;
  const E = cfg.eval_batch;
  const { teacher: tw, child: cw } = plan.weights;
  return tf.tidy(() => {
    const x = tf.tensor3d(plan.evalX, [N, E, F]);
    const m = cfg.hidden;
    const tOut = forward(tf, tf.tensor3d(teacher.W, [N, m, F]), tf.tensor3d(teacher.b, [N, 1, F]), x);
    const cOut = forward(tf, tf.tensor3d(child.W, [N, m, F]), tf.tensor3d(child.b, [N, 1, F]), x);
    const tl = weightedMse(tf, tOut, x, tf.tensor1d(tw)).dataSync();
    const cl = weightedMse(tf, cOut, tOut, tf.tensor1d(cw)).dataSync();
    return { teacher: Array.from(tl), child: Array.from(cl) };
  });
}

/** Entries of model i's W (row-major [m, F]) restricted to the columns in `cols`. */
function block(W: Float32Array, i: number, m: number, F: number, cols: number[]): number[] {
  const out: number[] = [];
  for (let r = 0; r < m; r++) for (const c of cols) out.push(W[i * m * F + r * F + c]!);
  return out;
}

const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function cosine(a: number[], b: number[]): number {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  return a.reduce((s, x, j) => s + x * b[j]!, 0) / (na * nb);
}

export interface ModelMetrics {
  teacher_features_per_dim: number;
  child_features_per_dim: number;
  transfer_ratio: number;
  transfer_cosine: number;
  init_ratio: number;
}

/**
 * Weight metrics of model i. `U` are the columns the child never got a loss on: the ablated
 * feature, or all real features in the auxiliary variant.
 */
export function weightMetrics(cfg: SuperpositionParams, i: number, teacherW: Float32Array, childW: Float32Array, teacherInit: Float32Array, childInit: Float32Array): ModelMetrics {
  const F = totalFeatures(cfg);
  const m = cfg.hidden;
  const real = Array.from({ length: cfg.features }, (_, f) => f);
  const U = cfg.variant === 'ablated' ? [cfg.ablate] : real;
  const tReal = block(teacherW, i, m, F, real);
  const cReal = block(childW, i, m, F, real);
  const tU = block(teacherW, i, m, F, U);
  const cU = block(childW, i, m, F, U);
  const t0 = block(teacherInit, 0, m, F, U);
  const c0 = block(childInit, 0, m, F, U);
  const tn = norm(tU);
  return {
    teacher_features_per_dim: norm(tReal) ** 2 / m,
    child_features_per_dim: norm(cReal) ** 2 / m,
    transfer_ratio: tn > 0 ? norm(cU) / tn : 0,
    // Does the child's update point where the teacher's did (subliminal-learning theory)?
    transfer_cosine: cosine(
      cU.map((x, j) => x - c0[j]!),
      tU.map((x, j) => x - t0[j]!),
    ),
    init_ratio: tn > 0 ? norm(c0) / tn : 0,
  };
}

/** The TensorFlow.js engine: both phases and the evaluation (the cross-check of onnx-engine.ts). */
export async function trainTfjs(tf: TF, plan: TrainPlan, ctx: RunContext): Promise<TrainResult> {
  const { cfg } = plan;
  const teacher = plan.teacher ?? (await trainPhase(tf, cfg, plan.teacherInit, plan.weights.teacher, plan.teacherRngs, undefined, 'teacher', ctx));
  const child = await trainPhase(tf, cfg, plan.childInit, plan.weights.child, plan.childRngs, teacher, 'child', ctx);
  const losses = evaluate(tf, plan, teacher, child);
  return { teacher, child, teacherLoss: losses.teacher, childLoss: losses.child };
}

/** A group's inits, loss weights, data streams and held-out inputs, made from the seeds alone. */
export function makePlan(cfg: SuperpositionParams, seeds: number[]): { plan: TrainPlan; teacherInits: Float32Array[]; childInits: Float32Array[] } {
  const N = seeds.length;
  const F = totalFeatures(cfg);
  const m = cfg.hidden;
  const teacherInits = seeds.map((s) => initWeights(s, STREAM_INIT, cfg));
  const childInits = cfg.child_init === 'shared' ? teacherInits : seeds.map((s) => initWeights(s, STREAM_CHILD_INIT, cfg));
  const stack = (arrs: Float32Array[]): Float32Array => {
    const out = new Float32Array(N * m * F);
    arrs.forEach((a, i) => out.set(a, i * m * F));
    return out;
  };
  const E = cfg.eval_batch;
  const evalX = new Float32Array(N * E * F);
  seeds.forEach((s, i) => Rng.stream(s, STREAM_EVAL).fillBatch(evalX, i * E * F, E, F, activeFeatures(cfg), cfg.sparsity));
  const plan: TrainPlan = {
    cfg, seeds, F, active: activeFeatures(cfg),
    teacherInit: stack(teacherInits), childInit: stack(childInits), weights: lossWeights(cfg),
    teacherRngs: seeds.map((s) => Rng.stream(s, STREAM_TEACHER_DATA)),
    childRngs: seeds.map((s) => Rng.stream(s, STREAM_CHILD_DATA)),
    evalX,
  };
  return { plan, teacherInits, childInits };
}

/**
 * Train a group on the engine its parameters select; returns the result and the engine's name.
 * With `stage` (teacher-stage.ts) a group whose teachers are all stored skips the teacher phase,
 * and one that trains them stores those the stage lacks.
 */
export async function trainGroup(
  raw: Readonly<Record<string, Value>>, seeds: number[], ctx: RunContext, stage?: TeacherStage,
): Promise<{ result: TrainResult; backend: string; teacherInits: Float32Array[]; childInits: Float32Array[]; teacherStage?: 'computed' | 'reused' }> {
  const params = superpositionSchema.resolve(raw);
  const engine = resolveEngine(params.backend);
  const { plan, teacherInits, childInits } = makePlan(params, seeds);
  // The stage's keys name the engine they were derived for; another one loaded must not mix with them.
  const train = async (loaded: string, go: () => Promise<TrainResult>): Promise<{ result: TrainResult; teacherStage?: 'computed' | 'reused' }> => {
    if (stage && stage.engine !== loaded) {
      console.warn(`superposition: the teacher stage's keys are for ${stage.engine} but ${loaded} was loaded; this group trains its teachers and stores none`);
      stage = undefined;
    }
    if (stage?.stored) plan.teacher = stage.stored;
    const result = await go();
    if (stage && !stage.stored) stage.save(result.teacher);
    return { result, ...(stage ? { teacherStage: stage.stored ? 'reused' : 'computed' } : {}) };
  };
  if (engine === 'onnxruntime') {
    const device = resolveDevice(params.device);
    const asked = params.threads > 0 ? params.threads : defaultThreads();
    const out = await train(`onnxruntime-${device}`, () => trainOnnx(plan, { device, threads: asked }, ctx));
    const t = out.result.threads!;
    return { ...out, backend: `onnxruntime/${device} (${t} thread${t === 1 ? '' : 's'})`, teacherInits, childInits };
  }
  const tfName = TFJS_BACKENDS[engine];
  if (!tfName) throw new Error(`superposition: unknown backend "${engine}"`);
  // Imported on demand: the ONNX Runtime path needs no TensorFlow.js (an optional package).
  needPackages(`superposition with backend ${engine}`, tfjsPackages(engine));
  const { name, tf } = await (await import('../../backend/index.ts')).initBackend(tfName);
  return { ...(await train(`tfjs-${name}`, () => trainTfjs(tf, plan, ctx))), backend: `tfjs-${name}`, teacherInits, childInits };
}

async function runGroup(specs: readonly TypedRunSpec<SuperpositionParams>[], ctx: TypedRunContext): Promise<RunOutput[]> {
  if (specs.length === 0) return [];
  const cfg = specs[0]!.params;
  const seeds = specs.map((s) => s.seed);
  const started = performance.now();
  // Each seed's teacher is a stage artifact: runs that differ only in child parameters share it.
  const stage = await openTeacherStage(specs, ctx, cfg.hidden, totalFeatures(cfg));
  const { result, backend, teacherInits, childInits, teacherStage } = await trainGroup(specs[0]!.params, seeds, ctx, stage);
  const wall = (performance.now() - started) / 1000;

  return specs.map((_, i) => {
    const wm = weightMetrics(cfg, i, result.teacher.W, result.child.W, teacherInits[i]!, childInits[i]!);
    return {
      rows: [{ metrics: { ...wm, teacher_loss: result.teacherLoss[i]!, child_loss: result.childLoss[i]! } }],
      backend,
      extras: { group_size: seeds.length, group_wall_s: wall, ...(teacherStage ? { teacher_stage: teacherStage } : {}) },
    };
  });
}

export const runner: Runner = superpositionSchema.implement({
  run: runGroup,
  // Side by side pays op dispatch once per step for all models; beyond about 8 seeds a step's cost
  // grows near linearly, so larger groups gain little (measurements: bench/README.md). 16 bounds
  // memory and leaves groups for the worker pool.
  maxGroup: () => 16,
  cores: (params) => (params.threads > 0 ? params.threads : defaultThreads()),
});
