// The batched engine: N independent MLP teacher–student pairs, trained step by step with
// hand-written backprop and Adam. Why by hand: in the wasm backend only plain (non-transposed)
// 2-D matMul is fast (≈20 GFLOP/s per core here); 3-D batched matMul and matMul with a
// transpose flag run 10–40x slower (bench/README.md). So every product is a plain 2-D matMul of
// one model's batch, transposes are explicit Transpose kernels, and autodiff (which emits
// transposed matMuls) is avoided. All randomness is JS-side and keyed by (seed, stream), so a
// model's numbers do not depend on which worker or group trains it.
import type * as tfType from '@tensorflow/tfjs-core';
import { Rng, fillDistillRows, type DistillData } from '../../data/random.ts';
import { loadDataset, IMAGE_SIZE, type Dataset } from '../../data/mnist.ts';
import { dataIdentity, loadTeacher, saveTeacher, teacherKey, teacherKeyMaterial, type TeacherEntry } from './teacher-cache.ts';

type TF = typeof tfType;
type T2 = tfType.Tensor2D;

export interface EngineConfig {
  dataset: 'mnist' | 'fashion_mnist';
  dataDir: string;
  hidden: number;
  layers: number;
  aux: number;
  lr: number;
  batch: number;
  /** Distillation minibatch; 0 = same as batch. */
  batchDistill: number;
  epochsTeacher: number;
  epochsDistill: number;
  weightDecay: number;
  initNoise: number;
  distillData: DistillData;
  noiseSize: number; // 0 = as many as the training set
  loss: 'kl' | 'mse';
  klReduction: 'mean' | 'published_batchmean';
  temperature: number;
  /** The `models` parameter: only used by published_batchmean (divides by the number of models). */
  modelsParam: number;
  /** Override for tests: use only the first k train / test images (0 = all). */
  trainLimit?: number;
  testLimit?: number;
  /**
   * Reuse trained teachers across runs (teacher-cache.ts): `dir` holds them, `tag` names the
   * runner version and resolved backend. Absent: no caching.
   */
  teacherCache?: { dir: string; tag: string };
}

export interface ModelResult {
  seed: number;
  metrics: Record<string, number>;
  curves: Record<string, number[]>;
  /** With a teacher cache: whether this seed's teacher was loaded ('hit') or trained ('miss'). */
  teacherCache?: 'hit' | 'miss';
  /** Non-fatal problems (e.g. a corrupt cached teacher that was retrained). */
  warnings?: string[];
}

export type Progress = (msg: { phase: string; done: number; total: number; detail?: string }) => void;

const B1 = 0.9, B2 = 0.999, EPS = 1e-8; // torch Adam defaults

/** Layer widths: 784 → hidden × layers → 10 + aux. */
export function layerDims(c: Pick<EngineConfig, 'hidden' | 'layers' | 'aux'>): number[] {
  return [IMAGE_SIZE, ...Array<number>(c.layers).fill(c.hidden), 10 + c.aux];
}

/** Shared init of one seed: W ~ N(0, std 1/√d_in), b = 0 (float arrays, JS-side). */
export function initParams(seed: number, dims: number[]): { W: Float32Array[]; b: Float32Array[] } {
  const rng = Rng.of(seed, 'init');
  const W: Float32Array[] = [], b: Float32Array[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    W.push(rng.fillNormal(new Float32Array(dims[l]! * dims[l + 1]!), 1 / Math.sqrt(dims[l]!)));
    b.push(new Float32Array(dims[l + 1]!));
  }
  return { W, b };
}

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
  tf: TF, cfg: Pick<EngineConfig, 'loss' | 'klReduction' | 'temperature' | 'modelsParam'>, sOut: T2, tOut: T2, aux: number, allLogits: boolean,
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
    const denom = cfg.klReduction === 'published_batchmean' ? cfg.modelsParam : B;
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

