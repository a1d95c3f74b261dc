// Cache of trained teachers (issue 7, "reuse inside runners"): a sweep over a distillation-only
// factor (temperature, loss, noise_size, ...) trains each seed's teacher once. Everything the
// distillation phase takes from the teacher phase is stored: the final weights and biases, the
// teacher curves, teacher_acc and reference_acc. Nothing else carries over: every random stream is
// keyed by (seed, name[, epoch]) and the init is a pure function of the seed (see engine.ts), so
// a loaded teacher gives bit-identical results.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Dataset } from '../../data/mnist.ts';
import { IMAGE_SIZE } from '../../data/mnist.ts';
import type { GroupOptions } from './model.ts';
import type { MlpDistillParams } from './schema.ts';
import { canonicalJson } from '../../util/canonical-json.ts';

/** Bump when the file layout or the meaning of a stored field changes. */
const FORMAT = 1;
const MAGIC = Buffer.from('SLTEACH1', 'ascii');

export interface TeacherEntry {
  W: Float32Array[];
  b: Float32Array[];
  referenceAcc: number;
  teacherAcc: number;
  /** Per-epoch teacher_loss and teacher_acc. */
  curves: Record<string, number[]>;
}

/** The parameters that affect teacher init and training (not the distillation-only ones). */
export type TeacherParams = Pick<MlpDistillParams, 'dataset' | 'data_dir' | 'hidden' | 'layers' | 'aux_logits' | 'lr' | 'batch_size' | 'epochs_teacher' | 'weight_decay'>;

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

// The training code of both engines: any edit invalidates cached teachers (conservative).
const ENGINE_FILES = ['./model.ts', './engine-tfjs.ts', './onnx/engine.ts', './onnx/graphs.ts', './onnx/arena.ts', '../../backend/adam-kernel.ts'];
let engineSource: string | undefined;
/** sha256 of the engines' source files. */
function engineHash(): string {
  if (engineSource === undefined) {
    const h = createHash('sha256');
    try {
      for (const f of ENGINE_FILES) h.update(readFileSync(new URL(f, import.meta.url)));
      engineSource = h.digest('hex');
    } catch {
      engineSource = 'unknown';
    }
  }
  return engineSource;
}

/**
 * The teacher cache as one group sees it: which seeds have a stored teacher (loaded now), which
 * must be trained, a note for progress lines, and `store` to save the trained ones afterwards.
 * Without `tc` nothing is cached and every seed trains.
 */
export function openTeacherCache(
  cfg: TeacherParams, tc: GroupOptions['teacherCache'], ds: Dataset, nTrain: number, nTest: number,
  seeds: readonly number[], dims: number[],
  results: { metrics: Record<string, number>; curves: Record<string, number[]>; teacherCache?: 'hit' | 'miss'; warnings?: string[] }[],
): {
  cached: (TeacherEntry | undefined)[];
  toTrain: number[];
  note: string;
  store: (model: (i: number) => { W: Float32Array[]; b: Float32Array[] }) => void;
} {
  const warn = (i: number, msg: string) => { console.warn(msg); (results[i]!.warnings ??= []).push(msg); };
  if (!tc) return { cached: seeds.map(() => undefined), toTrain: seeds.map((_, i) => i), note: '', store: () => {} };
  const data = { sha256: dataIdentity(ds, nTrain, nTest), nTrain, nTest };
  const materials = seeds.map((s) => teacherKeyMaterial(cfg, s, data, tc.tag));
  const keys = materials.map(teacherKey);
  const cached = seeds.map((_, i) => loadTeacher(tc.dir, keys[i]!, dims, (msg) => warn(i, msg)));
  const toTrain = seeds.map((_, i) => i).filter((i) => !cached[i]);
  results.forEach((r, i) => { r.teacherCache = cached[i] ? 'hit' : 'miss'; });
  const note = ` (teachers: ${toTrain.length} trained, ${seeds.length - toTrain.length} loaded)`;
  const store = (model: (i: number) => { W: Float32Array[]; b: Float32Array[] }) => {
    for (const i of toTrain) {
      const r = results[i]!;
      const entry: TeacherEntry = {
        ...model(i), referenceAcc: r.metrics.reference_acc!, teacherAcc: r.metrics.teacher_acc!,
        curves: { ...r.curves }, // only the teacher curves exist at this point
      };
      try {
        saveTeacher(tc.dir, keys[i]!, materials[i]!, entry);
      } catch (err) {
        // A full or read-only disk costs reuse, not the run.
        warn(i, `mlp_distill: could not cache the teacher of seed ${seeds[i]} (${(err as Error).message})`);
      }
    }
  };
  return { cached, toTrain, note, store };
}

