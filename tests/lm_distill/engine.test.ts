import { describe, it, expect } from 'vitest';
import { LmGroup, cosineLr, type StepBatch } from '../../src/runners/lm_distill/engine.ts';
import type { LmLoss } from '../../src/runners/lm_distill/graphs.ts';
import { initWeights, lmShape, paramCount, paramLayout, referenceLogits, type LmShape, type ParamGroup } from '../../src/runners/lm_distill/model.ts';
import { Rng } from '../../src/util/random.ts';

// A tiny GPT: every parameter group, two layers, two heads, T < context (wpe's padding).
const tiny = lmShape({ vocab: 12, context: 6, dModel: 8, layers: 2, heads: 2 });
const N = 2, B = 3, T = 5;
const cpu = { threads: 2 };

/** Seeded weights with every tensor away from its init (LayerNorm g ≠ 1, biases ≠ 0), so each term of the backward pass matters. */
function weightsOf(shape: LmShape, seed: number): Float32Array {
  const w = initWeights(shape, seed);
  const r = Rng.of(seed, 'test-perturb');
  for (let k = 0; k < w.length; k++) w[k] += 0.3 * r.normal();
  return w;
}

function batchOf(seed: number, loss: LmLoss): StepBatch {
  const r = Rng.of(seed, 'test-batch');
  const M = N * B * T;
  const tokens = Int32Array.from({ length: M }, () => r.int(tiny.vocab));
  const targets = Int32Array.from({ length: M }, () => r.int(tiny.vocab));
  // Some positions masked out; weights other than 0/1 too.
  const mask = Float32Array.from({ length: M }, (_, k) => (k % 4 === 1 ? 0 : k % 7 === 0 ? 0.5 : 1));
  let probs: Float32Array | undefined;
  if (loss.kind === 'kl') {
    const K = loss.ids.length;
    probs = new Float32Array(M * K);
    for (let row = 0; row < M; row++) {
      let z = 0;
      for (let k = 0; k < K; k++) z += (probs[row * K + k] = k === 1 ? 0 : Math.exp(2 * r.normal()));
      for (let k = 0; k < K; k++) probs[row * K + k] /= z;
    }
  }
  return { B, T, tokens, targets, probs, mask };
}

/** Model i's loss in float64 through referenceLogits, as the engine defines it. */
function referenceLoss(w: Float32Array | Float64Array, b: StepBatch, loss: LmLoss, i: number): number {
  const M = B * T, V = tiny.vocab;
  const logits = referenceLogits(tiny, w, b.tokens.subarray(i * M, (i + 1) * M), B, T);
  let count = 0;
  for (let r = 0; r < M; r++) count += b.mask[i * M + r]!;
  let total = 0;
  for (let r = 0; r < M; r++) {
    const wr = b.mask[i * M + r]! / count;
    if (wr === 0) continue;
    const row = logits.subarray(r * V, (r + 1) * V);
    if (loss.kind === 'ce') {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      total += wr * (lse - row[b.targets![i * M + r]!]!);
    } else {
      const K = loss.ids.length;
      const sub = loss.ids.map((id) => row[id]!);
      const max = Math.max(...sub);
      const lse = max + Math.log(sub.reduce((a, x) => a + Math.exp(x - max), 0));
      for (let k = 0; k < K; k++) {
        const p = b.probs![(i * M + r) * K + k]!;
        if (p > 0) total += wr * p * (Math.log(p) - (sub[k]! - lse));
      }
    }
  }
  return total;
}

/** Central finite differences of model i's float64 loss, for every weight. */
function numericGradient(w32: Float32Array, b: StepBatch, loss: LmLoss, i: number): Float64Array {
  const w = Float64Array.from(w32);
  const g = new Float64Array(w.length);
  const h = 1e-5;
  for (let k = 0; k < w.length; k++) {
    const x = w[k]!;
    w[k] = x + h;
    const up = referenceLoss(w, b, loss, i);
    w[k] = x - h;
    const down = referenceLoss(w, b, loss, i);
    w[k] = x;
    g[k] = (up - down) / (2 * h);
  }
  return g;
}

