// The ONNX Runtime engine of mlp_distill: N teacher–student pairs side by side, every step one
// session run of an ONNX graph (graphs.ts: batched forward and backward), then one fused Adam
// pass per net over weights that never leave the arena (arena.ts). Randomness (init, shuffles,
// noise) is the same JS code, keyed by (seed, stream), as in the TensorFlow.js engine, so both
// engines start from identical numbers and a seed's numbers do not depend on its group.
import type * as ortType from 'onnxruntime-node';
import { Rng } from '../../../util/random.ts';
import { IMAGE_SIZE } from '../../../data/mnist.ts';
import { cachedSession as session, ort, releaseOutputs, type SessionConfig } from '../../../backend/onnxruntime.ts';
import {
  ARM_METRIC, controlSeed, dynamicsMetrics, groupSetup, initParams, push, wantedOf, withNoise,
  type Arm, type GroupOptions, type ModelResult, type Progress, type Wanted,
} from '../model.ts';
import type { MlpDistillParams } from '../schema.ts';
import { groupTeachers } from '../teacher-stage.ts';
import { Arena, Slab, TrainableNet, slabFloats } from './arena.ts';
import { inlineSource, prefetchSource, shuffles, type NoisePlan } from './noise.ts';
import {
  ARM_PREFIX, DIGITS, DISTILL_ARMS, ONES_B, armStepGraph, ckaAgainstGraph, ckaFromStats, ckaReferenceGraph, ckaStatsGraph, logitsGraph,
  teacherStepGraph,
} from './graphs.ts';

/** Test images per evaluation run: bounds the activations' memory (25 models × 500 × 256 floats). */
const EVAL_CHUNK = 500;
type Feeds = Record<string, ortType.Tensor>;

export interface OnnxOptions extends SessionConfig, GroupOptions {
  signal?: AbortSignal;
  /** Generate noise inputs a step ahead on a worker thread: true, false, or (default) when the phase is long enough to repay the worker's start-up (~0.3 s). */
  prefetch?: boolean;
  /** Reuse the teacher's logits of the first distillation epoch in later ones (default true; off only to test that it changes nothing). */
  reuseTeacherLogits?: boolean;
}

function usePrefetch(asked: boolean | undefined, p: NoisePlan): boolean {
  if (p.kind !== 'uniform' && p.kind !== 'gaussian') return false;
  return asked ?? p.seeds.length * p.noiseSize * p.epochs >= 200_000;
}

/** Per-phase timings, for the benchmark (seconds). */
export interface EngineProfile {
  teacher_s: number;
  distill_s: number;
  eval_s: number;
  session_s: number;
  fill_s: number;
  run_s: number;
  adam_s: number;
  steps: { teacher: number; distill: number };
}

/** Everything a group's phases share: sizes, sessions, the test set, the arena and its slabs. */
interface Group extends ReturnType<typeof groupSetup> {
  o: ReturnType<typeof ort>;
  cfg: MlpDistillParams;
  seeds: readonly number[];
  opts: OnnxOptions;
  progress: Progress;
  prof: EngineProfile;
  want: Wanted;
  C: number;
  N: number;
  results: ModelResult[];
  sc: SessionConfig;
  dimKey: string;
  chunks: TestChunk[];
  accChunks: TestChunk[];
  ones: (bs: number) => ortType.Tensor;
  inits: { W: Float32Array[]; b: Float32Array[] }[];
  tc: ReturnType<typeof groupTeachers>;
  arena: Arena;
  teacher: Slab;
  grads: Slab;
  arms: Partial<Record<Arm, TrainableNet>>;
  /** The optimiser moments the teacher phase borrows (an arm's, or its own when no arm trains). */
  moments: TrainableNet;
  /** Relative work of a teacher row and a distillation row (FLOPs), for the progress fraction. */
  work: { fwd: number; teacherRow: number; distillRow: number; total: number };
}

interface TestChunk { X: ortType.Tensor; labels: Uint8Array; m: number }
type Session = Awaited<ReturnType<typeof session>>;