/** Reference implementation in float64 JS (for tests): X is n × dx, Y is n × dy, row-major. */
export function linearCkaJs(X: ArrayLike<number>, Y: ArrayLike<number>, n: number, dx: number, dy: number): number {
  const center = (A: ArrayLike<number>, d: number) => {
    const out = Float64Array.from(A as ArrayLike<number>);
    for (let j = 0; j < d; j++) {
      let m = 0;
      for (let i = 0; i < n; i++) m += out[i * d + j]!;
      m /= n;
      for (let i = 0; i < n; i++) out[i * d + j]! -= m;
    }
    return out;
  };
  const x = center(X, dx), y = center(Y, dy);
  const cross = (a: Float64Array, da: number, b: Float64Array, db: number) => {
    let s = 0;
    for (let p = 0; p < da; p++) for (let q = 0; q < db; q++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += a[i * da + p]! * b[i * db + q]!;
      s += v * v;
    }
    return s;
  };
  return cross(x, dx, y, dy) / Math.sqrt(cross(x, dx, x, dx) * cross(y, dy, y, dy));
}

const ARMS = ['student', 'student_all', 'cross', 'cross_all'] as const;
type Arm = (typeof ARMS)[number];
const ARM_METRIC: Record<Arm, string> = {
  student: 'student_acc', student_all: 'student_all_acc', cross: 'cross_model_acc', cross_all: 'cross_model_all_acc',
};

/** The seed whose init the cross-model control of `seed` starts from (see README: seed + 1). */
export function controlSeed(seed: number): number {
  return seed + 1;
}