async function checkGradients(loss: LmLoss, frozen: ParamGroup[]) {
  const group = new LmGroup(tiny, N, cpu);
  const ws = [weightsOf(tiny, 1), weightsOf(tiny, 2)];
  ws.forEach((w, i) => group.setModel(i, w));
  const b = batchOf(7, loss);
  const losses = await group.backward(b, loss, frozen);
  const one = paramLayout(tiny);
  for (let i = 0; i < N; i++) {
    expect(losses[i]).toBeCloseTo(referenceLoss(ws[i]!, b, loss, i), 5);
    const got = group.getModel(i, 'g');
    const want = numericGradient(ws[i]!, b, loss, i);
    for (const s of one.specs) {
      const g = got.subarray(s.offset, s.offset + s.size);
      const fd = want.subarray(s.offset, s.offset + s.size);
      if (frozen.includes(s.group)) {
        expect([...g].every((x) => x === 0), `${s.name} is frozen: no gradient`).toBe(true);
        continue;
      }
      const scale = Math.max(...[...fd].map(Math.abs));
      expect(scale, `${s.name} has a gradient to check`).toBeGreaterThan(1e-4);
      let worst = 0;
      for (let k = 0; k < s.size; k++) worst = Math.max(worst, Math.abs(g[k]! - fd[k]!));
      expect(worst / scale, `${s.name} (model ${i}): max |engine − finite differences| / max |gradient|`).toBeLessThan(5e-5); // measured ≤ 2.3e-6 (float32 rounding)
    }
  }
}

describe('lm_distill model', () => {
  it('has the prototype\'s parameter counts (111k at d 64, 31k at d 32)', () => {
    expect(paramCount(lmShape({ vocab: 153, context: 16, dModel: 64, layers: 2, heads: 4 }))).toBe(110_912);
    expect(paramCount(lmShape({ vocab: 153, context: 16, dModel: 32, layers: 2, heads: 4 }))).toBe(30_880);
  });

  it('rejects a width that the heads do not divide, and tokens outside the vocabulary', () => {
    expect(() => lmShape({ vocab: 10, context: 4, dModel: 10, layers: 1, heads: 4 })).toThrow(/multiple of heads/);
    expect(() => referenceLogits(tiny, initWeights(tiny, 0), [1, 2, 12], 1, 3)).toThrow(/outside the vocabulary/);
  });

  it('init is seeded, GPT-2 style: N(0, 0.02), residual projections smaller, LayerNorm g = 1, b = 0', () => {
    const shape = lmShape({ vocab: 153, context: 16, dModel: 64, layers: 2, heads: 4 });
    const a = initWeights(shape, 3), b = initWeights(shape, 3), c = initWeights(shape, 4);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const L = paramLayout(shape);
    const std = (name: string) => {
      const s = L.byName.get(name)!;
      const v = a.subarray(s.offset, s.offset + s.size);
      return Math.sqrt(v.reduce((x, y) => x + y * y, 0) / v.length);
    };
    expect(std('wte')).toBeCloseTo(0.02, 3);
    expect(std('h1.mlp.w1')).toBeCloseTo(0.02, 3);
    expect(std('h0.mlp.w2')).toBeCloseTo(0.01, 3); // 0.02 / √(2·2)
    const g = L.byName.get('h1.ln2.g')!, bq = L.byName.get('h0.attn.bqkv')!;
    expect([...a.subarray(g.offset, g.offset + g.size)].every((x) => x === 1)).toBe(true);
    expect([...a.subarray(bq.offset, bq.offset + bq.size)].every((x) => x === 0)).toBe(true);
  });
});

