// Head pruning: a model's attention heads ranked by their mean output norm on a sample of the
// corpus, and the smallest ones removed. Head h of block l writes y_h · Wo[h] to the residual
// stream (y_h: its d/heads output columns, Wo[h]: the matching rows of attn.wo); its output norm
// is the Euclidean norm of that vector, averaged over every position of every sample sequence.
// Removing a head zeroes its rows of attn.wo, so it writes nothing (attn.bo stays: it belongs to
// no head).
import type { Sequences } from './corpus.ts';
import { paramLayout, referenceLogits, tensorView, type LmShape } from './model.ts';

/** Each head's mean output norm over the sample's positions: [layers · heads], block-major. */
export function headOutputNorms(shape: LmShape, weights: Float32Array, sample: Sequences): Float64Array {
  const { dModel: d, heads: H, layers } = shape, dh = d / H;
  const layout = paramLayout(shape);
  const wo = Array.from({ length: layers }, (_, l) => tensorView(layout, weights, `h${l}.attn.wo`));
  const sums = new Float64Array(layers * H);
  let positions = 0;
  const out = new Float64Array(d);
  for (let r = 0; r < sample.count; r++) {
    const T = sample.lengths[r]!;
    positions += T;
    referenceLogits(shape, weights, sample.tokens.subarray(r * sample.context, r * sample.context + T), 1, T, {
      onHeads: (l, _row, y) => {
        const W = wo[l]!;
        for (let h = 0; h < H; h++) {
          for (let t = 0; t < T; t++) {
            out.fill(0);
            for (let c = 0; c < dh; c++) {
              const a = y[t * d + h * dh + c]!, row = (h * dh + c) * d;
              for (let j = 0; j < d; j++) out[j] += a * W[row + j]!;
            }
            let s = 0;
            for (let j = 0; j < d; j++) s += out[j]! * out[j]!;
            sums[l * H + h] += Math.sqrt(s);
          }
        }
      },
    });
  }
  return sums.map((s) => s / positions);
}

/** The `floor(fraction · layers · heads)` heads of smallest norm (ties: the earlier head), ascending index. */
export function headsToPrune(norms: Float64Array, fraction: number): number[] {
  const k = Math.floor(fraction * norms.length + 1e-9);
  const order = Array.from(norms.keys()).sort((a, b) => norms[a]! - norms[b]! || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

/** A copy of `weights` with the given heads (block-major indices) removed: their rows of attn.wo zeroed. */
export function withoutHeads(shape: LmShape, weights: Float32Array, heads: readonly number[]): Float32Array {
  const { dModel: d, heads: H } = shape, dh = d / H;
  const layout = paramLayout(shape);
  const out = weights.slice();
  for (const i of heads) {
    const l = Math.floor(i / H), h = i % H;
    if (l >= shape.layers) throw new Error(`lm_distill: head ${i} outside a model of ${shape.layers} × ${H} heads (internal error)`);
    tensorView(layout, out, `h${l}.attn.wo`).fill(0, h * dh * d, (h + 1) * dh * d);
  }
  return out;
}

/** The model pruned by output norm on `sample`, and the heads removed. fraction 0: the model itself. */
export function pruneByOutputNorm(shape: LmShape, weights: Float32Array, fraction: number, sample: Sequences): { weights: Float32Array; pruned: number[] } {
  if (Math.floor(fraction * shape.layers * shape.heads + 1e-9) === 0) return { weights, pruned: [] };
  const pruned = headsToPrune(headOutputNorms(shape, weights, sample), fraction);
  return { weights: withoutHeads(shape, weights, pruned), pruned };
}
