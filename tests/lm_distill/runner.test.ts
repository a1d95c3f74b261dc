// The lm_distill runner end to end on a tiny config, through real `sublab run`s: the stages are
// computed once per seed and reused across a sweep of a student parameter (and only the stages
// after a teacher parameter are recomputed when it is swept), every number is the same with or
// without the store and in a group of any size, and bad combinations are refused clearly.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../src/cli/run.ts';
import { runner } from '../../src/runners/lm_distill/runner.ts';
import { lmDistillSchema } from '../../src/runners/lm_distill/schema.ts';
import type { Value } from '../../src/language/ast.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(os.tmpdir(), 'sublab-lm-runner-')); dirs.push(d); return d; };
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

// Tiny: d 16, one block, 30 pretraining steps on 2,000 sequences, 200 generations per teacher.
const sets: Record<string, Value> = {
  d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
  trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
};
const expFile = (dir: string, name: string, sweep: string, seeds = 2) => {
  const f = path.join(dir, `${name}.exp`);
  const lines = Object.entries(sets).filter(([k]) => !sweep.startsWith(`sweep ${k} `)).map(([k, v]) => `  set ${k} = ${v}\n`).join('');
  writeFileSync(f, `experiment "${name}" {\n  runner lm_distill\n${lines}  ${sweep}\n  seeds ${seeds}\n}\n`);
  return f;
};
type Counts = { computed: number; reused: number; corrupt: number };
type Row = Record<string, Value> & { seed: number; stage_keys: Record<string, string> };
const run = async (file: string, args: string[]) => {
  const json = path.join(path.dirname(file), `out-${Math.random().toString(36).slice(2)}.json`);
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const code = await runCommand([file, '--json', json, '--progress-json', '--all-metrics', ...args]);
  vi.restoreAllMocks();
  expect(code, stderr).toBeLessThanOrEqual(1); // 1: no predictions to confirm
  const exp = JSON.parse(readFileSync(json, 'utf8')).experiments[0] as { rows: Row[]; stages?: { stage: string; artifacts: number; runs: number }[] };
  const last = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
  return { exp, counts: (last?.stages ?? {}) as Record<string, Counts>, stderr };
};
const metricsOf = (rows: readonly Row[]) => rows.map((r) => Object.fromEntries(lmDistillSchema.metrics.map((m) => [m.name, r[m.name]])));
/** The same runs by the runner alone, one seed a call, with no store (a temporary one). */
const plain = async (rows: readonly Row[]) => {
  const out = [];
  for (const r of rows) {
    const params = Object.fromEntries(lmDistillSchema.params.filter((p) => p.name in r && p.name !== 'seed').map((p) => [p.name, r[p.name]!]));
    const [o] = await runner.run([{ id: 'r', params, seed: r.seed }], { progress: () => {} });
    out.push(Object.fromEntries(lmDistillSchema.metrics.map((m) => [m.name, o!.rows[0]!.metrics[m.name]])));
  }
  return out;
};

