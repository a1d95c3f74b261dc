// The batched engine: N independent MLP teacher–student pairs, trained step by step with
// hand-written backprop and Adam. Why by hand: in the wasm backend only plain (non-transposed)
// 2-D matMul is fast (≈20 GFLOP/s per core here); 3-D batched matMul and matMul with a
// transpose flag run 10–40x slower (bench/README.md). So every product is a plain 2-D matMul of
// one model's batch, transposes are explicit Transpose kernels, and autodiff (which emits
// transposed matMuls) is avoided. All randomness is JS-side and keyed by (seed, stream), so a
// model's numbers do not depend on which worker or group trains it.
import type * as tfType from '@tensorflow/tfjs-core';
import { fillDistillRows } from '../../data/random.ts';
import { Rng } from '../../util/random.ts';
import { IMAGE_SIZE } from '../../data/mnist.ts';
import {
  ARMS, ARM_METRIC, B1, B2, EPS, controlSeed, dynamicsMetrics, groupSetup, initParams, push, wantedOf, withNoise,
  type Arm, type GroupOptions, type ModelResult, type Progress, type Wanted,
} from './model.ts';
import type { MlpDistillParams } from './schema.ts';
import { groupTeachers } from './teacher-stage.ts';

type TF = typeof tfType;
type T2 = tfType.Tensor2D;


interface Net {
  W: tfType.Variable[];
  b: tfType.Variable[];
  mW: tfType.Variable[]; vW: tfType.Variable[];
  mb: tfType.Variable[]; vb: tfType.Variable[];
  t: number;
}

/** A variable that owns its data: tf.variable keeps the initial tensor alive unless disposed. */
function own(tf: TF, t: tfType.Tensor): tfType.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function makeNet(tf: TF, dims: number[], p: { W: Float32Array[]; b: Float32Array[] }): Net {
  const n: Net = { W: [], b: [], mW: [], vW: [], mb: [], vb: [], t: 0 };
  for (let l = 0; l + 1 < dims.length; l++) {
    const shapeW: [number, number] = [dims[l]!, dims[l + 1]!];
    n.W.push(own(tf, tf.tensor2d(p.W[l]!, shapeW)));
    n.b.push(own(tf, tf.tensor1d(p.b[l]!)));
    n.mW.push(own(tf, tf.zeros(shapeW))); n.vW.push(own(tf, tf.zeros(shapeW)));
    n.mb.push(own(tf, tf.zeros([dims[l + 1]!]))); n.vb.push(own(tf, tf.zeros([dims[l + 1]!])));
  }
  return n;
}

function disposeAdam(n: Net): void {
  for (const v of [...n.mW, ...n.vW, ...n.mb, ...n.vb]) v.dispose();
  n.mW = []; n.vW = []; n.mb = []; n.vb = [];
}
function resetAdam(tf: TF, n: Net): void {
  disposeAdam(n);
  for (let l = 0; l < n.W.length; l++) {
    n.mW.push(own(tf, tf.zerosLike(n.W[l]!))); n.vW.push(own(tf, tf.zerosLike(n.W[l]!)));
    n.mb.push(own(tf, tf.zerosLike(n.b[l]!))); n.vb.push(own(tf, tf.zerosLike(n.b[l]!)));
  }
  n.t = 0;
}
function disposeNet(n: Net): void {
  disposeAdam(n);
  for (const v of [...n.W, ...n.b]) v.dispose();
}

/** Forward pass; returns the activations [X, A1..AL] and the output logits. */
function forward(tf: TF, n: Net, X: T2): { acts: T2[]; out: T2 } {
  const acts: T2[] = [X];
  let a = X;
  for (let l = 0; l < n.W.length; l++) {
    const last = l === n.W.length - 1;
    a = tf.fused.matMul({ a, b: n.W[l] as T2, bias: n.b[l], activation: last ? 'linear' : 'relu' }) as T2;
    if (!last) acts.push(a);
  }
  return { acts, out: a };
}

