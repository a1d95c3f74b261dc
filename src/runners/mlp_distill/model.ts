// What both training engines share: the group's options, the model's shapes and init, the arms,
// the control's init seed, distillation inputs, and what a trained seed returns. Every random
// number is keyed by (seed, stream), so a seed's numbers never depend on its group, worker,
// engine or thread count (up to the engines' float rounding).
import { Rng } from '../../util/random.ts';
import { loadDataset, IMAGE_SIZE, type Dataset } from '../../data/mnist.ts';
import type { MlpDistillParams } from './schema.ts';
import type { TeacherEntry } from './teacher-stage.ts';

/** What a group's training takes besides the parameters (none of it changes a seed's numbers but the limits). */
export interface GroupOptions {
  /** Override for tests: use only the first k train / test images (0 = all). */
  trainLimit?: number;
  testLimit?: number;
  /** Per seed: its teacher from the teacher stage (teacher-stage.ts), or undefined to train it. */
  teachers?: readonly (TeacherEntry | undefined)[];
  /** Given the teachers the group trained, right after the teacher phase (the stage stores them). */
  onTeachers?: (trained: { index: number; teacher: TeacherEntry }[]) => void;
  /** Appended to progress details (the stage's counts). */
  note?: string;
  /**
   * The parts to compute (the schema's `parts`: arms, evaluations, curves); absent: all.
   */
  parts?: readonly string[];
}

export interface ModelResult {
  seed: number;
  metrics: Record<string, number>;
  curves: Record<string, number[]>;
  /** With the teacher stage: whether this seed's teacher was trained here or reused from the store. */
  teacherStage?: 'computed' | 'reused';
}

/** fraction: of the group's whole work (0–1), runs: the group's size; both optional (see RunContext). */
export type Progress = (msg: { phase: string; done: number; total: number; detail?: string; fraction?: number; runs?: number }) => void;

export const B1 = 0.9, B2 = 0.999, EPS = 1e-8; // torch Adam defaults

/** Layer widths: 784 → hidden × layers → 10 + aux. */
export function layerDims(p: Pick<MlpDistillParams, 'hidden' | 'layers' | 'aux_logits'>): number[] {
  return [IMAGE_SIZE, ...Array<number>(p.layers).fill(p.hidden), 10 + p.aux_logits];
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

export const ARMS = ['student', 'student_all', 'cross', 'cross_all'] as const;
export type Arm = (typeof ARMS)[number];
export const ARM_METRIC: Record<Arm, string> = {
  student: 'student_acc', student_all: 'student_all_acc', cross: 'cross_model_acc', cross_all: 'cross_model_all_acc',
};

/** Which arms, evaluations and curves a group computes (from GroupOptions.parts; absent: all). */
export interface Wanted {
  arms: Arm[];
  /** The student's CKA against the teacher (hidden_cka, hidden_cka_l1). */
  cka: boolean;
  /** The cross-model control's CKA against the teacher (cross_model_cka). */
  crossCka: boolean;
  /** Per-epoch evaluation of the arms (the curves); else only after the last epoch. */
  curves: boolean;
}

export function wantedOf(parts: readonly string[] | undefined): Wanted {
  const has = (p: string) => !parts || parts.includes(p);
  const arms = ARMS.filter(has);
  return { arms, cka: has('cka') && arms.includes('student'), crossCka: has('cross_cka') && arms.includes('cross'), curves: has('curves') };
}

/** The seed whose init the cross-model control of `seed` starts from (see README: seed + 1). */
export function controlSeed(seed: number): number {
  return seed + 1;
}

/** What both engines derive from the parameters for a group: data, shapes, sizes, batches, steps. */
export function groupSetup(p: MlpDistillParams, opts: Pick<GroupOptions, 'trainLimit' | 'testLimit'> = {}) {
  const ds = loadDataset(p.dataset, p.data_dir);
  const nTrain = opts.trainLimit ? Math.min(opts.trainLimit, ds.nTrain) : ds.nTrain;
  const nTest = opts.testLimit ? Math.min(opts.testLimit, ds.nTest) : ds.nTest;
  // noise_size 0 = as many as the training set; batch_size_distill 0 = batch_size.
  const noiseSize = p.noise_size > 0 ? p.noise_size : nTrain;
  const B = p.batch_size, BD = p.batch_size_distill > 0 ? p.batch_size_distill : p.batch_size;
  return {
    ds, dims: layerDims(p), nTrain, nTest, noiseSize, pool: distillPool(p, ds, nTrain),
    B, BD, stepsT: Math.ceil(nTrain / B), stepsD: Math.ceil(noiseSize / BD),
  };
}

export function distillPool(p: Pick<MlpDistillParams, 'distill_data' | 'dataset' | 'data_dir'>, ds: Dataset, nTrain: number): { x: Float32Array; n: number } | undefined {
  if (p.distill_data === 'shuffled_pixels' || p.distill_data === 'mnist') {
    // shuffled_pixels uses the experiment's own training images (MNIST or Fashion-MNIST).
    const src = p.distill_data === 'mnist' && p.dataset !== 'mnist' ? loadDataset('mnist') : ds;
    const n = src === ds ? nTrain : src.nTrain;
    return { x: src.trainX, n };
  }
  if (p.distill_data === 'fashion') {
    const f = loadDataset('fashion_mnist', p.dataset === 'fashion_mnist' ? p.data_dir : '');
    return { x: f.trainX, n: f.nTrain };
  }
  return undefined;
}

export function withNoise(p: { W: Float32Array[]; b: Float32Array[] }, std: number, seed: number): { W: Float32Array[]; b: Float32Array[] } {
  if (std <= 0) return p;
  const rng = Rng.of(seed, 'init_noise');
  const add = (a: Float32Array) => Float32Array.from(a, (v) => v + std * rng.normal());
  return { W: p.W.map(add), b: p.b.map(add) };
}

export function push(c: Record<string, number[]>, k: string, v: number): void {
  (c[k] ??= []).push(v);
}
export function mean(a: number[]): number {
  return a.reduce((x, y) => x + y, 0) / a.length;
}

/**
 * Per-layer movement of the student: drift ‖W_s − W_0‖/‖W_0‖ and update cosine
 * cos(W_s − W_0, W_t − W_0) (W_0 the shared init, W_t the teacher), mean over layers, plus the
 * first layer's and the output layer's drift.
 */
export function dynamicsMetrics(studentW: Float32Array[], initW: Float32Array[], teacherW: Float32Array[]): Record<string, number> {
  const drift: number[] = [], cos: number[] = [];
  studentW.forEach((ws, l) => {
    const w0 = initW[l]!, wt = teacherW[l]!;
    let dd = 0, n0 = 0, dot = 0, nt = 0;
    for (let k = 0; k < ws.length; k++) {
      const ds = ws[k]! - w0[k]!, dt = wt[k]! - w0[k]!;
      dd += ds * ds; n0 += w0[k]! * w0[k]!; dot += ds * dt; nt += dt * dt;
    }
    drift.push(Math.sqrt(dd / n0));
    cos.push(dd > 0 && nt > 0 ? dot / Math.sqrt(dd * nt) : 0);
  });
  return {
    student_drift: mean(drift), update_cosine: mean(cos),
    student_drift_l1: drift[0]!, update_cosine_l1: cos[0]!, student_drift_out: drift[drift.length - 1]!,
  };
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

