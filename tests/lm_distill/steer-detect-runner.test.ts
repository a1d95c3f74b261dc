// trait_method = steer and detect = bias through the runner on a tiny config (seconds of real
// training): the steered teachers are the base with a vector added, so they move P(trait) without
// training; the detector's metrics come out for teacher and control data, only when asked for;
// the parameters' bounds are checked with the reason.
import { describe, expect, it } from 'vitest';
import { runner } from '../../src/runners/lm_distill/runner.ts';
import { lmDistillSchema } from '../../src/runners/lm_distill/schema.ts';

// The runner test's tiny config (d 16, one block), context 16 for the steering prefix.
const sets = {
  d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
  trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
};
const DETECT = ['detect_loss_gain', 'detect_trait', 'detect_loss_gain_control', 'detect_trait_control'];

describe('lm_distill: steering and detection', () => {
  it('a steered teacher moves P(trait) with no training; detect = bias reports its four metrics, and none without it', { timeout: 180_000 }, async () => {
    const run = async (over: Record<string, string | number>) => (await runner.run([{ id: 's', params: { ...sets, ...over }, seed: 4 }], { progress: () => {} }))[0]!;
    const steer = await run({ trait_method: 'steer', steer_scale: 8, detect: 'bias', detect_layer: 1 });
    const m = steer.rows[0]!.metrics;
    // The steered teacher is the base plus a vector (30 pretraining steps teach no direction, so
    // only that it moved is checked); its control (the prefix's animal averaged) differs from it.
    expect(m.trait_teacher!).not.toBeCloseTo(m.trait_base!, 4);
    expect(m.trait_student!).not.toBe(m.trait_control!);
    expect(m.filter_pass!).toBeGreaterThan(0);
    for (const k of DETECT) expect(Number.isFinite(m[k]!), k).toBe(true);
    // The bias only adds to the base: its loss gain is a share of the student's (the student trains every weight).
    expect(m.detect_loss_gain!).toBeGreaterThan(0);
    expect(m.detect_loss_gain!).toBeLessThan(1.5);
    expect(m.detect_trait!).not.toBe(m.trait_base!);
    // A scale of 0 is the base itself: teacher and base agree.
    const zero = await run({ trait_method: 'steer', steer_scale: 0 });
    expect(zero.rows[0]!.metrics.trait_teacher).toBeCloseTo(zero.rows[0]!.metrics.trait_base!, 6);
    for (const k of DETECT) expect(zero.rows[0]!.metrics[k]).toBeUndefined();
  });

  it('refuses a steer or detect layer beyond the blocks, and steering with a short context', () => {
    expect(() => lmDistillSchema.resolve({ layers: 2, steer_layer: 3 })).toThrow(/steer_layer \(3\) must be at most layers \(2\)/);
    expect(() => lmDistillSchema.resolve({ layers: 2, detect_layer: 3 })).toThrow(/detect_layer \(3\) must be at most layers \(2\)/);
    expect(() => lmDistillSchema.resolve({ trait_method: 'steer', context: 9 })).toThrow(/context ≥ 10/);
    expect(() => lmDistillSchema.resolve({ trait_method: 'steer', steer_layer: 0, detect: 'bias', detect_layer: 2 })).not.toThrow();
  });
});