/** Backprop from dLoss/dOut, then one Adam step (torch semantics, L2 weight decay added to g). */
function backwardAdam(tf: TF, n: Net, acts: T2[], dOut: T2, lr: number, wd: number): void {
  n.t += 1;
  const bc1 = 1 - B1 ** n.t, bc2 = 1 - B2 ** n.t;
  const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
  let dZ = dOut;
  for (let l = n.W.length - 1; l >= 0; l--) {
    const A = acts[l]!;
    let gW = tf.matMul(tf.transpose(A), dZ); // explicit transpose: transposed matMul is slow in wasm
    let gb = tf.sum(dZ, 0);
    if (l > 0) {
      const dA = tf.matMul(dZ, tf.transpose(n.W[l]!)); // uses W before its update
      dZ = tf.mul(dA, tf.step(A));
    }
    if (wd > 0) { gW = tf.add(gW, tf.mul(n.W[l]!, wd)); gb = tf.add(gb, tf.mul(n.b[l]!, wd)); }
    adam(tf, n.W[l]!, n.mW[l]!, n.vW[l]!, gW, stepSize, sqrtBc2);
    adam(tf, n.b[l]!, n.mb[l]!, n.vb[l]!, gb, stepSize, sqrtBc2);
  }
}

function adam(tf: TF, w: tfType.Variable, m: tfType.Variable, v: tfType.Variable, g: tfType.Tensor, stepSize: number, sqrtBc2: number): void {
  m.assign(tf.add(tf.mul(m, B1), tf.mul(g, 1 - B1)));
  v.assign(tf.add(tf.mul(v, B2), tf.mul(tf.square(g), 1 - B2)));
  // torch: p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
  w.assign(tf.sub(w, tf.mul(tf.div(m, tf.add(tf.div(tf.sqrt(v), sqrtBc2), EPS)), stepSize)));
}

/**
 * Distillation loss and its gradient w.r.t. the student's output logits (all 10 + aux columns;
 * zeros where the loss does not look). Reduction per model: mean over the batch (see README).
 */
export function distillLossGrad(
  tf: TF, cfg: Pick<MlpDistillParams, 'loss' | 'kl_reduction' | 'temperature' | 'models'>, sOut: T2, tOut: T2, aux: number, allLogits: boolean,
): { loss: tfType.Scalar; grad: T2 } {
  const B = sOut.shape[0], C = sOut.shape[1];
  const from = allLogits ? 0 : C - aux;
  const s = allLogits ? sOut : tf.slice(sOut, [0, from], [B, aux]);
  const t = allLogits ? tOut : tf.slice(tOut, [0, from], [B, aux]);
  let loss: tfType.Scalar, g: T2;
  if (cfg.loss === 'mse') {
    const K = s.shape[1];
    const d = tf.sub(s, t);
    loss = tf.div(tf.sum(tf.square(d)), B * K);
    g = tf.mul(d, 2 / (B * K));
  } else {
    const T = cfg.temperature;
    // published_batchmean: torch kl_div(reduction="batchmean") on models × batch × logits divides
    // the sum over everything by the number of models only.
    const denom = cfg.kl_reduction === 'published_batchmean' ? cfg.models : B;
    const logp = tf.logSoftmax(tf.div(t, T) as T2);
    const logq = tf.logSoftmax(tf.div(s, T) as T2);
    const p = tf.exp(logp);
    loss = tf.div(tf.sum(tf.mul(p, tf.sub(logp, logq))), denom);
    g = tf.mul(tf.sub(tf.exp(logq), p), 1 / (T * denom));
  }
  const grad = allLogits ? g : (tf.concat([tf.zeros([B, from]), g], 1) as T2);
  return { loss, grad };
}

