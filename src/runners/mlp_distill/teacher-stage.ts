// The teacher stage of mlp_distill (issue 21): a sweep over a distillation parameter trains each
// seed's teacher once. The stage store (src/exec/stages.ts) derives the key from the declaration
// (schema.ts: the parameters declared `stage: 'teacher'`, the seed, the source files the engines
// reach, and `teacherStageData` below); this file is what the artifact holds and how a group of
// seeds gets its teachers in and out of the store.
//
// Everything the distillation phase takes from the teacher phase is stored: the final weights and
// biases, the teacher curves, teacher_acc and reference_acc. Nothing else carries over: every
// random stream is keyed by (seed, name[, epoch]) and the init is a pure function of the seed, so
// a loaded teacher gives bit-identical results (tested).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { IMAGE_SIZE, loadDataset, type Dataset } from '../../data/mnist.ts';
import { engineIdentity } from '../../backend/engine-choice.ts';
import type { TypedRunContext, TypedRunSpec } from '../define.ts';
import type { MlpDistillParams } from './schema.ts';
import type { GroupOptions, ModelResult } from './model.ts';

export interface TeacherEntry {
  W: Float32Array[];
  b: Float32Array[];
  referenceAcc: number;
  teacherAcc: number;
  /** Per-epoch teacher_loss and teacher_acc. */
  curves: Record<string, number[]>;
}

const dataHashes = new WeakMap<Dataset, Map<string, string>>();
/** sha256 of exactly the images and labels the teacher sees (train and test slices), memoised. */
export function dataIdentity(ds: Dataset, nTrain: number, nTest: number): string {
  const k = `${nTrain}/${nTest}`;
  let m = dataHashes.get(ds);
  if (!m) dataHashes.set(ds, (m = new Map()));
  const hit = m.get(k);
  if (hit) return hit;
  const h = createHash('sha256');
  const bytes = (a: Float32Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  h.update(`${nTrain} ${nTest}\n`);
  h.update(bytes(ds.trainX.subarray(0, nTrain * IMAGE_SIZE)));
  h.update(bytes(ds.trainY.subarray(0, nTrain)));
  h.update(bytes(ds.testX.subarray(0, nTest * IMAGE_SIZE)));
  h.update(bytes(ds.testY.subarray(0, nTest)));
  const d = h.digest('hex');
  m.set(k, d);
  return d;
}

/**
 * What the teacher's key holds beyond its declared parameters: a digest of the images and labels
 * it is trained and tested on (a changed file in data_dir is a new teacher) and the engine.
 * Typed by the fields it reads: schema.ts's declaration calls it, so its parameter cannot be the
 * type derived from that declaration.
 */
export function teacherStageData(p: { dataset: Parameters<typeof loadDataset>[0]; data_dir: string; backend: string; device: string }): Record<string, unknown> {
  const ds = loadDataset(p.dataset, p.data_dir);
  return { data_sha256: dataIdentity(ds, ds.nTrain, ds.nTest), n_train: ds.nTrain, n_test: ds.nTest, engine: engineIdentity(p) };
}

// ───────────────────────────── the artifact ─────────────────────────────
// Two files: teacher.json (layer sizes, accuracies, curves) and params.f32 (float32 LE, weights
// then biases). The store checks every file's sha256 against the artifact's manifest on load.

const FORMAT = 1;
// Non-finite numbers (a diverged teacher's loss) do not survive JSON; stored as strings.
const encodeNum = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `__num:${v}` : v);
const decodeNum = (_k: string, v: unknown) => (typeof v === 'string' && v.startsWith('__num:') ? Number(v.slice(6)) : v);

export function writeTeacher(dir: string, e: TeacherEntry): void {
  const header = { format: FORMAT, wLens: e.W.map((w) => w.length), bLens: e.b.map((b) => b.length), referenceAcc: e.referenceAcc, teacherAcc: e.teacherAcc, curves: e.curves };
  writeFileSync(path.join(dir, 'teacher.json'), JSON.stringify(header, encodeNum));
  const all = [...e.W, ...e.b];
  const body = Buffer.alloc(all.reduce((a, x) => a + x.length, 0) * 4);
  let off = 0;
  for (const a of all) for (let i = 0; i < a.length; i++, off += 4) body.writeFloatLE(a[i]!, off);
  writeFileSync(path.join(dir, 'params.f32'), body);
}

