// A metric computed alone is the same number, to the bit, as computed with everything: for every
// metric of mlp_distill (real training, tiny config), on the ONNX Runtime engine. And a group asked
// for some parts returns exactly the metrics those parts compute (the declaration is honest).
import { describe, expect, it } from 'vitest';
import { trainGroupOnnx } from '../../src/runners/mlp_distill/onnx/engine.ts';
import { mlpDistillSchema } from '../../src/runners/mlp_distill/schema.ts';
import { metricsHeld, partsFor } from '../../src/plan/needs.ts';
import type { ModelResult } from '../../src/runners/mlp_distill/model.ts';
import { trainGroup } from '../../src/runners/mlp_distill/engine-tfjs.ts';
import { initBackend } from '../../src/backend/index.ts';

// Two distillation epochs: the epochs before the last take the CKA's cached teacher side, and the
// teacher's logits are reused; 600 test images: two CKA chunks, the second partial.
const cfg = mlpDistillSchema.resolve({ hidden: 16, batch_size: 64, epochs_teacher: 1, epochs_distill: 2, noise_size: 256, lr: 1e-3 });
const opts = { device: 'cpu' as const, threads: 2, trainLimit: 512, testLimit: 600 };
const seeds = [3, 4];
const train = (parts?: readonly string[]) => trainGroupOnnx(cfg, seeds, { ...opts, ...(parts ? { parts } : {}) });

describe('mlp_distill parts', () => {
  it('every metric computed with only its own parts is bit-identical to it computed with everything', { timeout: 180_000 }, async () => {
    const all = await train();
    const names = mlpDistillSchema.metrics.map((m) => m.name);
    expect(Object.keys(all[0]!.metrics).sort()).toEqual([...names].sort());
    // One training per distinct part set.
    const byParts = new Map<string, string[]>();
    for (const m of names) {
      const key = partsFor(mlpDistillSchema, [m], false)!.join(',');
      byParts.set(key, [...(byParts.get(key) ?? []), m]);
    }
    expect(byParts.size).toBeGreaterThanOrEqual(7); // none, four arms, two CKA evaluations
    for (const [key, metrics] of byParts) {
      const parts = key ? key.split(',') : [];
      const got: ModelResult[] = await train(parts);
      for (const [i, r] of got.entries()) {
        // Exactly what the parts compute, nothing else.
        expect(Object.keys(r.metrics).sort(), `parts [${key}]`).toEqual(metricsHeld(mlpDistillSchema, parts).sort());
        for (const m of metrics) expect(Object.is(r.metrics[m], all[i]!.metrics[m]), `${m} (parts [${key}]): ${r.metrics[m]} vs ${all[i]!.metrics[m]}`).toBe(true);
      }
      // No curves asked for: only the teacher's, which come with the teacher.
      expect(Object.keys(got[0]!.curves).sort()).toEqual(['teacher_acc', 'teacher_loss']);
    }
  });

  it('curves are taken only when asked for, and are the same as with everything', { timeout: 120_000 }, async () => {
    const all = await train();
    const some = await train(['student', 'cka', 'curves']);
    for (const [i, r] of some.entries()) {
      expect(Object.keys(r.curves).sort()).toEqual(['hidden_cka', 'student_acc', 'student_drift', 'student_loss', 'teacher_acc', 'teacher_loss', 'update_cosine']);
      for (const [k, v] of Object.entries(r.curves)) expect(v, k).toEqual(all[i]!.curves[k]);
      expect(r.curves.student_acc).toHaveLength(cfg.epochs_distill);
      expect(r.metrics.hidden_cka).toBe(all[i]!.metrics.hidden_cka);
    }
  });

  it('the TensorFlow.js engine (the cross-check) computes only the parts asked for too, the same numbers as with everything', { timeout: 180_000 }, async () => {
    const { tf } = await initBackend('wasm');
    const small = mlpDistillSchema.resolve({ ...cfg, hidden: 8, noise_size: 128 });
    const lim = { trainLimit: 256, testLimit: 300 };
    const all = trainGroup(tf, small, seeds, lim);
    for (const parts of [['student', 'cross'], ['cross', 'cross_cka'], ['student', 'cka', 'curves']]) {
      const got = trainGroup(tf, small, seeds, { ...lim, parts });
      for (const [i, r] of got.entries()) {
        expect(Object.keys(r.metrics).sort(), parts.join(',')).toEqual(metricsHeld(mlpDistillSchema, parts).sort());
        for (const [k, v] of Object.entries(r.metrics)) expect(Object.is(v, all[i]!.metrics[k]), `${k} (parts ${parts.join(',')})`).toBe(true);
        for (const [k, v] of Object.entries(r.curves)) expect(v, k).toEqual(all[i]!.curves[k]);
      }
    }
  });
});