/** Cross-entropy on the 10 digit logits only; gradient padded with zeros on the aux logits. */
function ceLossGrad(tf: TF, out: T2, yOneHot: T2, aux: number): { loss: tfType.Scalar; grad: T2 } {
  const B = out.shape[0];
  const z = tf.slice(out, [0, 0], [B, 10]);
  const logq = tf.logSoftmax(z);
  const loss = tf.div(tf.neg(tf.sum(tf.mul(yOneHot, logq))), B) as tfType.Scalar;
  const g = tf.div(tf.sub(tf.exp(logq), yOneHot), B) as T2;
  return { loss, grad: tf.concat([g, tf.zeros([B, aux])], 1) as T2 };
}

/** Linear CKA (feature form) of two n × d activation matrices. */
export { linearCkaJs } from './model.ts';

export function linearCka(tf: TF, X: T2, Y: T2): number {
  return tf.tidy(() => {
    const xc = tf.sub(X, tf.mean(X, 0));
    const yc = tf.sub(Y, tf.mean(Y, 0));
    const xt = tf.transpose(xc), yt = tf.transpose(yc);
    const hsic = tf.sum(tf.square(tf.matMul(yt, xc)));
    const nx = tf.sqrt(tf.sum(tf.square(tf.matMul(xt, xc))));
    const ny = tf.sqrt(tf.sum(tf.square(tf.matMul(yt, yc))));
    return tf.div(hsic, tf.mul(nx, ny)).dataSync()[0]!;
  });
}

type Setup = ReturnType<typeof groupSetup>;
/** The arms a group trains (GroupOptions.parts). */
type Arms = Partial<Record<Arm, Net>>;

/** The group's test images on the device and what is measured on them. */
interface TestSet {
  accuracy(n: Net): number;
  /** Linear CKA of two nets' last (or first) hidden activations on the test images. */
  cka(a: Net, b: Net, layer: 'last' | 'first'): number;
  dispose(): void;
}

function testSet(tf: TF, { ds, nTest }: Setup): TestSet {
  const testX = tf.tidy(() => tf.sub(tf.mul(tf.tensor2d(ds.testX.subarray(0, nTest * IMAGE_SIZE), [nTest, IMAGE_SIZE]), 2), 1) as T2);
  const testY = ds.testY.subarray(0, nTest);
  const hidden = (n: Net, layer: 'last' | 'first'): T2 =>
    tf.tidy(() => { const { acts } = forward(tf, n, testX); return layer === 'last' ? acts[acts.length - 1]! : acts[1]!; });
  return {
    accuracy(n) {
      const pred = tf.tidy(() => tf.argMax(tf.slice(forward(tf, n, testX).out, [0, 0], [nTest, 10]), 1).dataSync());
      let c = 0;
      for (let i = 0; i < nTest; i++) if (pred[i] === testY[i]) c++;
      return c / nTest;
    },
    cka(a, b, layer) {
      const x = hidden(a, layer), y = hidden(b, layer);
      const v = linearCka(tf, x, y);
      x.dispose(); y.dispose();
      return v;
    },
    dispose: () => testX.dispose(),
  };
}

/** One teacher epoch of one model: cross-entropy on the digit logits, minibatches in the seed's order. */
function teacherEpoch(tf: TF, cfg: MlpDistillParams, { ds, nTrain, B, stepsT }: Setup, net: Net, seed: number, epoch: number, xBuf: Float32Array, yBuf: Float32Array): number {
  const perm = Rng.of(seed, 'shuffle-teacher', epoch).permutation(nTrain);
  let lossSum = 0;
  for (let s = 0; s < stepsT; s++) {
    const lo = s * B, bs = Math.min(B, nTrain - lo);
    yBuf.fill(0);
    for (let r = 0; r < bs; r++) {
      const j = perm[lo + r]!;
      const src = j * IMAGE_SIZE, dst = r * IMAGE_SIZE;
      for (let k = 0; k < IMAGE_SIZE; k++) xBuf[dst + k] = ds.trainX[src + k]! * 2 - 1;
      yBuf[r * 10 + ds.trainY[j]!] = 1;
    }
    const loss = tf.tidy(() => {
      const X = tf.tensor2d(xBuf.subarray(0, bs * IMAGE_SIZE), [bs, IMAGE_SIZE]);
      const Y = tf.tensor2d(yBuf.subarray(0, bs * 10), [bs, 10]);
      const { acts, out } = forward(tf, net, X);
      const { loss, grad } = ceLossGrad(tf, out, Y, cfg.aux_logits);
      backwardAdam(tf, net, acts, grad, cfg.lr, cfg.weight_decay);
      return loss;
    });
    lossSum += loss.dataSync()[0]! * bs;
    loss.dispose();
  }
  return lossSum / nTrain;
}