const now = () => performance.now() / 1000;

function cancelled(g: Group): void {
  if (g.opts.signal?.aborted) throw new Error('mlp_distill: cancelled');
}

/**
 * Train N teacher–student pairs side by side: the teachers (or the stage's), then the arms asked
 * for (opts.parts), then their final metrics. Metrics of arms and evaluations not asked for are
 * left out; the others are the same numbers whatever else is asked (every arm has its own
 * streams, and the group's sessions and chunking do not depend on what is asked; tested).
 */
export async function trainGroupOnnx(
  cfg: MlpDistillParams, seeds: readonly number[], opts: OnnxOptions, progress: Progress = () => {}, profile?: EngineProfile,
): Promise<ModelResult[]> {
  const g = await openGroup(cfg, seeds, opts, progress, profile);
  const ev = evaluation(g);
  await referenceAccuracy(g, ev);
  await teacherPhase(g, ev);
  const last = g.want.arms.length ? await distillPhase(g, ev) : undefined;
  await finalMetrics(g, ev, last);
  return g.results;
}

/** The group's sizes, the test set in chunks, and one arena holding the teacher, the arms and the inputs. */
async function openGroup(
  cfg: MlpDistillParams, seeds: readonly number[], opts: OnnxOptions, progress: Progress, profile?: EngineProfile,
): Promise<Group> {
  const o = ort();
  const prof: EngineProfile = profile ?? { teacher_s: 0, distill_s: 0, eval_s: 0, session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, steps: { teacher: 0, distill: 0 } };
  const setup = groupSetup(cfg, opts);
  const { ds, dims, nTest, B, BD } = setup;
  const C = dims[dims.length - 1]!;
  const N = seeds.length;
  const want = wantedOf(opts.parts);
  const results: ModelResult[] = seeds.map((seed) => ({ seed, metrics: {}, curves: {} }));
  // MLAS runs the GEMMs of a batched product one thread each when there are at least as many
  // models as threads, and splits a GEMM over threads otherwise, which changes the last bits.
  // So a group never uses more threads than models: a seed's numbers are then the same in any
  // group and at any thread count (tested).
  const sc: SessionConfig = { device: opts.device, threads: Math.min(opts.threads, N) };

  // Test set, shared by all models (broadcast over N inside the graphs), in chunks.
  const testX = new Float32Array(nTest * IMAGE_SIZE);
  for (let k = 0; k < testX.length; k++) testX[k] = ds.testX[k]! * 2 - 1;
  const chunksOf = (size: number) => {
    const out: TestChunk[] = [];
    for (let lo = 0; lo < nTest; lo += size) {
      const m = Math.min(size, nTest - lo);
      out.push({ X: new o.Tensor('float32', testX.subarray(lo * IMAGE_SIZE, (lo + m) * IMAGE_SIZE), [1, m, IMAGE_SIZE]), labels: ds.testY.subarray(lo, lo + m), m });
    }
    return out;
  };
  // CKA sums float32 statistics per chunk, so its chunking is fixed (it shapes the numbers).
  // Accuracy counts hits, the same in any chunking (a row's logits do not depend on the rows
  // beside it): chunks no larger than a training batch keep the logits session's arena at the
  // size training gave it.
  const chunks = chunksOf(EVAL_CHUNK);
  const accChunks = Math.max(B, BD) >= EVAL_CHUNK ? chunks : chunksOf(Math.max(B, BD));
  const onesMemo = new Map<number, ortType.Tensor>();
  const ones = (bs: number) => {
    let t = onesMemo.get(bs);
    if (!t) onesMemo.set(bs, (t = new o.Tensor('float32', new Float32Array(bs).fill(1), [1, 1, bs])));
    return t;
  };

  // One arena for the group: teacher params, (params, m, v) per arm asked for and one gradient
  // slab (the arms step one after another). The teacher's own optimiser state (teacher phase
  // only) reuses the gradient slab and the first arm's moments.
  const S = slabFloats(dims, N);
  const inits = seeds.map((s) => initParams(s, dims));
  const tc = groupTeachers(opts, results);
  const nets = Math.max(1, want.arms.length);
  // ... and the distillation inputs, in the arena so the uniform-noise kernel writes them in place.
  const arena = new Arena(S * (2 + nets * 3) + (tc.toTrain.length < N ? slabFloats(dims, tc.toTrain.length) : 0) + N * BD * IMAGE_SIZE + 64);
  const teacher = new Slab(arena, dims, N);
  seeds.forEach((_, i) => teacher.setModel(i, tc.cached[i] ?? inits[i]!));
  const grads = new Slab(arena, dims, N);
  const arms: Partial<Record<Arm, TrainableNet>> = {};
  for (const a of want.arms) arms[a] = TrainableNet.alloc(arena, dims, N, grads);
  const moments = arms[want.arms[0]!] ?? TrainableNet.alloc(arena, dims, N, grads);

  // Progress as a fraction of the group's work (FLOPs: a teacher example is one forward and
  // backward, a distillation example the teacher's forward and three per arm), so an ETA holds
  // from the first steps.
  let fwd = 0;
  for (let l = 0; l + 1 < dims.length; l++) fwd += dims[l]! * dims[l + 1]!;
  const teacherRow = 3 * fwd, distillRow = (1 + 3 * want.arms.length) * fwd;
  const total = tc.toTrain.length * setup.nTrain * cfg.epochs_teacher * teacherRow + (want.arms.length ? N * setup.noiseSize * cfg.epochs_distill * distillRow : 0);
  const g: Group = {
    ...setup, o, cfg, seeds, opts, progress, prof, want, C, N, results, sc, dimKey: dims.join('x'), chunks, accChunks, ones,
    inits, tc, arena, teacher, grads, arms, moments, work: { fwd, teacherRow, distillRow, total },
  };
  return g;
}

