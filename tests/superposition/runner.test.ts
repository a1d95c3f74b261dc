import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { runner, forward, weightedMse, gradients, lossWeights, weightMetrics, activeFeatures } from '../../src/runners/superposition/runner.ts';
import { superpositionSchema } from '../../src/runners/superposition/schema.ts';
import { Rng } from '../../src/util/random.ts';
import type { RunOutput, RunSpec } from '../../src/runners/schema.ts';
import type { Value } from '../../src/language/ast.ts';

type TF = Awaited<ReturnType<typeof initBackend>>['tf'];
let tf: TF;
beforeAll(async () => {
  ({ tf } = await initBackend());
});

const ctx = { progress() {} };
const tiny: Record<string, Value> = { features: 6, hidden: 2, steps: 30, batch_size: 32, eval_batch: 64, sparsity: 0.7 };
const specs = (params: Record<string, Value>, seeds: number[]): RunSpec[] => seeds.map((seed) => ({ id: `s${seed}`, seed, params }));
const metrics = (o: RunOutput): Record<string, number> => o.rows[0]!.metrics;

describe('superposition model arithmetic', () => {
  it('forward computes ReLU(WᵀW x + b) per model', () => {
    // One model, m = 1, F = 2: W = [1, 2], b = [0, -10], x = [1, 1] → WᵀW x = [3, 6] → ReLU([3, -4]).
    const out = tf.tidy(() => forward(tf, tf.tensor3d([1, 2], [1, 1, 2]), tf.tensor3d([0, -10], [1, 1, 2]), tf.tensor3d([1, 1], [1, 1, 2])).arraySync());
    expect(out).toEqual([[[3, 0]]]);
  });

  it('the weighted MSE equals a hand-computed value', () => {
    // Two models, batch 2, F = 2, weights [1, 0.5]:
    // model 0: errors (1, 2) and (0, 2) → (1 + 0.5·4 + 0 + 0.5·4) / 4 = 1.25
    // model 1: errors (3, 0) and (1, 1) → (9 + 0 + 1 + 0.5) / 4 = 2.625
    const loss = tf.tidy(() =>
      Array.from(weightedMse(tf, tf.tensor3d([1, 2, 0, 2, 3, 0, 1, 1], [2, 2, 2]), tf.zeros([2, 2, 2]), tf.tensor1d([1, 0.5])).dataSync()),
    );
    expect(loss[0]).toBeCloseTo(1.25, 6);
    expect(loss[1]).toBeCloseTo(2.625, 6);
  });

  it('hand-written gradients match finite differences of the loss', () => {
    const rng = Rng.stream(11, 0);
    const [N, B, m, F] = [2, 5, 3, 4];
    const W = Array.from({ length: N * m * F }, () => rng.normal());
    const b = Array.from({ length: N * F }, () => 0.1 * rng.normal());
    const x = new Float32Array(N * B * F);
    rng.fillBatch(x, 0, 1, x.length, x.length, 0.3);
    const t = Array.from({ length: N * B * F }, () => rng.next());
    const w = [1, 0.7, 0.49, 0];
    const lossAt = (Wv: number[], bv: number[]): number =>
      tf.tidy(() => tf.sum(weightedMse(tf, forward(tf, tf.tensor3d(Wv, [N, m, F]), tf.tensor3d(bv, [N, 1, F]), tf.tensor3d(x, [N, B, F])), tf.tensor3d(t, [N, B, F]), tf.tensor1d(w))).arraySync() as number);
    const { dW, db } = tf.tidy(() => {
      const g = gradients(tf, tf.tensor3d(W, [N, m, F]), tf.tensor3d(b, [N, 1, F]), tf.tensor3d(x, [N, B, F]), tf.tensor3d(t, [N, B, F]), tf.tensor1d(w));
      return { dW: Array.from(g.dW.dataSync()), db: Array.from(g.db.dataSync()) };
    });
    const h = 1e-2;
    for (const i of [0, 5, 13, 23]) {
      const up = [...W];
      const dn = [...W];
      up[i]! += h;
      dn[i]! -= h;
      expect(dW[i]!).toBeCloseTo((lossAt(up, b) - lossAt(dn, b)) / (2 * h), 2);
    }
    for (const i of [1, 6]) {
      const up = [...b];
      const dn = [...b];
      up[i]! += h;
      dn[i]! -= h;
      expect(db[i]!).toBeCloseTo((lossAt(W, up) - lossAt(W, dn)) / (2 * h), 2);
    }
  });

  it('loss weights: importance^i for the teacher; the child drops the ablated feature or keeps only the auxiliary ones', () => {
    const abl = lossWeights(superpositionSchema.resolve({ variant: 'ablated', features: 3, importance: 0.5, ablate: 1 }));
    expect(Array.from(abl.teacher)).toEqual([1, 0.5, 0.25]);
    expect(Array.from(abl.child)).toEqual([1, 0, 0.25]);
    const aux = lossWeights(superpositionSchema.resolve({ variant: 'auxiliary', features: 2, aux_features: 2, importance: 0.5 }));
    expect(Array.from(aux.teacher)).toEqual([1, 0.5, 0, 0]);
    expect(Array.from(aux.child)).toEqual([0, 0, 1, 1]);
  });

  it('weight metrics: features per dimension and norm ratio of the never-supervised column', () => {
    const cfg = superpositionSchema.resolve({ variant: 'ablated', features: 2, hidden: 2, ablate: 1 });
    // Row-major [m, F]: teacher columns (3,4) and (0,2); child column 1 = (0,1); inits all 0.
    const teacher = new Float32Array([3, 0, 4, 2]);
    const child = new Float32Array([1, 0, 0, 1]);
    const zero = new Float32Array(4);
    const wm = weightMetrics(cfg, 0, teacher, child, zero, zero);
    expect(wm.teacher_features_per_dim).toBeCloseTo((9 + 16 + 4) / 2, 6);
    expect(wm.child_features_per_dim).toBeCloseTo(1, 6);
    expect(wm.transfer_ratio).toBeCloseTo(0.5, 6);
    expect(wm.transfer_cosine).toBeCloseTo(1, 6);
  });

  it('sparse data: zero with probability S, else uniform [0,1)', () => {
    const buf = new Float32Array(200_000);
    Rng.stream(1, 1).fillBatch(buf, 0, 1, buf.length, buf.length, 0.9);
    const nz = buf.filter((v) => v !== 0);
    expect(nz.length / buf.length).toBeGreaterThan(0.095);
    expect(nz.length / buf.length).toBeLessThan(0.105);
    const mean = nz.reduce((s, v) => s + v, 0) / nz.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(Math.max(...nz)).toBeLessThan(1);
  });

  it('auxiliary inputs stay zero unless aux_input = sparse', () => {
    const buf = new Float32Array(3 * 5);
    Rng.stream(2, 2).fillBatch(buf, 0, 3, 5, 3, 0);
    for (let e = 0; e < 3; e++) {
      expect(buf[e * 5 + 3]).toBe(0);
      expect(buf[e * 5 + 4]).toBe(0);
      expect(buf[e * 5]).toBeGreaterThan(0);
    }
    expect(activeFeatures(superpositionSchema.resolve({ variant: 'auxiliary', features: 3, aux_features: 2 }))).toBe(3);
    expect(activeFeatures(superpositionSchema.resolve({ variant: 'auxiliary', features: 3, aux_features: 2, aux_input: 'sparse' }))).toBe(5);
  });

  it('rejects bad parameters with a clear message', () => {
    expect(() => superpositionSchema.resolve({ variant: 'ablated', features: 4, ablate: 4 })).toThrow(/ablate must be a feature index in \[0, 3\]/);
    expect(() => superpositionSchema.resolve({ variant: 'auxiliary', aux_features: 0 })).toThrow(/aux_features >= 1/);
    // Single-parameter checks come from the declaration, worded as `sublab check` words them.
    expect(() => superpositionSchema.resolve({ variant: 'nope' })).toThrow(/^superposition: "variant" must be one of ablated, auxiliary but got "nope"$/);
    expect(() => superpositionSchema.resolve({ sparsity: 1 })).toThrow(/^superposition: "sparsity" must be <= 0.9999 but is 1$/);
    expect(() => superpositionSchema.resolve({ features: 2.5 })).toThrow(/"features" expects an integer but got 2.5/);
    expect(() => superpositionSchema.resolve({ featurs: 3 })).toThrow(/unknown parameter "featurs" \(did you mean "features"\?\)/);
  });
});

