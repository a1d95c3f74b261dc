// Seeded randomness in plain JS, so every model's init, shuffles and noise depend only on its
// seed and a named stream: a model trained in any worker, in any group, gets the same numbers.

/** 32-bit hash of a seed and stream labels (FNV-1a over the parts, then a splitmix finaliser). */
export function streamSeed(...parts: (number | string)[]): number {
  let h = 2166136261;
  for (const p of parts) {
    const s = String(p) + '\u0000';
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  }
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** sfc32-style generator seeded from one 32-bit value; uniform doubles in [0,1). */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = 0xb7e15162; this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }
  static of(...parts: (number | string)[]): Rng {
    return new Rng(streamSeed(...parts));
  }
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) { const s = this.spare; this.spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) { const j = this.int(i + 1); const t = p[i]!; p[i] = p[j]!; p[j] = t; }
    return p;
  }
  fillNormal(out: Float32Array, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }
}

/**
 * out[o .. o+n) = the first n values of `new Rng(seed).next() * 2 − 1`, bit for bit, with the
 * generator's state in locals: the hot loop of uniform distillation noise (about 3× faster than
 * calling next()).
 */
export function fillUniformPm1(out: Float32Array, o: number, n: number, seed: number): void {
  let a = 0x9e3779b9 | 0, b = 0x243f6a88 | 0, c = 0xb7e15162 | 0, d = seed | 0;
  for (let i = -15; i < n; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    if (i >= 0) out[o + i] = ((t >>> 0) / 4294967296) * 2 - 1;
  }
}

export type DistillData = 'uniform' | 'gaussian' | 'shuffled_pixels' | 'mnist' | 'fashion';

/**
 * Fill `out` (rows × 784) with distillation inputs, already in the model's input scale [−1,1]
 * (gaussian: N(0,1)). Image j of a model is a pure function of (seed, j): the noise set is "drawn
 * once per model" without storing it, and reshuffling just visits the indices in another order.
 * `pool` holds images in [0,1] for shuffled_pixels / mnist / fashion.
 */
export function fillDistillRows(
  out: Float32Array, kind: DistillData, seed: number, indices: ArrayLike<number>, pool?: { x: Float32Array; n: number },
): void {
  const D = 784;
  for (let r = 0; r < indices.length; r++) {
    const j = indices[r]!;
    const o = r * D;
    if (kind === 'uniform') {
      fillUniformPm1(out, o, D, streamSeed(seed, 'distill', kind, j));
      continue;
    }
    const rng = Rng.of(seed, 'distill', kind, j);
    if (kind === 'gaussian') {
      for (let k = 0; k < D; k++) out[o + k] = rng.normal();
    } else {
      if (!pool) throw new Error(`distill_data ${kind} needs an image pool`);
      const src = (kind === 'shuffled_pixels' ? rng.int(pool.n) : j % pool.n) * D;
      if (kind === 'shuffled_pixels') {
        const p = rng.permutation(D);
        for (let k = 0; k < D; k++) out[o + k] = pool.x[src + p[k]!]! * 2 - 1;
      } else {
        for (let k = 0; k < D; k++) out[o + k] = pool.x[src + k]! * 2 - 1;
      }
    }
  }
}
