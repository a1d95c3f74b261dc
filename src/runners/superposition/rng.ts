// A small seeded PRNG for the superposition runner. Init and data come from here, not from
// Math.random or TF.js's global RNG, so a seed fixes a run bit-for-bit whatever else ran in the
// process and whichever seeds shared its group.

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

const TWO_M32 = 1 / 4294967296;

/** sfc32 generator: uniform floats in [0, 1) with 2^-32 resolution. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  /** `stream` separates independent sequences of one seed (init, teacher data, child data, ...). */
  constructor(seed: number, stream: number) {
    const sm = splitmix32((Math.imul(seed | 0, 0x2545f491) ^ Math.imul(stream + 1, 0x9e3779b1)) | 0);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return (t >>> 0) / 4294967296;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * B examples of F features at `offset`: the first `active` of each sparse (0 with probability
   * `sparsity`, else (u − S)/(1 − S) of the draw u ≥ S), the rest 0. The same draws, in the same
   * order, as calling next() once per active feature, with the generator's state kept in locals
   * (about 5× faster: data generation is most of a step's time on ONNX Runtime).
   */
  fillBatch(out: Float32Array, offset: number, B: number, F: number, active: number, sparsity: number): void {
    const scale = sparsity < 1 ? 1 / (1 - sparsity) : 0;
    // `| 0`: the seeded state is unsigned; int32 locals keep the loop in integer registers.
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
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

/**
 * Fill `out[offset .. offset+count)` with sparse features: each is 0 with probability `sparsity`,
 * else uniform [0, 1). One draw per feature: given u ≥ S, (u − S)/(1 − S) is uniform on [0, 1).
 */
export function fillSparse(rng: Rng, out: Float32Array, offset: number, count: number, sparsity: number): void {
  rng.fillBatch(out, offset, 1, count, count, sparsity);
}

/**
 * Fill B examples of F features at `offset`: the first `active` features of each example sparse as
 * in fillSparse, the remaining F − active set to zero (auxiliary features that never fire).
 */
export function fillBatch(rng: Rng, out: Float32Array, offset: number, B: number, F: number, active: number, sparsity: number): void {
  rng.fillBatch(out, offset, B, F, active, sparsity);
}