/** Progress as a fraction of the group's work. */
function fraction(g: Group, teacherRows: number, distillRows: number): number {
  return (teacherRows * g.work.teacherRow + distillRows * g.work.distillRow) / Math.max(1, g.work.total);
}

/** A net's forward pass (threads ≤ its models, as above): the teacher's targets, any net's test logits. */
function logitsSession(g: Group, n: number) {
  return session(`logits:${g.dimKey}`, { ...g.sc, threads: Math.min(g.sc.threads, n) }, () => logitsGraph(g.dims));
}

type Evaluation = ReturnType<typeof evaluation>;

/** Test-set evaluation: accuracy of a slab's nets, and linear CKA of one slab against another. */
function evaluation(g: Group) {
  const { o, prof, chunks, dims, dimKey, sc, ones, nTest } = g;
  const accuracy = async (s: Slab): Promise<Float64Array> => {
    const t = now();
    const hits = new Float64Array(s.n);
    const p = s.tensors('t_', 'param');
    const ls = await logitsSession(g, s.n);
    for (const c of g.accChunks) {
      const out = (await ls.run({ X: c.X, ...p })).logits!.data as Float32Array;
      const m = c.labels.length;
      // argmax over the digit logits, first index on ties (as ONNX ArgMax)
      for (let i = 0; i < s.n; i++) {
        for (let r = 0; r < m; r++) {
          const o0 = (i * m + r) * g.C;
          let best = 0;
          for (let k = 1; k < DIGITS; k++) if (out[o0 + k]! > out[o0 + best]!) best = k;
          if (best === c.labels[r]) hits[i]++;
        }
      }
      releaseOutputs();
    }
    prof.eval_s += now() - t;
    return hits.map((h) => h / nTest);
  };
  const addUp = (sum: Record<string, Float64Array>, r: Record<string, ortType.Tensor>) => {
    for (const [k, v] of Object.entries(r)) {
      if (k === 'last_h') continue;
      const d = v.data as Float32Array;
      const acc = (sum[k] ??= new Float64Array(d.length));
      for (let j = 0; j < d.length; j++) acc[j] += d[j]!;
    }
  };
  // The teacher's side of its last-layer CKA, per chunk (its activations) and summed (its Gram
  // and column sums): computed once, when the student's CKA is taken each of several epochs.
  let reference: { slab: Slab; hidden: ortType.Tensor[]; sum: Record<string, Float64Array> } | undefined;
  const referenceOf = async (b: Slab) => {
    if (reference?.slab === b) return reference;
    const hidden: ortType.Tensor[] = [], sum: Record<string, Float64Array> = {};
    const s = await session(`cka-ref:${dimKey}`, { ...sc, threads: Math.min(sc.threads, b.n) }, () => ckaReferenceGraph(dims));
    const pb = b.tensors('b_', 'param');
    for (const c of chunks) {
      const r = await s.run({ X: c.X, ones_m: ones(c.m), ...pb });
      hidden.push(r.last_h!);
      addUp(sum, r);
      releaseOutputs(); // the Gram outputs (the activations kept are still referenced)
    }
    return (reference = { slab: b, hidden, sum });
  };
  // CKA statistics per slab size (threads ≤ models, as above). With its arena (one 500-image
  // chunk's activations stay resident: +25 MB peak RSS on the baseline) it spends a third less
  // time than faulting in fresh memory for every chunk.
  const ckaSession = (n: number) => session(`cka:${dimKey}`, { ...sc, threads: Math.min(sc.threads, n) }, () => ckaStatsGraph(dims));
  /** Linear CKA of a against b: both hidden layers, or (`lastOnly`) the last against b's cached side. */
  const cka = async (a: Slab, b: Slab, lastOnly = false): Promise<{ last: Float64Array; first: Float64Array }> => {
    const t = now();
    const pa = a.tensors('a_', 'param');
    const sum: Record<string, Float64Array> = {};
    if (lastOnly) {
      const ref = await referenceOf(b);
      Object.assign(sum, ref.sum);
      const s = await session(`cka-against:${dimKey}`, { ...sc, threads: Math.min(sc.threads, a.n) }, () => ckaAgainstGraph(dims));
      for (const [k, c] of chunks.entries()) {
        addUp(sum, await s.run({ X: c.X, ones_m: ones(c.m), b_last: ref.hidden[k]!, ...pa }));
        releaseOutputs();
      }
    } else {
      const pb = b.tensors('b_', 'param');
      const ckaS = await ckaSession(a.n);
      for (const c of chunks) {
        addUp(sum, await ckaS.run({ X: c.X, ones_m: ones(c.m), ...pa, ...pb }));
        releaseOutputs(); // the Gram outputs: ~6 MB a model per chunk
      }
    }
    const out = { last: new Float64Array(a.n), first: new Float64Array(a.n).fill(NaN) };
    for (const layer of lastOnly ? (['last'] as const) : (['first', 'last'] as const)) {
      const H = sum[`${layer}_sa`]!.length / a.n;
      const per = (k: string, i: number, size: number) => sum[`${layer}_${k}`]!.subarray(i * size, (i + 1) * size);
      for (let i = 0; i < a.n; i++) {
        out[layer][i] = ckaFromStats(per('ab', i, H * H), per('aa', i, H * H), per('bb', i, H * H), per('sa', i, H), per('sb', i, H), nTest);
      }
    }
    prof.eval_s += now() - t;
    return out;
  };
  return { accuracy, cka, forget: () => { reference = undefined; } };
}

