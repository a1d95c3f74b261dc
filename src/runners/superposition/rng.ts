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
}

/**
 * Fill `out[offset .. offset+count)` with sparse features: each is 0 with probability `sparsity`,
 * else uniform [0, 1). One draw per feature: given u ≥ S, (u − S)/(1 − S) is uniform on [0, 1).
 */
export function fillSparse(rng: Rng, out: Float32Array, offset: number, count: number, sparsity: number): void {
  const scale = sparsity < 1 ? 1 / (1 - sparsity) : 0;
  for (let i = 0; i < count; i++) {
    const u = rng.next();
    out[offset + i] = u < sparsity ? 0 : (u - sparsity) * scale;
  }
}

/**
 * Fill B examples of F features at `offset`: the first `active` features of each example sparse as
 * in fillSparse, the remaining F − active set to zero (auxiliary features that never fire).
 */
export function fillBatch(rng: Rng, out: Float32Array, offset: number, B: number, F: number, active: number, sparsity: number): void {
  if (active === F) return fillSparse(rng, out, offset, B * F, sparsity);
  for (let e = 0; e < B; e++) {
    const o = offset + e * F;
    fillSparse(rng, out, o, active, sparsity);
    out.fill(0, o + active, o + F);
  }
}
