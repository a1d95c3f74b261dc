// Seeded randomness in plain JS, the one module every stage draws from: init, shuffles, noise and
// data depend only on a seed and a named stream, so a model trained in any worker, in any group,
// gets the same numbers, whatever else ran in the process. Two generators, because committed
// results were drawn from both: sfc32 (training and data) and mulberry32 (the verdicts'
// Monte Carlo permutations, the tiny test model, the language fuzz test). Every stream is pinned
// in tests/util/random.test.ts; a change to any draw here changes results.

const TWO_M32 = 1 / 4294967296;

/** 32-bit hash of a seed and stream labels (FNV-1a over the parts, then a splitmix finaliser). */
export function streamSeed(...parts: (number | string)[]): number {
  return finishSeed(parts.reduce(fnvPart, 2166136261));
}

/** streamSeed(...parts, last) for many values of `last`, with the common parts hashed once. */
export function streamSeedOf(...parts: (number | string)[]): (last: number | string) => number {
  const h = parts.reduce(fnvPart, 2166136261);
  return (last) => finishSeed(fnvPart(h, last));
}

function fnvPart(h: number, p: number | string): number {
  const s = String(p) + '\u0000';
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

function finishSeed(h: number): number {
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15; h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** splitmix32: turns (seed, stream) into well-mixed 32-bit states. */
function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded generator: 32-bit words from a subclass, and every kind of draw built on them. */
export abstract class Rng {
  private spare: number | undefined;

  abstract nextU32(): number;

  /** sfc32 keyed by a hash of the seed and stream labels: `Rng.of(seed, 'init')`. */
  static of(...parts: (number | string)[]): Sfc32 {
    return Rng.fromSeed(streamSeed(...parts));
  }

  /** sfc32 from one 32-bit value (fixed a, b, c; d = seed; 15 warm-up steps). */
  static fromSeed(seed: number): Sfc32 {
    return new Sfc32(0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0, 15);
  }

  /** sfc32 keyed by (seed, stream number) through splitmix32 (12 warm-up steps): superposition's streams. */
  static stream(seed: number, stream: number): Sfc32 {
    const sm = splitmix32((Math.imul(seed | 0, 0x2545f491) ^ Math.imul(stream + 1, 0x9e3779b1)) | 0);
    return new Sfc32(sm(), sm(), sm(), sm(), 12);
  }

  static mulberry32(seed: number): Mulberry32 {
    return new Mulberry32(seed);
  }

  /** Uniform in [0, 1) with 2^-32 resolution. */
  next(): number {
    return this.nextU32() * TWO_M32;
  }

  /** Standard normal: Box–Muller, the pair's second value returned by the next call. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = this.next();
    while (u === 0) u = this.next(); // log(0) guard
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Forget the cached second value of the last Box–Muller pair (the next normal() draws afresh). */
  discardSpare(): void {
    this.spare = undefined;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform random permutation of 0..n−1 (Fisher–Yates from the top). */
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

/** sfc32 (Chris Doty-Humphrey's small fast chaotic generator). */
export class Sfc32 extends Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Use Rng.of, Rng.fromSeed or Rng.stream: the seeding is part of every stream's identity. */
  constructor(a: number, b: number, c: number, d: number, warmup: number) {
    super();
    this.a = a; this.b = b; this.c = c; this.d = d;
    for (let i = 0; i < warmup; i++) this.nextU32();
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

  /**
   * B examples of F features at `offset`: the first `active` of each sparse (0 with probability
   * `sparsity`, else (u − S)/(1 − S) of the draw u ≥ S, uniform on [0, 1)), the rest 0. The same
   * draws, in the same order, as calling next() once per active feature, with the state kept in
   * int32 locals (about 5× faster: data generation is most of a superposition step's time).
   */
  fillBatch(out: Float32Array, offset: number, B: number, F: number, active: number, sparsity: number): void {
    const scale = sparsity < 1 ? 1 / (1 - sparsity) : 0;
    let a = this.a | 0, b = this.b | 0, c = this.c | 0, d = this.d | 0;
    const thr = sparsity * 4294967296;
    for (let e = 0; e < B; e++) {
      const o = offset + e * F;
      for (let k = 0; k < active; k++) {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        // u = t / 2^32 < S exactly when t < S · 2^32 (both products by 2^±32 are exact).
        const u = t >>> 0;
        out[o + k] = u < thr ? 0 : (u * TWO_M32 - sparsity) * scale;
      }
      for (let k = active; k < F; k++) out[o + k] = 0;
    }
    this.a = a; this.b = b; this.c = c; this.d = d;
  }
}

/** mulberry32 (Tommy Ettinger's one-word generator). */
export class Mulberry32 extends Rng {
  private s: number;

  constructor(seed: number) {
    super();
    this.s = seed >>> 0;
  }

  nextU32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

/**
 * out[o .. o+n) = the first n values of `Rng.fromSeed(seed).next() * 2 − 1`, bit for bit, with the
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