/** reference_acc: the untrained shared init's accuracy (the stage's, for a stored teacher). */
async function referenceAccuracy(g: Group, ev: Evaluation): Promise<void> {
  const refAcc = await ev.accuracy(g.teacher);
  g.results.forEach((r, i) => {
    const c = g.tc.cached[i];
    if (c) {
      r.metrics.reference_acc = c.referenceAcc;
      for (const [k, v] of Object.entries(c.curves)) r.curves[k] = [...v];
    } else r.metrics.reference_acc = refAcc[i]!;
  });
}

/** The teachers without a stored one: cross-entropy on the digit logits; then teacher_acc, and the stage is given them. */
async function teacherPhase(g: Group, ev: Evaluation): Promise<void> {
  const { cfg, results, N, tc, teacher } = g;
  const t0 = now();
  const NT = tc.toTrain.length;
  if (NT === 0) g.progress({ phase: 'teacher', done: N, total: N, detail: `reused from the teacher stage${tc.note}`, fraction: 0, runs: N });
  const lastTeacherAcc = new Float64Array(N).fill(NaN);
  if (NT > 0 && cfg.epochs_teacher > 0) {
    // Train in place when every seed trains; else on a slab of the trained subset.
    const tParams = NT === N ? teacher : new Slab(g.arena, g.dims, NT);
    if (NT < N) tc.toTrain.forEach((i, k) => tParams.setModel(k, g.inits[i]!));
    const s = g.moments;
    const net = new TrainableNet(tParams, sub(g.grads, g.dims, NT), sub(s.m, g.dims, NT), sub(s.v, g.dims, NT));
    for (let e = 0; e < cfg.epochs_teacher; e++) {
      const lossSum = await teacherEpoch(g, net, e);
      const acc = await ev.accuracy(tParams);
      tc.toTrain.forEach((i, k) => {
        push(results[i]!.curves, 'teacher_loss', lossSum[k]! / g.nTrain);
        push(results[i]!.curves, 'teacher_acc', acc[k]!);
        lastTeacherAcc[i] = acc[k]!;
      });
    }
    if (NT < N) tc.toTrain.forEach((i, k) => teacher.setModel(i, tParams.getModel(k)));
  }
  g.prof.teacher_s += now() - t0;
  // The last epoch's evaluation is the final one (0 epochs: the teacher is the init).
  results.forEach((r, i) => {
    r.metrics.teacher_acc = tc.cached[i]?.teacherAcc ?? (cfg.epochs_teacher > 0 ? lastTeacherAcc[i]! : r.metrics.reference_acc!);
  });
  tc.store((i) => teacher.getModel(i));
}