describe('lm_distill ONNX Runtime engine', () => {
  it('logits equal the float64 reference forward pass, for every model of the group', async () => {
    const group = new LmGroup(tiny, N, cpu);
    const ws = [weightsOf(tiny, 1), weightsOf(tiny, 2)];
    ws.forEach((w, i) => group.setModel(i, w));
    const { tokens } = batchOf(3, { kind: 'ce' });
    const got = await group.logits(tokens, B, T);
    const M = B * T;
    for (let i = 0; i < N; i++) {
      const want = referenceLogits(tiny, ws[i]!, tokens.subarray(i * M, (i + 1) * M), B, T);
      const g = got.subarray(i * M * tiny.vocab, (i + 1) * M * tiny.vocab);
      for (let k = 0; k < want.length; k++) expect(Math.abs(g[k]! - want[k]!)).toBeLessThan(2e-5);
    }
    expect(group.getModel(1)).toEqual(ws[1]);
  });

  it('cross-entropy gradients of every parameter equal finite differences (float64 reference)', async () => {
    await checkGradients({ kind: 'ce' }, []);
  });

  it('KL-to-a-subset gradients equal finite differences, with the embeddings frozen', async () => {
    await checkGradients({ kind: 'kl', ids: [3, 4, 5, 9, 0] }, ['embeddings']);
  });

  it('frozen MLP and attention get no gradient; the rest still matches', async () => {
    await checkGradients({ kind: 'ce' }, ['mlp', 'attention']);
  });

  it('rejects blocks longer than the context and targets outside the vocabulary', async () => {
    const group = new LmGroup(tiny, 1, cpu);
    await expect(group.logits(new Int32Array(7), 1, 7)).rejects.toThrow(/T must be 1\.\.6/);
    const b = { B: 1, T: 2, tokens: Int32Array.of(1, 2), targets: Int32Array.of(3, 12), mask: Float32Array.of(1, 0) };
    await expect(group.backward(b, { kind: 'ce' })).rejects.toThrow(/target 12 outside the vocabulary/);
  });

  it('AdamW: decoupled decay then Adam, frozen tensors untouched, as torch.optim.AdamW in float64', async () => {
    const group = new LmGroup(tiny, 1, cpu);
    const w0 = weightsOf(tiny, 5);
    group.setModel(0, w0);
    const b = batchOf(9, { kind: 'ce' });
    const one = { ...b, tokens: b.tokens.subarray(0, B * T), targets: b.targets!.subarray(0, B * T), mask: b.mask.subarray(0, B * T) };
    const lr = 1e-2, wd = 0.1;
    const ref = { w: Float64Array.from(w0), m: new Float64Array(w0.length), v: new Float64Array(w0.length) };
    const emb = paramLayout(tiny).specs.filter((s) => s.group === 'embeddings');
    const frozenAt = (k: number) => emb.some((s) => k >= s.offset && k < s.offset + s.size);
    for (let t = 1; t <= 3; t++) {
      const lrT = cosineLr(lr, t - 1, 3);
      await group.backward(one, { kind: 'ce' }, ['embeddings']);
      const g = group.getModel(0, 'g');
      group.adamW(lrT, wd, ['embeddings']);
      for (let k = 0; k < w0.length; k++) {
        if (frozenAt(k)) continue;
        ref.w[k] = ref.w[k]! * (1 - lrT * wd);
        ref.m[k] = 0.9 * ref.m[k]! + 0.1 * g[k]!;
        ref.v[k] = 0.999 * ref.v[k]! + 0.001 * g[k]! * g[k]!;
        ref.w[k] = ref.w[k]! - (lrT / (1 - 0.9 ** t)) * ref.m[k]! / (Math.sqrt(ref.v[k]! / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    const w = group.getModel(0);
    for (let k = 0; k < w.length; k++) {
      if (frozenAt(k)) expect(w[k]).toBe(w0[k]);
      else expect(Math.abs(w[k]! - ref.w[k]!)).toBeLessThan(2e-6);
    }
  });
});
