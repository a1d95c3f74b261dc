// The tiny test model is the same bytes it was before it got its own room: weights (planted
// entanglement included) from the seed, the ONNX graphs, the fp16 encoding.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildTinyTokenizer } from '../../src/tiny-model/tokenizer.ts';
import { makeTinyWeights, type TinyWeights } from '../../src/tiny-model/weights.ts';
import { buildTinyOnnx } from '../../src/tiny-model/onnx-model.ts';
import { toHalfBytes } from '../../src/tiny-model/fp16.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const weightsHash = (w: TinyWeights) =>
  createHash('sha256').update((['embed', 'pos', 'wq', 'wk', 'wv', 'wo', 'lmHead'] as const).map((k) => sha(new Uint8Array(w[k].buffer))).join(',')).digest('hex');

describe('tiny model, pinned', () => {
  const tok = buildTinyTokenizer();
  it('tokenizer size and weights per seed', () => {
    expect(tok.vocab.size).toBe(1969);
    expect(weightsHash(makeTinyWeights(tok))).toBe('107cd09a83043770ac8e42c58b1ed0dc3241e1058f1cc6f37958f9241af058af');
    expect(weightsHash(makeTinyWeights(tok, { seed: 3, hidden: 8 }))).toBe('b4fb51debcfeb84410c79b7d1784faae510ae87413d23849efa5afde9415a07a');
    expect(weightsHash(makeTinyWeights(tok, { seed: 1 }))).toBe('3dfdf73a4dade382aac202de100e5d19af8ca49f03cbf1879fe1c8aa66801281');
  });

  it('ONNX graphs (float32 and fp16) and the half encoding', () => {
    const w = makeTinyWeights(tok);
    expect(sha(buildTinyOnnx(w).model)).toBe('4b8b0d6c8bf6b668529393b2f03ef58f9f239f756afcbdf7831e3319c1030b5e');
    expect(sha(buildTinyOnnx(w, undefined, true).model)).toBe('7f9e6dc7a76a2c8ba27b723997540d49940fa369c2f990e078351c0420ba2dd8');
    // 0, 1, −2.5, 65504 (largest half), 1e-8 (underflows to 0), 70000 and NaN (both to +Inf).
    expect(Array.from(toHalfBytes(Float32Array.from([0, 1, -2.5, 65504, 1e-8, 70000, NaN])))).toEqual([0, 0, 0, 60, 0, 193, 255, 123, 0, 0, 0, 124, 0, 124]);
  });
});