/** One distillation epoch of one model's four arms: same inputs and teacher targets, each its own loss. */
function distillEpoch(tf: TF, cfg: MlpDistillParams, { noiseSize, pool, BD, stepsD }: Setup, teacher: Net, arms: Arms, seed: number, epoch: number, xBuf: Float32Array): Partial<Record<Arm, number>> {
  const perm = Rng.of(seed, 'shuffle-distill', epoch).permutation(noiseSize);
  const trained = ARMS.filter((a) => arms[a]);
  const lossSum: Partial<Record<Arm, number>> = Object.fromEntries(trained.map((a) => [a, 0]));
  for (let s = 0; s < stepsD; s++) {
    const lo = s * BD, bs = Math.min(BD, noiseSize - lo);
    fillDistillRows(xBuf, cfg.distill_data, seed, perm.subarray(lo, lo + bs), pool);
    const losses = tf.tidy(() => {
      const X = tf.tensor2d(xBuf.subarray(0, bs * IMAGE_SIZE), [bs, IMAGE_SIZE]);
      const tOut = forward(tf, teacher, X).out;
      return trained.map((a) => {
        const net = arms[a]!;
        const { acts, out } = forward(tf, net, X);
        const { loss, grad } = distillLossGrad(tf, cfg, out, tOut, cfg.aux_logits, a.endsWith('_all'));
        backwardAdam(tf, net, acts, grad, cfg.lr, cfg.weight_decay);
        return loss;
      });
    });
    const vals = tf.tidy(() => tf.stack(losses).dataSync());
    trained.forEach((a, k) => { lossSum[a]! += vals[k]! * bs; });
    tf.dispose(losses);
  }
  for (const a of trained) lossSum[a]! /= noiseSize;
  return lossSum;
}

/** One distillation epoch's point on each curve of the arms trained. */
function epochCurves(r: ModelResult, arms: Arms, losses: Partial<Record<Arm, number>>, dynamics: () => Record<string, number>, test: TestSet, teacher: Net, want: Wanted): void {
  for (const a of want.arms) {
    push(r.curves, `${a}_loss`, losses[a]!);
    push(r.curves, `${a}_acc`, test.accuracy(arms[a]!));
  }
  if (arms.student) {
    const dyn = dynamics();
    push(r.curves, 'student_drift', dyn.student_drift!);
    push(r.curves, 'update_cosine', dyn.update_cosine!);
  }
  if (want.cka) push(r.curves, 'hidden_cka', test.cka(arms.student!, teacher, 'last'));
}

/**
 * Train the pairs for `seeds`, one model per seed, side by side: teachers (from the teacher stage
 * where given, else trained), then four student arms per model distilled from them, then
 * the final metrics.
 */