/** What the key is made of (exposed for reports and tests). */
export function teacherKeyMaterial(
  p: TeacherParams, seed: number, data: { sha256: string; nTrain: number; nTest: number }, tag: string,
): Record<string, unknown> {
  return {
    format: FORMAT,
    tag, // runner name, schema version and resolved backend (kernels differ in the last bits)
    engine_sha256: engineHash(),
    dataset: p.dataset,
    data_dir: p.data_dir ? path.resolve(p.data_dir) : '',
    data_sha256: data.sha256,
    n_train: data.nTrain,
    n_test: data.nTest,
    hidden: p.hidden,
    layers: p.layers,
    aux_logits: p.aux_logits,
    lr: p.lr,
    batch_size: p.batch_size,
    epochs_teacher: p.epochs_teacher,
    weight_decay: p.weight_decay,
    seed,
  };
}

export function teacherKey(material: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}

export function teacherFile(dir: string, key: string): string {
  return path.join(dir, 'teachers', `${key}.bin`);
}

// Non-finite numbers (a diverged teacher's loss) do not survive JSON; store them as strings.
const encodeNum = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `__num:${v}` : v);
const decodeNum = (_k: string, v: unknown) => (typeof v === 'string' && v.startsWith('__num:') ? Number(v.slice(6)) : v);

/**
 * Layout: magic (8 bytes) · u32 LE header length · header JSON · float32 LE weights then biases
 * (lengths in the header) · sha256 of all the preceding bytes. Written to a temp file and renamed,
 * so readers never see a partial file.
 */
export function saveTeacher(dir: string, key: string, material: Record<string, unknown>, e: TeacherEntry): void {
  const header = Buffer.from(
    JSON.stringify(
      {
        key, material,
        wLens: e.W.map((w) => w.length), bLens: e.b.map((b) => b.length),
        referenceAcc: e.referenceAcc, teacherAcc: e.teacherAcc, curves: e.curves,
      },
      encodeNum,
    ),
    'utf8',
  );
  const nFloats = [...e.W, ...e.b].reduce((a, x) => a + x.length, 0);
  const body = Buffer.alloc(MAGIC.length + 4 + header.length + nFloats * 4);
  MAGIC.copy(body, 0);
  body.writeUInt32LE(header.length, MAGIC.length);
  header.copy(body, MAGIC.length + 4);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let off = MAGIC.length + 4 + header.length;
  for (const a of [...e.W, ...e.b]) for (let i = 0; i < a.length; i++, off += 4) dv.setFloat32(off, a[i]!, true);
  const sum = createHash('sha256').update(body).digest();
  const file = teacherFile(dir, key);
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(tmp, Buffer.concat([body, sum]));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Load a cached teacher. Missing file: undefined. Unreadable, corrupt (checksum), or not matching
 * the key or the layer sizes: undefined and a warning, so the caller retrains (and overwrites it).
 */
export function loadTeacher(dir: string, key: string, dims: number[], warn: (msg: string) => void): TeacherEntry | undefined {
  const file = teacherFile(dir, key);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn(`mlp_distill: cannot read cached teacher ${file} (${(err as Error).message}); retraining it`);
    return undefined;
  }
  const bad = (why: string): undefined => {
    warn(`mlp_distill: cached teacher ${file} ignored (${why}); retraining it`);
    return undefined;
  };
  if (buf.length < MAGIC.length + 4 + 32) return bad('file too short');
  const body = buf.subarray(0, buf.length - 32);
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(buf.length - 32))) return bad('checksum mismatch');
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) return bad('unknown format');
  const hLen = body.readUInt32LE(MAGIC.length);
  let h: { key: string; wLens: number[]; bLens: number[]; referenceAcc: number; teacherAcc: number; curves: Record<string, number[]> };
  try {
    h = JSON.parse(body.subarray(MAGIC.length + 4, MAGIC.length + 4 + hLen).toString('utf8'), decodeNum);
  } catch {
    return bad('bad header');
  }
  const wantW = dims.slice(0, -1).map((d, l) => d * dims[l + 1]!), wantB = dims.slice(1);
  if (h.key !== key) return bad('key mismatch');
  // Arrays of numbers compare as their JSON (a header from a corrupt file may hold anything there).
  if (JSON.stringify(h.wLens) !== JSON.stringify(wantW) || JSON.stringify(h.bLens) !== JSON.stringify(wantB)) return bad('layer sizes differ');
  let off = MAGIC.length + 4 + hLen;
  if (body.length - off !== [...wantW, ...wantB].reduce((a, x) => a + x, 0) * 4) return bad('wrong payload size');
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const read = (n: number) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++, off += 4) a[i] = dv.getFloat32(off, true);
    return a;
  };
  const W = wantW.map(read), b = wantB.map(read);
  return { W, b, referenceAcc: h.referenceAcc, teacherAcc: h.teacherAcc, curves: h.curves };
}
