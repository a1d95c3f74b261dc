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
  ARMS, ARM_METRIC, controlSeed, dynamicsMetrics, groupSetup, initParams, push, withNoise,
  type Arm, type GroupOptions, type ModelResult, type Progress,
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

export async function trainGroupOnnx(
  cfg: MlpDistillParams, seeds: readonly number[], opts: OnnxOptions, progress: Progress = () => {}, profile?: EngineProfile,
): Promise<ModelResult[]> {
  const o = ort();
  const prof: EngineProfile = profile ?? { teacher_s: 0, distill_s: 0, eval_s: 0, session_s: 0, fill_s: 0, run_s: 0, adam_s: 0, steps: { teacher: 0, distill: 0 } };
  const now = () => performance.now() / 1000;
  const cancelled = () => {
    if (opts.signal?.aborted) throw new Error('mlp_distill: cancelled');
  };
  const { ds, dims, nTrain, nTest, noiseSize, pool, B, BD, stepsT, stepsD } = groupSetup(cfg, opts);
  const C = dims[dims.length - 1]!;
  const N = seeds.length;
  const results: ModelResult[] = seeds.map((seed) => ({ seed, metrics: {}, curves: {} }));

  let t0 = now();
  // MLAS runs the GEMMs of a batched product one thread each when there are at least as many
  // models as threads, and splits a GEMM over threads otherwise, which changes the last bits.
  // So a group never uses more threads than models: a seed's numbers are then the same in any
  // group and at any thread count (tested).
  const sc: SessionConfig = { device: opts.device, threads: Math.min(opts.threads, N) };
  const dimKey = dims.join('x');
  // A net's forward pass (threads ≤ its models, as above): the teacher's targets in distillation,
  // and any net's test-set logits in evaluation, so evaluation reuses this session's arena (a
  // session without one faults in fresh memory for every activation, every run).
  const logitsSession = (n: number) => session(`logits:${dimKey}`, { ...sc, threads: Math.min(sc.threads, n) }, () => logitsGraph(dims));
  const logitsS = await logitsSession(N);
  const lossKey = `${dimKey}:${cfg.loss}:${cfg.temperature}:${cfg.aux_logits}`;
  const armS = {
    aux: await session(`arm-aux:${lossKey}`, sc, () => armStepGraph(dims, cfg, false)),
    all: await session(`arm-all:${lossKey}`, sc, () => armStepGraph(dims, cfg, true)),
  };
  // CKA statistics per slab size (threads ≤ models, as above). With its arena (one 500-image
  // chunk's activations stay resident: +25 MB peak RSS on the baseline) it spends a third less
  // time than faulting in fresh memory for every chunk.
  const ckaSession = (n: number) => session(`cka:${dimKey}`, { ...sc, threads: Math.min(sc.threads, n) }, () => ckaStatsGraph(dims));
  prof.session_s += now() - t0;

  // Test set, shared by all models (broadcast over N inside the graphs), in chunks.
  const testX = new Float32Array(nTest * IMAGE_SIZE);
  for (let k = 0; k < testX.length; k++) testX[k] = ds.testX[k]! * 2 - 1;
  const chunksOf = (size: number) => {
    const out: { X: ortType.Tensor; labels: Uint8Array; m: number }[] = [];
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
  const accuracy = async (s: Slab): Promise<Float64Array> => {
    const t = now();
    const hits = new Float64Array(s.n);
    const p = s.tensors('t_', 'param');
    const ls = await logitsSession(s.n);
    for (const c of accChunks) {
      const out = (await ls.run({ X: c.X, ...p })).logits!.data as Float32Array;
      const m = c.labels.length;
      // argmax over the digit logits, first index on ties (as ONNX ArgMax)
      for (let i = 0; i < s.n; i++) {
        for (let r = 0; r < m; r++) {
          const o0 = (i * m + r) * C;
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

  // One arena for the group: teacher params, four arms × (params, m, v) and one gradient slab
  // (the arms step one after another). The teacher's own optimiser state (teacher phase only)
  // reuses the gradient slab and the student arm's moments.
  const S = slabFloats(dims, N);
  const inits = seeds.map((s) => initParams(s, dims));
  const tc = groupTeachers(opts, results);
  const toTrain = tc.toTrain;
  // ... and the distillation inputs, in the arena so the uniform-noise kernel writes them in place.
  const arena = new Arena(S * (2 + 4 * 3) + (toTrain.length < N ? slabFloats(dims, toTrain.length) : 0) + N * BD * IMAGE_SIZE + 64);
  const teacher = new Slab(arena, dims, N);
  seeds.forEach((_, i) => teacher.setModel(i, tc.cached[i] ?? inits[i]!));
  const grads = new Slab(arena, dims, N);
  const arms = {} as Record<Arm, TrainableNet>;
  for (const a of ARMS) arms[a] = TrainableNet.alloc(arena, dims, N, grads);

  const refAcc = await accuracy(teacher);
  results.forEach((r, i) => {
    const c = tc.cached[i];
    if (c) {
      r.metrics.reference_acc = c.referenceAcc;
      for (const [k, v] of Object.entries(c.curves)) r.curves[k] = [...v];
    } else r.metrics.reference_acc = refAcc[i]!;
  });

  // ---- teacher: cross-entropy on the digit logits only (the seeds without a cached teacher) ----
  t0 = now();
  const NT = toTrain.length;
  // Progress as a fraction of the group's work (FLOPs: a teacher example is one forward and
  // backward, a distillation example the teacher's forward and four arms'), so an ETA holds
  // from the first steps.
  let fwd = 0;
  for (let l = 0; l + 1 < dims.length; l++) fwd += dims[l]! * dims[l + 1]!;
  const workT = NT * nTrain * cfg.epochs_teacher * 3 * fwd, workD = N * noiseSize * cfg.epochs_distill * 13 * fwd;
  const fraction = (teacherRows: number, distillRows: number) =>
    (teacherRows * 3 * fwd + distillRows * 13 * fwd) / Math.max(1, workT + workD);
  if (NT === 0) progress({ phase: 'teacher', done: N, total: N, detail: `reused from the teacher stage${tc.note}`, fraction: 0, runs: N });
  const lastTeacherAcc = new Float64Array(N).fill(NaN);
  if (NT > 0 && cfg.epochs_teacher > 0) {
    // Train in place when every seed trains; else on a slab of the trained subset.
    const tParams = NT === N ? teacher : new Slab(arena, dims, NT);
    if (NT < N) toTrain.forEach((i, k) => tParams.setModel(k, inits[i]!));
    const s = arms.student;
    const net = new TrainableNet(tParams, sub(grads, dims, NT), sub(s.m, dims, NT), sub(s.v, dims, NT));
    // The trained subset is a group of its own: never more threads than its models (see above).
    const teacherS = await session(`teacher:${dimKey}`, { ...sc, threads: Math.min(sc.threads, NT) }, () => teacherStepGraph(dims));
    // Pixels are mapped to [−1, 1] as they are copied (no scaled copy of the training set per worker).
    const trainX = ds.trainX;
    const xBuf = new Float32Array(NT * B * IMAGE_SIZE), yBuf = new Float32Array(NT * B * DIGITS);
    const pFeeds = tParams.tensors('t_', 'param'), gFetch = net.grads.tensors('t_', 'grad');
    const lossSum = new Float64Array(NT);
    for (let e = 0; e < cfg.epochs_teacher; e++) {
      const perms = toTrain.map((i) => Rng.of(seeds[i]!, 'shuffle-teacher', e).permutation(nTrain));
      lossSum.fill(0);
      for (let st = 0; st < stepsT; st++) {
        cancelled();
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
            [ONES_B]: ones(bs),
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
        progress({
          phase: 'teacher', done: e * stepsT + st + 1, total: cfg.epochs_teacher * stepsT, detail: `epoch ${e + 1}/${cfg.epochs_teacher}${tc.note}`,
          fraction: fraction(NT * (e * nTrain + lo + bs), 0), runs: N,
        });
      }
      const acc = await accuracy(tParams);
      toTrain.forEach((i, k) => {
        push(results[i]!.curves, 'teacher_loss', lossSum[k]! / nTrain);
        push(results[i]!.curves, 'teacher_acc', acc[k]!);
        lastTeacherAcc[i] = acc[k]!;
      });
    }
    if (NT < N) toTrain.forEach((i, k) => teacher.setModel(i, tParams.getModel(k)));
  }
  prof.teacher_s += now() - t0;
  // The last epoch's evaluation is the final one (0 epochs: the teacher is the init).
  results.forEach((r, i) => {
    r.metrics.teacher_acc = tc.cached[i]?.teacherAcc ?? (cfg.epochs_teacher > 0 ? lastTeacherAcc[i]! : r.metrics.reference_acc!);
  });
  tc.store((i) => teacher.getModel(i));

  // ---- students: four arms per model, fresh Adam, same inputs and teacher targets ----
  t0 = now();
  for (const a of ARMS) arms[a].resetOptimiser();
  seeds.forEach((seed, i) => {
    const noisy = withNoise(inits[i]!, cfg.init_noise, seed);
    const other = initParams(controlSeed(seed), dims);
    for (const a of ARMS) arms[a].params.setModel(i, a.startsWith('cross') ? other : noisy);
  });
  const teacherW = seeds.map((_, i) => teacher.weightViews(i));
  const dynamics = (i: number) => dynamicsMetrics(arms.student.params.weightViews(i), inits[i]!.W, teacherW[i]!);
  const xBuf = arena.floatsView(N * BD * IMAGE_SIZE);
  const tFeeds: Feeds = teacher.tensors('t_', 'param');
  const armFeeds = Object.fromEntries(ARMS.map((a) => [a, arms[a].params.tensors(ARM_PREFIX, 'param')])) as Record<Arm, Feeds>;
  const gFetch = { ...grads.tensors(ARM_PREFIX, 'grad'), loss: null } as unknown as Feeds;
  // The teacher is fixed while the students learn, so with more than one epoch over the same
  // inputs its logits are computed once per (model, input) and reused (the same floats: a row of
  // a product does not depend on the rows beside it; tested).
  const reuseLogits = cfg.epochs_distill > 1 && opts.reuseTeacherLogits !== false;
  const logitStore = reuseLogits ? new Float32Array(N * noiseSize * C) : undefined;
  const tBuf = reuseLogits ? new Float32Array(N * BD * C) : undefined;
  let perms: Int32Array[] = [];
  const lossSum = Object.fromEntries(ARMS.map((a) => [a, new Float64Array(N)])) as Record<Arm, Float64Array>;
  // With several distillation epochs the teacher's side of the CKA is computed once and the
  // epochs before the last take the last layer only (their curve); the last epoch's evaluation
  // (the final metrics) takes both layers as one run always has, so its numbers are unchanged.
  const cachedTeacherSide = cfg.epochs_distill > 1;
  const evalArms = async (final: boolean) => {
    const accs = {} as Record<Arm, Float64Array>;
    for (const a of ARMS) accs[a] = await accuracy(arms[a].params);
    return { accs, kS: await cka(arms.student.params, teacher, cachedTeacherSide && !final) };
  };
  let evals: Awaited<ReturnType<typeof evalArms>> | undefined;
  const plan: NoisePlan = { kind: cfg.distill_data, seeds: [...seeds], noiseSize, batch: BD, epochs: cfg.epochs_distill };
  const source = usePrefetch(opts.prefetch, plan) ? prefetchSource(plan) : inlineSource(plan, pool, arena);
  try {
  for (let e = 0; e < cfg.epochs_distill; e++) {
    for (const a of ARMS) lossSum[a].fill(0);
    if (reuseLogits) perms = shuffles(plan, e);
    for (let st = 0; st < stepsD; st++) {
      cancelled();
      const lo = st * BD, bs = Math.min(BD, noiseSize - lo);
      let t = now();
      source.next(xBuf.subarray(0, N * bs * IMAGE_SIZE));
      prof.fill_s += now() - t;
      // Reduction: KL per-example mean (or published batchmean: ÷ models); MSE ÷ (B · logits).
      const klScale = cfg.kl_reduction === 'published_batchmean' ? 1 / cfg.models : 1 / bs;
      const scaleAux = cfg.loss === 'kl' ? klScale : 1 / (bs * cfg.aux_logits);
      const scaleAll = cfg.loss === 'kl' ? klScale : 1 / (bs * C);
      t = now();
      const X = new o.Tensor('float32', xBuf.subarray(0, N * bs * IMAGE_SIZE), [N, bs, IMAGE_SIZE]);
      let T: ortType.Tensor;
      if (e > 0 && logitStore && tBuf) {
        for (let i = 0; i < N; i++) {
          for (let r = 0; r < bs; r++) {
            const j = perms[i]![lo + r]!;
            tBuf.set(logitStore.subarray((i * noiseSize + j) * C, (i * noiseSize + j + 1) * C), (i * bs + r) * C);
          }
        }
        T = new o.Tensor('float32', tBuf.subarray(0, N * bs * C), [N, bs, C]);
      } else {
        T = (await logitsS.run({ X, ...tFeeds })).logits!;
        prof.run_s += now() - t;
        if (logitStore) {
          const d = T.data as Float32Array;
          for (let i = 0; i < N; i++) {
            for (let r = 0; r < bs; r++) logitStore.set(d.subarray((i * bs + r) * C, (i * bs + r + 1) * C), (i * noiseSize + perms[i]![lo + r]!) * C);
          }
        }
      }
      const scales = {
        aux: new o.Tensor('float32', Float32Array.of(scaleAux), [1]),
        all: new o.Tensor('float32', Float32Array.of(scaleAll), [1]),
      };
      for (const a of DISTILL_ARMS) {
        const v = a.all ? 'all' : 'aux';
        t = now();
        const out = await armS[v].run({ X, T, scale: scales[v], [ONES_B]: ones(bs), ...armFeeds[a.arm] }, gFetch);
        prof.run_s += now() - t;
        t = now();
        arms[a.arm].step(cfg.lr, cfg.weight_decay);
        prof.adam_s += now() - t;
        const l = out.loss!.data as Float32Array;
        for (let i = 0; i < N; i++) lossSum[a.arm][i] += l[i]! * bs;
        releaseOutputs();
      }
      prof.steps.distill++;
      progress({
        phase: 'distill', done: e * stepsD + st + 1, total: cfg.epochs_distill * stepsD, detail: `epoch ${e + 1}/${cfg.epochs_distill}${tc.note}`,
        fraction: fraction(NT * nTrain * cfg.epochs_teacher, N * (e * noiseSize + lo + bs)), runs: N,
      });
    }
    evals = await evalArms(e === cfg.epochs_distill - 1);
    const { accs, kS } = evals;
    results.forEach((r, i) => {
      for (const a of ARMS) {
        push(r.curves, `${a}_loss`, lossSum[a][i]! / noiseSize);
        push(r.curves, `${a}_acc`, accs[a][i]!);
      }
      const dyn = dynamics(i);
      push(r.curves, 'student_drift', dyn.student_drift!);
      push(r.curves, 'update_cosine', dyn.update_cosine!);
      push(r.curves, 'hidden_cka', kS.last[i]!);
    });
  }
  } finally {
    source.close();
  }
  prof.distill_s += now() - t0;

  // The last epoch's evaluation is the final one.
  const { accs, kS } = evals ?? (await evalArms(true));
  const kC = await cka(arms.cross.params, teacher, cachedTeacherSide);
  reference = undefined;
  results.forEach((r, i) => {
    for (const a of ARMS) r.metrics[ARM_METRIC[a]] = accs[a][i]!;
    Object.assign(r.metrics, dynamics(i));
    r.metrics.hidden_cka = kS.last[i]!;
    r.metrics.hidden_cka_l1 = kS.first[i]!;
    r.metrics.cross_model_cka = kC.last[i]!;
  });
  return results;
}

/** The first n models' worth of a slab (same layout for n ≤ its size), as its own slab view. */
function sub(s: Slab, dims: number[], n: number): Slab {
  return n === s.n ? s : Slab.view(s, dims, n);
}