export function trainGroup(tf: TF, cfg: MlpDistillParams, seeds: readonly number[], opts: GroupOptions = {}, progress: Progress = () => {}): ModelResult[] {
  const setup = groupSetup(cfg, opts);
  const { dims, B, BD } = setup;
  const results: ModelResult[] = seeds.map((seed) => ({ seed, metrics: {}, curves: {} }));
  const test = testSet(tf, setup);
  const inits = seeds.map((s) => initParams(s, dims));

  // ---- teachers: the stage's stored ones, the others trained with cross-entropy on the digit logits ----
  const tc = groupTeachers(opts, results);
  const { cached, toTrain, note } = tc;
  const teachers = inits.map((p, i) => makeNet(tf, dims, cached[i] ?? p));
  results.forEach((r, i) => {
    const c = cached[i];
    if (c) {
      r.metrics.reference_acc = c.referenceAcc;
      for (const [k, v] of Object.entries(c.curves)) r.curves[k] = [...v];
    } else r.metrics.reference_acc = test.accuracy(teachers[i]!);
  });
  const xBuf = new Float32Array(Math.max(B, BD) * IMAGE_SIZE);
  const yBuf = new Float32Array(B * 10);
  const totalT = cfg.epochs_teacher * toTrain.length;
  if (toTrain.length === 0) progress({ phase: 'teacher', done: seeds.length, total: seeds.length, detail: `reused from the teacher stage${note}` });
  for (let e = 0; e < cfg.epochs_teacher; e++) {
    for (const [ti, i] of toTrain.entries()) {
      push(results[i]!.curves, 'teacher_loss', teacherEpoch(tf, cfg, setup, teachers[i]!, seeds[i]!, e, xBuf, yBuf));
      push(results[i]!.curves, 'teacher_acc', test.accuracy(teachers[i]!));
      progress({ phase: 'teacher', done: e * toTrain.length + ti + 1, total: totalT, detail: `epoch ${e + 1}/${cfg.epochs_teacher}${note}` });
    }
  }
  teachers.forEach((t) => disposeAdam(t));
  results.forEach((r, i) => { r.metrics.teacher_acc = cached[i]?.teacherAcc ?? test.accuracy(teachers[i]!); });
  tc.store((i) => ({ W: teachers[i]!.W.map((w) => w.dataSync() as Float32Array), b: teachers[i]!.b.map((b) => b.dataSync() as Float32Array) }));
  const teacherW = teachers.map((t) => t.W.map((w) => w.dataSync() as Float32Array));

  // ---- students: the arms asked for, fresh Adam, same inputs and teacher targets ----
  const want = wantedOf(opts.parts);
  const students = seeds.map((seed, i): Arms => {
    const noisy = withNoise(inits[i]!, cfg.init_noise, seed);
    const other = initParams(controlSeed(seed), dims);
    const arms: Arms = {};
    for (const a of want.arms) arms[a] = makeNet(tf, dims, a.startsWith('cross') ? other : noisy);
    return arms;
  });
  const dynamics = (i: number) => dynamicsMetrics(students[i]!.student!.W.map((w) => w.dataSync() as Float32Array), inits[i]!.W, teacherW[i]!);
  const totalD = cfg.epochs_distill * seeds.length;
  for (let e = 0; e < (want.arms.length ? cfg.epochs_distill : 0); e++) {
    for (let i = 0; i < seeds.length; i++) {
      const arms = students[i]!, r = results[i]!;
      const losses = distillEpoch(tf, cfg, setup, teachers[i]!, arms, seeds[i]!, e, xBuf);
      if (want.curves) epochCurves(r, arms, losses, () => dynamics(i), test, teachers[i]!, want);
      progress({ phase: 'distill', done: e * seeds.length + i + 1, total: totalD, detail: `epoch ${e + 1}/${cfg.epochs_distill}${note}` });
    }
  }

  // ---- final metrics of the arms and evaluations asked for ----
  results.forEach((r, i) => {
    const arms = students[i]!, teacher = teachers[i]!;
    for (const a of want.arms) r.metrics[ARM_METRIC[a]] = test.accuracy(arms[a]!);
    if (arms.student) Object.assign(r.metrics, dynamics(i));
    if (want.cka) {
      r.metrics.hidden_cka = test.cka(arms.student!, teacher, 'last');
      r.metrics.hidden_cka_l1 = test.cka(arms.student!, teacher, 'first');
    }
    if (want.crossCka) r.metrics.cross_model_cka = test.cka(arms.cross!, teacher, 'last');
  });
  students.forEach((arms) => want.arms.forEach((a) => disposeNet(arms[a]!)));
  teachers.forEach(disposeNet);
  test.dispose();
  return results;
}