describe('lm_distill in sublab run', () => {
  it('a student sweep computes each seed\'s stages once, a teacher sweep reuses the bases; the numbers equal a run without the store, alone', { timeout: 300_000 }, async () => {
    const dir = tmp(), cache = path.join(dir, 'cache');
    const lr = await run(expFile(dir, 'student-lr', 'sweep student_lr in [0.001, 0.01]'), ['--cache', cache]);
    expect(lr.exp.rows).toHaveLength(4);
    // Seeds 0, 1 and the cross-init students' base of seed 2, computed by the first point's group,
    // loaded by the second's (which needs no corpus).
    expect(lr.counts.base).toEqual({ computed: 3, reused: 3, corrupt: 0 });
    expect(lr.counts.corpus).toEqual({ computed: 3, reused: 0, corrupt: 0 });
    expect(lr.counts.teacher).toEqual({ computed: 2, reused: 2, corrupt: 0 });
    expect(lr.counts.numbers).toEqual({ computed: 2, reused: 2, corrupt: 0 });
    for (const r of lr.exp.rows) {
      const m = r as unknown as Record<string, number>;
      for (const k of ['trait_base', 'trait_teacher', 'trait_student', 'trait_control', 'trait_cross', 'animal_mass']) expect(m[k]).toBeGreaterThan(0);
      expect(m.filter_pass).toBeGreaterThan(0);
      expect(m.filter_pass).toBeLessThanOrEqual(1);
      expect(Number.isFinite(m.number_kl_student)).toBe(true);
    }
    // The swept factor reaches the students only.
    const bySeed = (s: number) => lr.exp.rows.filter((r) => r.seed === s);
    expect(bySeed(0)[0]!.trait_teacher).toBe(bySeed(0)[1]!.trait_teacher);
    expect(bySeed(0)[0]!.trait_student).not.toBe(bySeed(0)[1]!.trait_student);
    // Determinism: each seed alone, with no store, gives the same numbers bit for bit.
    expect(await plain(lr.exp.rows)).toEqual(metricsOf(lr.exp.rows));

    // A teacher parameter: bases reused, teachers and numbers per value and seed.
    const steps = await run(expFile(dir, 'trait-steps', 'sweep trait_steps in [5, 10]'), ['--cache', cache]);
    // (trait_steps 10 with student_lr 0.001 is a run of the first sweep: a cached result.)
    expect(steps.counts.base).toEqual({ computed: 0, reused: 3, corrupt: 0 });
    expect(steps.counts.corpus).toBeUndefined();
    expect(steps.counts.teacher).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    expect(steps.counts.numbers).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    expect(steps.exp.stages).toContainEqual({ stage: 'teacher', artifacts: 4, runs: 4 });

    // --fresh recomputes the runs from stored stages only: the same numbers.
    const again = await run(expFile(dir, 'student-lr', 'sweep student_lr in [0.001, 0.01]'), ['--cache', cache, '--fresh']);
    expect(again.counts.base).toEqual({ computed: 0, reused: 6, corrupt: 0 });
    expect(again.counts.numbers).toEqual({ computed: 0, reused: 4, corrupt: 0 });
    expect(metricsOf(again.exp.rows)).toEqual(metricsOf(lr.exp.rows));
  });

  it("a seed's numbers and curves do not depend on the seeds trained beside it, even when their step counts differ", { timeout: 300_000 }, async () => {
    // A small student batch makes the seeds' step counts differ (each seed keeps its own rows).
    const params = { ...sets, student_batch: 4, eval_every: 3, detect: 'bias' };
    const specs = [0, 1, 2].map((seed) => ({ id: `g${seed}`, params, seed }));
    const together = await runner.run(specs, { progress: () => {} });
    const steps = together.map((o) => o.extras!.student_steps as number);
    expect(new Set(steps).size, `step counts ${steps.join(', ')}`).toBeGreaterThan(1);
    for (const [i, spec] of specs.entries()) {
      const [alone] = await runner.run([spec], { progress: () => {} });
      expect(alone!.rows[0]!.metrics).toEqual(together[i]!.rows[0]!.metrics);
      expect(alone!.extras!.curves).toEqual(together[i]!.extras!.curves);
      const c = together[i]!.extras!.curves as { step: number[] };
      expect(c.step.at(-1)).toBe(steps[i]); // the curve ends at the seed's own last step
    }
  });

  it('trait_method = prompt and sampled distillation run; curves are in extras', { timeout: 120_000 }, async () => {
    const [o] = await runner.run([{ id: 'p', params: { ...sets, trait_method: 'prompt', distill: 'sampled' }, seed: 3 }], { progress: () => {} });
    const m = o!.rows[0]!.metrics;
    // The teacher is the base behind the prefix: its P(trait) is read after the prefixed prompt
    // (30 pretraining steps teach no copying, so only that it differs is checked).
    expect(m.trait_teacher!).not.toBe(m.trait_base!);
    expect(m.filter_pass!).toBeGreaterThan(0);
    expect(Number.isFinite(m.trait_student!)).toBe(true);
    const c = o!.extras!.curves as Record<string, number[]>;
    expect(c.step![0]).toBe(0);
    expect(c.trait_student!.length).toBe(c.step!.length);
    expect(c.trait_student![0]).toBeCloseTo(m.trait_base!, 6); // step 0: the student is its base
  });
});

describe('lm_distill parameter checks', () => {
  it('refuses bad combinations with what is wrong', () => {
    expect(() => lmDistillSchema.resolve({ d_model: 30, heads: 4 })).toThrow(/heads \(4\) must divide d_model \(30\)/);
    expect(() => lmDistillSchema.resolve({ trait: 'unicorn' })).toThrow(/trait "unicorn" is not one of animals/);
    expect(() => lmDistillSchema.resolve({ animals: 'owl' })).toThrow(/at least 2/);
    expect(() => lmDistillSchema.resolve({ animals: 'owl,Cat' })).toThrow(/animals: animal "Cat" is not a lowercase word/);
    expect(() => lmDistillSchema.resolve({ mix_preference: 0, mix_numbers: 0, mix_filler: 0 })).toThrow(/must be positive/);
    expect(() => lmDistillSchema.resolve({ trait_method: 'prompt', context: 12 })).toThrow(/context ≥ 14/);
    expect(() => lmDistillSchema.resolve({ heads: 2, d_model: 16 })).not.toThrow();
  });

  it('sublab run names the file and the problem', async () => {
    const dir = tmp();
    const f = path.join(dir, 'bad.exp');
    writeFileSync(f, 'experiment "bad" {\n  runner lm_distill\n  set d_model = 30\n  seeds 1\n}\n');
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    const code = await runCommand([f, '--cache', path.join(dir, 'cache')]);
    vi.restoreAllMocks();
    expect(code).toBeGreaterThan(1);
    expect(stderr).toMatch(/bad\.exp/);
    expect(stderr).toMatch(/heads \(4\) must divide d_model \(30\)/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