/** One teacher epoch over the training digits (pixels mapped to [−1, 1] as they are copied); the loss summed per teacher. */
async function teacherEpoch(g: Group, net: TrainableNet, e: number): Promise<Float64Array> {
  const { o, cfg, seeds, ds, nTrain, B, stepsT, prof, tc } = g;
  const toTrain = tc.toTrain, NT = toTrain.length;
  // The trained subset is a group of its own: never more threads than its models (see above).
  const teacherS = await session(`teacher:${g.dimKey}`, { ...g.sc, threads: Math.min(g.sc.threads, NT) }, () => teacherStepGraph(g.dims));
  const trainX = ds.trainX;
  const xBuf = new Float32Array(NT * B * IMAGE_SIZE), yBuf = new Float32Array(NT * B * DIGITS);
  const pFeeds = net.params.tensors('t_', 'param'), gFetch = net.grads.tensors('t_', 'grad');
  const lossSum = new Float64Array(NT);
  const perms = toTrain.map((i) => Rng.of(seeds[i]!, 'shuffle-teacher', e).permutation(nTrain));
  for (let st = 0; st < stepsT; st++) {
    cancelled(g);
    const lo = st * B, bs = Math.min(B, nTrain - lo);
    let t = now();
    yBuf.fill(0, 0, NT * bs * DIGITS);
    for (let k = 0; k < NT; k++) {
      for (let r = 0; r < bs; r++) {
        const j = perms[k]![lo + r]!;
        const src = j * IMAGE_SIZE, dst = (k * bs + r) * IMAGE_SIZE;
        for (let q = 0; q < IMAGE_SIZE; q++) xBuf[dst + q] = trainX[src + q]! * 2 - 1;
        yBuf[(k * bs + r) * DIGITS + ds.trainY[j]!] = 1;
      }
    }
    prof.fill_s += now() - t;
    t = now();
    const out = await teacherS.run(
      {
        X: new o.Tensor('float32', xBuf.subarray(0, NT * bs * IMAGE_SIZE), [NT, bs, IMAGE_SIZE]),
        Y: new o.Tensor('float32', yBuf.subarray(0, NT * bs * DIGITS), [NT, bs, DIGITS]),
        scale: new o.Tensor('float32', Float32Array.of(1 / bs), [1]),
        [ONES_B]: g.ones(bs),
        ...pFeeds,
      },
      { ...gFetch, loss: null } as unknown as Feeds,
    );
    prof.run_s += now() - t;
    t = now();
    net.step(cfg.lr, cfg.weight_decay);
    prof.adam_s += now() - t;
    const l = out.loss!.data as Float32Array;
    for (let k = 0; k < NT; k++) lossSum[k] += l[k]! * bs;
    releaseOutputs();
    prof.steps.teacher++;
    g.progress({
      phase: 'teacher', done: e * stepsT + st + 1, total: cfg.epochs_teacher * stepsT, detail: `epoch ${e + 1}/${cfg.epochs_teacher}${tc.note}`,
      fraction: fraction(g, NT * (e * nTrain + lo + bs), 0), runs: g.N,
    });
  }
  return lossSum;
}

