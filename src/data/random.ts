// Distillation inputs drawn from the seeded generators of util/random.ts.
import { Rng, fillUniformPm1, streamSeedOf } from '../util/random.ts';
import type { Uniform4Fn } from '../backend/uniform-kernel.ts';

/** The uniform-noise SIMD kernel (backend/uniform-kernel.ts) and the memory it writes. */
export interface UniformSimd {
  uniform4: Uniform4Fn;
  memory: WebAssembly.Memory;
}

export type DistillData = 'uniform' | 'gaussian' | 'shuffled_pixels' | 'mnist' | 'fashion';

/**
 * Fill `out` (rows × 784) with distillation inputs, already in the model's input scale [−1,1]
 * (gaussian: N(0,1)). Image j of a model is a pure function of (seed, j): the noise set is "drawn
 * once per model" without storing it, and reshuffling just visits the indices in another order.
 * `pool` holds images in [0,1] for shuffled_pixels / mnist / fashion.
 */
export function fillDistillRows(
  out: Float32Array, kind: DistillData, seed: number, indices: ArrayLike<number>, pool?: { x: Float32Array; n: number }, simd?: UniformSimd,
): void {
  const D = 784;
  const rowSeed = kind === 'uniform' ? streamSeedOf(seed, 'distill', kind) : undefined;
  let r = 0;
  // Uniform rows four at a time in the SIMD kernel (the same numbers) when `out` lies in its memory.
  if (rowSeed && simd && out.buffer === simd.memory.buffer && out.byteOffset % 16 === 0) {
    for (; r + 4 <= indices.length; r += 4) {
      simd.uniform4(out.byteOffset + r * D * 4, D * 4, D, rowSeed(indices[r]!), rowSeed(indices[r + 1]!), rowSeed(indices[r + 2]!), rowSeed(indices[r + 3]!));
    }
  }
  for (; r < indices.length; r++) {
    const j = indices[r]!;
    const o = r * D;
    if (rowSeed) {
      fillUniformPm1(out, o, D, rowSeed(j));
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
