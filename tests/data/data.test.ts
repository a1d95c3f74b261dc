import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadDataset, loadIdxDir, loadBundled, clearDatasetMemo, DataError } from '../../src/data/mnist.ts';
import { encodeIdx, parseIdx } from '../../src/data/idx.ts';
import { fillDistillRows } from '../../src/data/random.ts';
import { Rng, streamSeed } from '../../src/util/random.ts';

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'sublab-data-'));
}

/** Four IDX files: nTr train and nTe test images with pixel value (i + k) % 256. */
function writeIdxSet(dir: string, nTr: number, nTe: number, gz: boolean): void {
  const img = (n: number) => Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256);
  const lab = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 10);
  const w = (name: string, dims: number[], data: Uint8Array) => {
    const buf = encodeIdx(dims, data);
    writeFileSync(path.join(dir, gz ? name + '.gz' : name), gz ? gzipSync(buf) : buf);
  };
  w('train-images-idx3-ubyte', [nTr, 28, 28], img(nTr));
  w('train-labels-idx1-ubyte', [nTr], lab(nTr));
  w('t10k-images-idx3-ubyte', [nTe, 28, 28], img(nTe));
  w('t10k-labels-idx1-ubyte', [nTe], lab(nTe));
}

describe('bundled MNIST subset', () => {
  it('has the documented fixed split, pixels in [0,1], and round-trips through the cache', () => {
    const cache = tmp();
    const a = loadDataset('mnist', '', cache);
    expect(a.nTrain).toBe(8000);
    expect(a.nTest).toBe(2000);
    expect(a.trainX.length).toBe(8000 * 784);
    const counts = new Array(10).fill(0);
    for (const y of a.testY) counts[y]++;
    expect(Math.min(...counts)).toBeGreaterThan(150); // per-class 80/20 split: every class in test
    let lo = Infinity, hi = -Infinity;
    for (const v of a.trainX) { if (v < lo) lo = v; if (v > hi) hi = v; }
    expect(lo).toBe(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.9);
    const files = readdirSync(cache);
    expect(files.some((f) => f.endsWith('.bin'))).toBe(true);
    expect(files.some((f) => f.endsWith('.tmp'))).toBe(false);
    clearDatasetMemo();
    const b = loadDataset('mnist', '', cache); // from the binary cache now
    const fresh = loadBundled();
    // (element loops: deep equality on 6M-element typed arrays is very slow in Vitest)
    let diff = 0;
    for (let i = 0; i < fresh.trainX.length; i++) if (b.trainX[i] !== fresh.trainX[i]) diff++;
    expect(diff).toBe(0);
    expect(Buffer.from(b.testY).equals(Buffer.from(fresh.testY))).toBe(true);
  });
});

describe('IDX files', () => {
  it('reads gz and plain IDX sets written by the test', () => {
    for (const gz of [true, false]) {
      const dir = tmp();
      writeIdxSet(dir, 30, 20, gz);
      const d = loadIdxDir(dir);
      expect(d.nTrain).toBe(30);
      expect(d.nTest).toBe(20);
      expect(d.trainY[13]).toBe(3);
      expect(d.trainX[5]).toBeCloseTo(35 / 255, 6);
      expect(d.testX[784 * 19 + 783]).toBeCloseTo(((784 * 19 + 783) * 7 % 256) / 255, 6);
    }
  });

  it('loads through loadDataset with a cache, same values the second time', () => {
    const dir = tmp(), cache = tmp();
    writeIdxSet(dir, 12, 10, true);
    loadDataset('fashion_mnist', dir, cache);
    expect(readdirSync(cache).length).toBe(1);
    clearDatasetMemo();
    const a = loadDataset('fashion_mnist', dir, cache);
    const b = loadIdxDir(dir);
    expect(Array.from(a.trainX)).toEqual(Array.from(b.trainX));
    expect(Array.from(a.testY)).toEqual(Array.from(b.testY));
  });

  it('a truncated file is a clear error naming the file and the expected size', () => {
    const dir = tmp();
    writeIdxSet(dir, 10, 10, false);
    const f = path.join(dir, 'train-images-idx3-ubyte');
    const good = encodeIdx([10, 28, 28], new Uint8Array(10 * 784));
    writeFileSync(f, good.subarray(0, good.length - 100));
    expect(() => loadIdxDir(dir)).toThrow(DataError);
    expect(() => loadIdxDir(dir)).toThrow(/train-images-idx3-ubyte: size mismatch: header says 10×28×28 = 7840 bytes of data, file has 7740/);
  });

  it('wrong magic, wrong dimensions, bad gzip and missing files are named', () => {
    expect(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), 'x.idx')).toThrow(/x.idx: not an IDX file/);
    expect(() => parseIdx(encodeIdx([3], new Uint8Array(3)), 'lab.idx', 3)).toThrow(/lab.idx: IDX magic 0x00000801 has 1 dimensions, expected 3/);
    expect(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'bad.gz')).toThrow(/bad.gz: corrupt gzip stream/);
    const dir = tmp();
    expect(() => loadIdxDir(dir)).toThrow(/train-images-idx3-ubyte\[\.gz\]: file not found/);
    const dir2 = tmp();
    writeIdxSet(dir2, 10, 10, false);
    writeFileSync(path.join(dir2, 'train-labels-idx1-ubyte'), encodeIdx([9], new Uint8Array(9)));
    expect(() => loadIdxDir(dir2)).toThrow(/train-labels-idx1-ubyte: 9 labels, expected 10/);
  });

  it('Debian Fashion-MNIST location is used when present', () => {
    if (!existsSync('/usr/share/datasets/fashion-mnist')) {
      expect(() => loadDataset('fashion_mnist', '', tmp())).toThrow(/dataset-fashion-mnist/);
    }
  });
});

describe('seeded randomness', () => {
  it('streams are deterministic and distinct', () => {
    expect(streamSeed(1, 'init')).toBe(streamSeed(1, 'init'));
    expect(streamSeed(1, 'init')).not.toBe(streamSeed(2, 'init'));
    expect(streamSeed(1, 'init')).not.toBe(streamSeed(1, 'noise'));
    const r = Rng.of(5, 'x');
    let s = 0, s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) { const v = r.normal(); s += v; s2 += v * v; }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.04);
    const p = Rng.of(1).permutation(50);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('distillation inputs: uniform in [−1,1], image j a function of (seed, j) only', () => {
    const a = new Float32Array(3 * 784), b = new Float32Array(784);
    fillDistillRows(a, 'uniform', 7, [0, 5, 9]);
    fillDistillRows(b, 'uniform', 7, [5]);
    expect(Array.from(a.subarray(784, 1568))).toEqual(Array.from(b));
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    const pool = { x: Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 784) / 783), n: 2 };
    const c = new Float32Array(784);
    fillDistillRows(c, 'shuffled_pixels', 1, [0], pool);
    expect([...c].sort((x, y) => x - y)[0]).toBeCloseTo(-1, 6); // same pixels, permuted
    expect(c[0]).not.toBeCloseTo(-1, 3);
  });
});