/** A stored teacher (verified by the store). Layer sizes other than `dims`' are an error: the key holds them. */
export function readTeacher(dir: string, dims: number[]): TeacherEntry {
  const h = JSON.parse(readFileSync(path.join(dir, 'teacher.json'), 'utf8'), decodeNum) as {
    format: number; wLens: number[]; bLens: number[]; referenceAcc: number; teacherAcc: number; curves: Record<string, number[]>;
  };
  const wantW = dims.slice(0, -1).map((d, l) => d * dims[l + 1]!), wantB = dims.slice(1);
  if (h.format !== FORMAT || JSON.stringify(h.wLens) !== JSON.stringify(wantW) || JSON.stringify(h.bLens) !== JSON.stringify(wantB)) {
    throw new Error(`mlp_distill: the stored teacher in ${dir} does not fit layers ${dims.join('-')} (format ${h.format}); its key should have prevented this`);
  }
  const body = readFileSync(path.join(dir, 'params.f32'));
  let off = 0;
  const read = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) a[i] = body.readFloatLE(off);
    return a;
  };
  const W = wantW.map(read), b = wantB.map(read);
  if (off !== body.length) throw new Error(`mlp_distill: the stored teacher in ${dir} has ${body.length} bytes of parameters, expected ${off}`);
  return { W, b, referenceAcc: h.referenceAcc, teacherAcc: h.teacherAcc, curves: h.curves };
}

// ───────────────────────────── a group's teachers ─────────────────────────────

/** A group's teacher stage as the runner holds it (trainSeeds hands the data part to the engines). */
export interface TeacherStage {
  /** The engine the keys were derived for (engineIdentity): the group must train on it. */
  engine: string;
  /** Per seed: its stored teacher, loaded; undefined = this group trains it. */
  stored: (TeacherEntry | undefined)[];
  /** For progress lines: " (teacher: 2 computed, 3 reused)". */
  note: string;
  /** Write trained teachers into their artifacts and commit them (right after the teacher phase). */
  save(trained: readonly { index: number; teacher: TeacherEntry }[]): void;
}

/**
 * The teacher stage of a group of runs: stored teachers loaded, claims on the others (concurrent
 * processes wait for them). Undefined without a stage store (a direct call, or `sublab run`
 * without a cache): nothing would be kept, so every teacher is trained and nothing is written.
 */
export async function openTeacherStage(specs: readonly TypedRunSpec<MlpDistillParams>[], ctx: TypedRunContext, dims: number[]): Promise<TeacherStage | undefined> {
  if (!ctx.stageStore) return undefined;
  const g = await ctx.stageGroup('teacher', specs);
  return {
    engine: engineIdentity(specs[0]!.params),
    stored: g.stored.map((dir) => (dir === undefined ? undefined : readTeacher(dir, dims))),
    note: g.note,
    save(trained) {
      for (const { index, teacher } of trained) writeTeacher(g.dir(index), teacher);
      g.commit(trained.map((t) => t.index));
    },
  };
}

/**
 * What an engine needs of the stage: which seeds come with a teacher (`cached`), which it trains,
 * the progress note, and `store` to hand the trained teachers over (to GroupOptions.onTeachers).
 */
export function groupTeachers(opts: GroupOptions, results: readonly ModelResult[]): {
  cached: (TeacherEntry | undefined)[];
  toTrain: number[];
  note: string;
  store: (model: (i: number) => { W: Float32Array[]; b: Float32Array[] }) => void;
} {
  const cached = results.map((_, i) => opts.teachers?.[i]);
  const toTrain = results.map((_, i) => i).filter((i) => !cached[i]);
  const store = (model: (i: number) => { W: Float32Array[]; b: Float32Array[] }) => {
    if (!opts.onTeachers || toTrain.length === 0) return;
    opts.onTeachers(toTrain.map((i) => {
      const r = results[i]!;
      // Only the teacher curves exist at this point.
      return { index: i, teacher: { ...model(i), referenceAcc: r.metrics.reference_acc!, teacherAcc: r.metrics.teacher_acc!, curves: { ...r.curves } } };
    }));
  };
  return { cached, toTrain, note: opts.note ?? '', store };
}