/** An evaluation of the arms: their accuracies, and the student's CKA when asked for. */
interface ArmEvaluation {
  accs: Partial<Record<Arm, Float64Array>>;
  kS?: { last: Float64Array; first: Float64Array };
}

/** What the distillation epochs share: the arms' feeds, the inputs, the teacher's stored logits. */
interface Distill {
  X?: ortType.Tensor;
  xBuf: Float32Array;
  tFeeds: Feeds;
  armFeeds: Partial<Record<Arm, Feeds>>;
  gFetch: Feeds;
  armS: { aux?: Session; all?: Session };
  /** The teacher's forward pass over the group's inputs. */
  logitsS: Session;
  logitStore?: Float32Array;
  tBuf?: Float32Array;
  lossSum: Partial<Record<Arm, Float64Array>>;
  dynamics: (i: number) => Record<string, number>;
  /** With several epochs the epochs before the last take the CKA's last layer only, against the teacher's cached side. */
  cachedTeacherSide: boolean;
}

/** The arms asked for, from fresh Adam on the same inputs and teacher targets; the last epoch's evaluation. */
async function distillPhase(g: Group, ev: Evaluation): Promise<ArmEvaluation> {
  const { cfg, seeds, N, arms, want, noiseSize } = g;
  const t0 = now();
  for (const a of want.arms) arms[a]!.resetOptimiser();
  seeds.forEach((seed, i) => {
    const noisy = withNoise(g.inits[i]!, cfg.init_noise, seed);
    const other = initParams(controlSeed(seed), g.dims);
    for (const a of want.arms) arms[a]!.params.setModel(i, a.startsWith('cross') ? other : noisy);
  });
  const teacherW = seeds.map((_, i) => g.teacher.weightViews(i));
  const lossKey = `${g.dimKey}:${cfg.loss}:${cfg.temperature}:${cfg.aux_logits}`;
  const armS: Distill['armS'] = {};
  const ts = now();
  for (const v of ['aux', 'all'] as const) {
    if (DISTILL_ARMS.some((a) => a.all === (v === 'all') && want.arms.includes(a.arm))) armS[v] = await session(`arm-${v}:${lossKey}`, g.sc, () => armStepGraph(g.dims, cfg, v === 'all'));
  }
  const logitsS = await logitsSession(g, N);
  g.prof.session_s += now() - ts;
  // The teacher is fixed while the students learn, so with more than one epoch over the same
  // inputs its logits are computed once per (model, input) and reused (the same floats: a row of
  // a product does not depend on the rows beside it; tested).
  const reuseLogits = cfg.epochs_distill > 1 && g.opts.reuseTeacherLogits !== false;
  const d: Distill = {
    xBuf: g.arena.floatsView(N * g.BD * IMAGE_SIZE),
    tFeeds: g.teacher.tensors('t_', 'param'),
    armFeeds: Object.fromEntries(want.arms.map((a) => [a, arms[a]!.params.tensors(ARM_PREFIX, 'param')])),
    gFetch: { ...g.grads.tensors(ARM_PREFIX, 'grad'), loss: null } as unknown as Feeds,
    armS,
    logitsS,
    ...(reuseLogits ? { logitStore: new Float32Array(N * noiseSize * g.C), tBuf: new Float32Array(N * g.BD * g.C) } : {}),
    lossSum: Object.fromEntries(want.arms.map((a) => [a, new Float64Array(N)])),
    dynamics: (i) => dynamicsMetrics(arms.student!.params.weightViews(i), g.inits[i]!.W, teacherW[i]!),
    // The last epoch's evaluation (the final metrics) takes both layers as one run always has,
    // so its numbers are the same with or without the curves.
    cachedTeacherSide: cfg.epochs_distill > 1,
  };
  const plan: NoisePlan = { kind: cfg.distill_data, seeds: [...seeds], noiseSize, batch: g.BD, epochs: cfg.epochs_distill };
  const source = usePrefetch(g.opts.prefetch, plan) ? prefetchSource(plan) : inlineSource(plan, g.pool, g.arena);
  let last: ArmEvaluation | undefined;
  try {
    for (let e = 0; e < cfg.epochs_distill; e++) {
      for (const a of want.arms) d.lossSum[a]!.fill(0);
      const perms = reuseLogits ? shuffles(plan, e) : [];
      for (let st = 0; st < g.stepsD; st++) await distillStep(g, d, source, perms, e, st);
      const final = e === cfg.epochs_distill - 1;
      // Without curves only the last epoch is evaluated (its numbers do not depend on the others').
      if (final || want.curves) last = await evaluateArms(g, ev, d, final);
      if (want.curves) pushCurves(g, d, last!);
    }
  } finally {
    source.close();
  }
  g.prof.distill_s += now() - t0;
  return last ?? (await evaluateArms(g, ev, d, true));
}