describe('superposition runner (real training, tiny configs)', () => {
  // On the default engine (ONNX Runtime); onnx-engine.test.ts compares it with TensorFlow.js.
  it('returns one finite, in-range row per seed for both variants, with the engine and device', async () => {
    for (const variant of ['ablated', 'auxiliary']) {
      const outs = await runner.run(specs({ ...tiny, variant, aux_features: 2 }, [0, 1, 2]), ctx);
      expect(outs).toHaveLength(3);
      for (const o of outs) {
        expect(o.backend).toMatch(/^onnxruntime\/(cpu|cuda) \(\d+ threads?\)$/);
        const m = metrics(o);
        for (const v of Object.values(m)) expect(Number.isFinite(v)).toBe(true);
        expect(Object.keys(m).sort()).toEqual(runner.schema.metrics.map((s) => s.name).sort());
        expect(m.teacher_features_per_dim).toBeGreaterThan(0);
        expect(m.transfer_ratio).toBeGreaterThanOrEqual(0);
        expect(Math.abs(m.transfer_cosine!)).toBeLessThanOrEqual(1 + 1e-9);
        expect(m.teacher_loss).toBeGreaterThanOrEqual(0);
        expect(m.child_loss).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('a seed reproduces bit for bit, alone or in a group; different seeds differ (TensorFlow.js engine)', async () => {
    const p = { ...tiny, variant: 'ablated', backend: 'tfjs' };
    const a = await runner.run(specs(p, [5]), ctx);
    const b = await runner.run(specs(p, [5]), ctx);
    const grouped = await runner.run(specs(p, [4, 5, 6]), ctx);
    expect(metrics(b[0]!)).toEqual(metrics(a[0]!));
    expect(metrics(grouped[1]!)).toEqual(metrics(a[0]!));
    expect(metrics(grouped[0]!).teacher_loss).not.toEqual(metrics(grouped[1]!).teacher_loss);
    expect(metrics(grouped[0]!).transfer_ratio).not.toEqual(metrics(grouped[1]!).transfer_ratio);
  });

  it('leaves no tensors behind (TensorFlow.js engine)', async () => {
    await runner.run(specs({ ...tiny, steps: 5, backend: 'tfjs' }, [0]), ctx);
    const before = tf.memory().numTensors;
    await runner.run(specs({ ...tiny, steps: 20, variant: 'auxiliary', aux_features: 2, backend: 'tfjs' }, [0, 1]), ctx);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops when cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runner.run(specs({ ...tiny, steps: 200 }, [0]), { progress() {}, signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it('reports progress for teacher and child phases', async () => {
    const phases = new Set<string>();
    await runner.run(specs({ ...tiny, steps: 10 }, [0]), { progress: (m) => phases.add(m.phase) });
    expect([...phases]).toEqual(['teacher', 'child']);
  });

  it('transfers the ablated feature in superposition (sparse) but not without it (dense)', async () => {
    // Small fast regime: 8 features in 3 dimensions. Dense data: the teacher keeps the top 3 features
    // orthogonal, so nothing in the other outputs carries feature 0 and the child lets it decay.
    // Sparse data: feature 0 shares dimensions with others, and their outputs carry it.
    const p = { features: 8, hidden: 3, steps: 400, batch_size: 64, lr: 0.01, eval_batch: 256, variant: 'ablated', ablate: 0 };
    const dense = (await runner.run(specs({ ...p, sparsity: 0 }, [0, 1, 2]), ctx)).map((o) => metrics(o).transfer_ratio!);
    const sparse = (await runner.run(specs({ ...p, sparsity: 0.9 }, [0, 1, 2]), ctx)).map((o) => metrics(o).transfer_ratio!);
    expect(Math.min(...sparse)).toBeGreaterThan(0.8);
    expect(Math.max(...dense)).toBeLessThan(0.5);
  }, 60_000);

  it('auxiliary: a child with the shared init follows the teacher through the auxiliary outputs; an independent one does not', async () => {
    const p = { features: 8, hidden: 3, aux_features: 3, steps: 400, batch_size: 64, lr: 0.01, eval_batch: 256, variant: 'auxiliary', sparsity: 0.9 };
    const shared = (await runner.run(specs({ ...p, child_init: 'shared' }, [0, 1, 2]), ctx)).map((o) => metrics(o).transfer_cosine!);
    const indep = (await runner.run(specs({ ...p, child_init: 'independent' }, [0, 1, 2]), ctx)).map((o) => metrics(o).transfer_cosine!);
    expect(Math.min(...shared)).toBeGreaterThan(0.6);
    expect(Math.max(...indep)).toBeLessThan(0.5);
  }, 60_000);
});