/** Train the pairs for `seeds`, one model per seed, side by side. */
export function trainGroup(tf: TF, cfg: EngineConfig, seeds: readonly number[], progress: Progress = () => {}): ModelResult[] {
  const ds = loadDataset(cfg.dataset, cfg.dataDir);
  const dims = layerDims(cfg);
  const nTrain = cfg.trainLimit ? Math.min(cfg.trainLimit, ds.nTrain) : ds.nTrain;
  const nTest = cfg.testLimit ? Math.min(cfg.testLimit, ds.nTest) : ds.nTest;
  const noiseSize = cfg.noiseSize > 0 ? cfg.noiseSize : nTrain;
  const pool = distillPool(cfg, ds, nTrain);
  const B = cfg.batch, BD = cfg.batchDistill > 0 ? cfg.batchDistill : cfg.batch;
  const stepsT = Math.ceil(nTrain / B), stepsD = Math.ceil(noiseSize / BD);
  const results: ModelResult[] = seeds.map((seed) => ({ seed, metrics: {}, curves: {} }));
  const testX = tf.tidy(() => tf.sub(tf.mul(tf.tensor2d(ds.testX.subarray(0, nTest * IMAGE_SIZE), [nTest, IMAGE_SIZE]), 2), 1) as T2);
  const testY = ds.testY.subarray(0, nTest);

  const accuracy = (n: Net): number => {
    const pred = tf.tidy(() => tf.argMax(tf.slice(forward(tf, n, testX).out, [0, 0], [nTest, 10]), 1).dataSync());
    let c = 0;
    for (let i = 0; i < nTest; i++) if (pred[i] === testY[i]) c++;
    return c / nTest;
  };
  const lastHidden = (n: Net): T2 => tf.tidy(() => { const { acts } = forward(tf, n, testX); return acts[acts.length - 1]!; });
  const firstHidden = (n: Net): T2 => tf.tidy(() => forward(tf, n, testX).acts[1]!);

  const inits = seeds.map((s) => initParams(s, dims));
  // Cached teachers: load what exists; only the others are trained below.
  const tc = cfg.teacherCache;
  const data = tc ? { sha256: dataIdentity(ds, nTrain, nTest), nTrain, nTest } : undefined;
  const materials = seeds.map((s) => (tc ? teacherKeyMaterial(cfg, s, data!, tc.tag) : {}));
  const keys = materials.map((m) => (tc ? teacherKey(m) : ''));
  const cached: (TeacherEntry | undefined)[] = seeds.map((_, i) =>
    tc ? loadTeacher(tc.dir, keys[i]!, dims, (msg) => { console.warn(msg); (results[i]!.warnings ??= []).push(msg); }) : undefined);
  const toTrain = seeds.map((_, i) => i).filter((i) => !cached[i]);
  const teachers = inits.map((p, i) => makeNet(tf, dims, cached[i] ?? p));
  results.forEach((r, i) => {
    const c = cached[i];
    if (tc) r.teacherCache = c ? 'hit' : 'miss';
    if (c) {
      r.metrics.reference_acc = c.referenceAcc;
      for (const [k, v] of Object.entries(c.curves)) r.curves[k] = [...v];
    } else r.metrics.reference_acc = accuracy(teachers[i]!);
  });
  const cacheNote = tc ? ` (teachers: ${toTrain.length} trained, ${seeds.length - toTrain.length} loaded)` : '';

  // ---- teacher: cross-entropy on the digit logits only ----
  const xBuf = new Float32Array(Math.max(B, BD) * IMAGE_SIZE);
  const yBuf = new Float32Array(B * 10);
  const totalT = cfg.epochsTeacher * toTrain.length;
  if (tc && toTrain.length === 0) progress({ phase: 'teacher', done: seeds.length, total: seeds.length, detail: `loaded from cache${cacheNote}` });
  for (let e = 0; e < cfg.epochsTeacher; e++) {
    for (const [ti, i] of toTrain.entries()) {
      const net = teachers[i]!;
      const perm = Rng.of(seeds[i]!, 'shuffle-teacher', e).permutation(nTrain);
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
          const { loss, grad } = ceLossGrad(tf, out, Y, cfg.aux);
          backwardAdam(tf, net, acts, grad, cfg.lr, cfg.weightDecay);
          return loss;
        });
        lossSum += loss.dataSync()[0]! * bs;
        loss.dispose();
      }
      push(results[i]!.curves, 'teacher_loss', lossSum / nTrain);
      push(results[i]!.curves, 'teacher_acc', accuracy(net));
      progress({ phase: 'teacher', done: e * toTrain.length + ti + 1, total: totalT, detail: `epoch ${e + 1}/${cfg.epochsTeacher}${cacheNote}` });
    }
  }
  teachers.forEach((t) => disposeAdam(t));
  results.forEach((r, i) => { r.metrics.teacher_acc = cached[i]?.teacherAcc ?? accuracy(teachers[i]!); });
  if (tc) {
    for (const i of toTrain) {
      const r = results[i]!, t = teachers[i]!;
      const entry: TeacherEntry = {
        W: t.W.map((w) => w.dataSync() as Float32Array), b: t.b.map((b) => b.dataSync() as Float32Array),
        referenceAcc: r.metrics.reference_acc!, teacherAcc: r.metrics.teacher_acc!,
        curves: { ...r.curves }, // only the teacher curves exist at this point
      };
      try {
        saveTeacher(tc.dir, keys[i]!, materials[i]!, entry);
      } catch (err) {
        // A full or read-only disk costs reuse, not the run.
        const msg = `mlp_distill: could not cache the teacher of seed ${seeds[i]} (${(err as Error).message})`;
        console.warn(msg);
        (r.warnings ??= []).push(msg);
      }
    }
  }
  const teacherW = teachers.map((t) => t.W.map((w) => w.dataSync() as Float32Array));

  // ---- students: four arms per model, fresh Adam, same inputs and teacher targets ----
  const students = seeds.map((seed, i) => {
    const noisy = withNoise(inits[i]!, cfg.initNoise, seed);
    const other = initParams(controlSeed(seed), dims);
    const arms = {} as Record<Arm, Net>;
    for (const a of ARMS) arms[a] = makeNet(tf, dims, a.startsWith('cross') ? other : noisy);
    return arms;
  });
  const totalD = cfg.epochsDistill * seeds.length;
  const dynamics = (i: number) => {
    const st = students[i]!.student;
    const out: Record<string, number> = {};
    const drift: number[] = [], cos: number[] = [];
    st.W.forEach((w, l) => {
      const ws = w.dataSync() as Float32Array, w0 = inits[i]!.W[l]!, wt = teacherW[i]![l]!;
      let dd = 0, n0 = 0, dot = 0, nt = 0;
      for (let k = 0; k < ws.length; k++) {
        const ds_ = ws[k]! - w0[k]!, dt = wt[k]! - w0[k]!;
        dd += ds_ * ds_; n0 += w0[k]! * w0[k]!; dot += ds_ * dt; nt += dt * dt;
      }
      drift.push(Math.sqrt(dd / n0));
      cos.push(dd > 0 && nt > 0 ? dot / Math.sqrt(dd * nt) : 0);
    });
    out.student_drift = mean(drift); out.update_cosine = mean(cos);
    out.student_drift_l1 = drift[0]!; out.update_cosine_l1 = cos[0]!;
    out.student_drift_out = drift[drift.length - 1]!;
    return out;
  };
  const cka = (a: Net, b: Net, which: (n: Net) => T2): number => {
    const x = which(a), y = which(b);
    const v = linearCka(tf, x, y);
    x.dispose(); y.dispose();
    return v;
  };
  for (let e = 0; e < cfg.epochsDistill; e++) {
    for (let i = 0; i < seeds.length; i++) {
      const seed = seeds[i]!, teacher = teachers[i]!, arms = students[i]!;
      const perm = Rng.of(seed, 'shuffle-distill', e).permutation(noiseSize);
      const lossSum: Record<Arm, number> = { student: 0, student_all: 0, cross: 0, cross_all: 0 };
      for (let s = 0; s < stepsD; s++) {
        const lo = s * BD, bs = Math.min(BD, noiseSize - lo);
        fillDistillRows(xBuf, cfg.distillData, seed, perm.subarray(lo, lo + bs), pool);
        const losses = tf.tidy(() => {
          const X = tf.tensor2d(xBuf.subarray(0, bs * IMAGE_SIZE), [bs, IMAGE_SIZE]);
          const tOut = forward(tf, teacher, X).out;
          return ARMS.map((a) => {
            const net = arms[a];
            const { acts, out } = forward(tf, net, X);
            const { loss, grad } = distillLossGrad(tf, cfg, out, tOut, cfg.aux, a.endsWith('_all'));
            backwardAdam(tf, net, acts, grad, cfg.lr, cfg.weightDecay);
            return loss;
          });
        });
        const vals = tf.tidy(() => tf.stack(losses).dataSync());
        ARMS.forEach((a, k) => { lossSum[a] += vals[k]! * bs; });
        tf.dispose(losses);
      }
      const r = results[i]!;
      for (const a of ARMS) {
        push(r.curves, `${a}_loss`, lossSum[a] / noiseSize);
        push(r.curves, `${a}_acc`, accuracy(arms[a]));
      }
      const dyn = dynamics(i);
      push(r.curves, 'student_drift', dyn.student_drift!);
      push(r.curves, 'update_cosine', dyn.update_cosine!);
      push(r.curves, 'hidden_cka', cka(arms.student, teacher, lastHidden));
      progress({ phase: 'distill', done: e * seeds.length + i + 1, total: totalD, detail: `epoch ${e + 1}/${cfg.epochsDistill}${cacheNote}` });
    }
  }

  results.forEach((r, i) => {
    const arms = students[i]!, teacher = teachers[i]!;
    for (const a of ARMS) r.metrics[ARM_METRIC[a]] = accuracy(arms[a]);
    Object.assign(r.metrics, dynamics(i));
    r.metrics.hidden_cka = cka(arms.student, teacher, lastHidden);
    r.metrics.hidden_cka_l1 = cka(arms.student, teacher, firstHidden);
    r.metrics.cross_model_cka = cka(arms.cross, teacher, lastHidden);
  });
  students.forEach((arms) => ARMS.forEach((a) => disposeNet(arms[a])));
  teachers.forEach(disposeNet);
  testX.dispose();
  return results;
}