/** One distillation step: the teacher's targets (computed, or read back from the first epoch's), then each arm's step. */
async function distillStep(g: Group, d: Distill, source: { next(out: Float32Array): void }, perms: Int32Array[], e: number, st: number): Promise<void> {
  const { o, cfg, N, C, BD, noiseSize, prof } = g;
  cancelled(g);
  const lo = st * BD, bs = Math.min(BD, noiseSize - lo);
  let t = now();
  source.next(d.xBuf.subarray(0, N * bs * IMAGE_SIZE));
  prof.fill_s += now() - t;
  // Reduction: KL per-example mean (or published batchmean: ÷ models); MSE ÷ (B · logits).
  const klScale = cfg.kl_reduction === 'published_batchmean' ? 1 / cfg.models : 1 / bs;
  const scaleAux = cfg.loss === 'kl' ? klScale : 1 / (bs * cfg.aux_logits);
  const scaleAll = cfg.loss === 'kl' ? klScale : 1 / (bs * C);
  t = now();
  const X = new o.Tensor('float32', d.xBuf.subarray(0, N * bs * IMAGE_SIZE), [N, bs, IMAGE_SIZE]);
  let T: ortType.Tensor;
  if (e > 0 && d.logitStore && d.tBuf) {
    for (let i = 0; i < N; i++) {
      for (let r = 0; r < bs; r++) {
        const j = perms[i]![lo + r]!;
        d.tBuf.set(d.logitStore.subarray((i * noiseSize + j) * C, (i * noiseSize + j + 1) * C), (i * bs + r) * C);
      }
    }
    T = new o.Tensor('float32', d.tBuf.subarray(0, N * bs * C), [N, bs, C]);
  } else {
    T = (await d.logitsS.run({ X, ...d.tFeeds })).logits!;
    prof.run_s += now() - t;
    if (d.logitStore) {
      const data = T.data as Float32Array;
      for (let i = 0; i < N; i++) {
        for (let r = 0; r < bs; r++) d.logitStore.set(data.subarray((i * bs + r) * C, (i * bs + r + 1) * C), (i * noiseSize + perms[i]![lo + r]!) * C);
      }
    }
  }
  const scales = {
    aux: new o.Tensor('float32', Float32Array.of(scaleAux), [1]),
    all: new o.Tensor('float32', Float32Array.of(scaleAll), [1]),
  };
  for (const a of DISTILL_ARMS) {
    const net = g.arms[a.arm];
    if (!net) continue;
    const v = a.all ? 'all' : 'aux';
    t = now();
    const out = await d.armS[v]!.run({ X, T, scale: scales[v], [ONES_B]: g.ones(bs), ...d.armFeeds[a.arm] }, d.gFetch);
    prof.run_s += now() - t;
    t = now();
    net.step(cfg.lr, cfg.weight_decay);
    prof.adam_s += now() - t;
    const l = out.loss!.data as Float32Array;
    for (let i = 0; i < N; i++) d.lossSum[a.arm]![i] += l[i]! * bs;
    releaseOutputs();
  }
  prof.steps.distill++;
  g.progress({
    phase: 'distill', done: e * g.stepsD + st + 1, total: cfg.epochs_distill * g.stepsD, detail: `epoch ${e + 1}/${cfg.epochs_distill}${g.tc.note}`,
    fraction: fraction(g, g.tc.toTrain.length * g.nTrain * cfg.epochs_teacher, N * (e * noiseSize + lo + bs)), runs: N,
  });
}

async function evaluateArms(g: Group, ev: Evaluation, d: Distill, final: boolean): Promise<ArmEvaluation> {
  const accs: ArmEvaluation['accs'] = {};
  for (const a of g.want.arms) accs[a] = await ev.accuracy(g.arms[a]!.params);
  // The student's CKA: for the final metrics, and each epoch for the curves.
  if (!g.want.cka) return { accs };
  return { accs, kS: await ev.cka(g.arms.student!.params, g.teacher, d.cachedTeacherSide && !final) };
}

/** One epoch's point on each curve of the arms computed. */
function pushCurves(g: Group, d: Distill, ev: ArmEvaluation): void {
  g.results.forEach((r, i) => {
    for (const a of g.want.arms) {
      push(r.curves, `${a}_loss`, d.lossSum[a]![i]! / g.noiseSize);
      push(r.curves, `${a}_acc`, ev.accs[a]![i]!);
    }
    if (g.arms.student) {
      const dyn = d.dynamics(i);
      push(r.curves, 'student_drift', dyn.student_drift!);
      push(r.curves, 'update_cosine', dyn.update_cosine!);
    }
    if (ev.kS) push(r.curves, 'hidden_cka', ev.kS.last[i]!);
  });
}

/** The final metrics of the arms and evaluations asked for. */
async function finalMetrics(g: Group, ev: Evaluation, last: ArmEvaluation | undefined): Promise<void> {
  const kC = g.want.crossCka ? await ev.cka(g.arms.cross!.params, g.teacher, g.cfg.epochs_distill > 1) : undefined;
  ev.forget();
  const teacherW = g.seeds.map((_, i) => g.teacher.weightViews(i));
  g.results.forEach((r, i) => {
    for (const a of g.want.arms) r.metrics[ARM_METRIC[a]] = last!.accs[a]![i]!;
    if (g.arms.student) Object.assign(r.metrics, dynamicsMetrics(g.arms.student.params.weightViews(i), g.inits[i]!.W, teacherW[i]!));
    if (last?.kS) {
      r.metrics.hidden_cka = last.kS.last[i]!;
      r.metrics.hidden_cka_l1 = last.kS.first[i]!;
    }
    if (kC) r.metrics.cross_model_cka = kC.last[i]!;
  });
}

/** The first n models' worth of a slab (same layout for n ≤ its size), as its own slab view. */
function sub(s: Slab, dims: number[], n: number): Slab {
  return n === s.n ? s : Slab.view(s, dims, n);
}