function distillPool(cfg: EngineConfig, ds: Dataset, nTrain: number): { x: Float32Array; n: number } | undefined {
  if (cfg.distillData === 'shuffled_pixels' || cfg.distillData === 'mnist') {
    // shuffled_pixels uses the experiment's own training images (MNIST or Fashion-MNIST).
    const src = cfg.distillData === 'mnist' && cfg.dataset !== 'mnist' ? loadDataset('mnist') : ds;
    const n = src === ds ? nTrain : src.nTrain;
    return { x: src.trainX, n };
  }
  if (cfg.distillData === 'fashion') {
    const f = loadDataset('fashion_mnist', cfg.dataset === 'fashion_mnist' ? cfg.dataDir : '');
    return { x: f.trainX, n: f.nTrain };
  }
  return undefined;
}

function withNoise(p: { W: Float32Array[]; b: Float32Array[] }, std: number, seed: number): { W: Float32Array[]; b: Float32Array[] } {
  if (std <= 0) return p;
  const rng = Rng.of(seed, 'init_noise');
  const add = (a: Float32Array) => Float32Array.from(a, (v) => v + std * rng.normal());
  return { W: p.W.map(add), b: p.b.map(add) };
}

function push(c: Record<string, number[]>, k: string, v: number): void {
  (c[k] ??= []).push(v);
}
function mean(a: number[]): number {
  return a.reduce((x, y) => x + y, 0) / a.length;
}
