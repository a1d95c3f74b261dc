// The executor on the real superposition runner (tiny: few steps, small batch), with a plan built
// here so these tests do not depend on the planner.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Value } from '../../src/language/ast.ts';
import type { CheckedExperiment } from '../../src/language/checked.ts';
import type { ExperimentPlan, PlannedRun } from '../../src/plan/types.ts';
import { superpositionSchema } from '../../src/runners/superposition/schema.ts';
import { commandSchema } from '../../src/runners/command/schema.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan, validateOutput } from '../../src/exec/executor.ts';
import { failureText } from '../../src/results/types.ts';
import type { ExecProgress } from '../../src/exec/progress.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const metrics = superpositionSchema.metrics.map((m) => m.name);

function makePlan(sweep: Value[], seeds: number, extra: Record<string, Value> = {}, measures = metrics): ExperimentPlan {
  const base: Record<string, Value> = Object.fromEntries(superpositionSchema.params.map((p) => [p.name, p.default]));
  Object.assign(base, { steps: 30, batch_size: 64, features: 6, hidden: 2, aux_features: 2 }, extra);
  const exp = {
    file: '/virtual/exec.exp',
    name: 'executor test',
    runner: superpositionSchema,
    params: base,
    sweeps: [{ name: 'sparsity', values: sweep }],
    seeds,
    measures,
    predictions: [],
  } as unknown as CheckedExperiment;
  const runs: PlannedRun[] = [];
  sweep.forEach((v, point) => {
    for (let s = 0; s < seeds; s++) {
      const params = { ...base, sparsity: v };
      const id = createHash('sha256').update(JSON.stringify({ params, seed: s })).digest('hex').slice(0, 24);
      runs.push({ id, runner: 'superposition', runnerVersion: '1', params, seed: s, point });
    }
  });
  return { experiment: exp, points: sweep.map((v, index) => ({ index, values: { sparsity: v } })), runs, overrides: {} };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-exec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const strip = (rows: { runId: string; seed: number; point: number; metrics: Record<string, number> }[]) =>
  rows.map((r) => ({ runId: r.runId, seed: r.seed, point: r.point, metrics: r.metrics }));

describe('executePlan', () => {
  it('computes every run once, caches it, and a second execution computes nothing', async () => {
    const warnings: string[] = [];
    const cache = new ResultCache(path.join(dir, 'a'), { warn: (m) => warnings.push(m) });
    const plan = makePlan([0.5, 0.9], 3);
    const events: ExecProgress[] = [];
    const first = await executePlan(plan, { cache, onProgress: (p) => events.push(p) });
    expect(first.failed).toEqual([]);
    expect(first.rows).toHaveLength(6);
    expect(first.rows.every((r) => !r.cached && r.wallMs > 0 && r.backend.length > 0)).toBe(true);
    expect(first.rows.map((r) => [r.point, r.seed])).toEqual([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
    for (const r of first.rows) for (const m of metrics) expect(Number.isFinite(r.metrics[m])).toBe(true);
    // Seeds change the result.
    expect(first.rows[0]!.metrics.teacher_loss).not.toBe(first.rows[1]!.metrics.teacher_loss);
    expect(cache.verify()).toEqual({ ok: 6, corrupt: [] });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ total: 6, done: 6, cached: 0, failed: 0, remaining: 0, finished: true });
    // Runner progress (phase / step) is forwarded.
    expect(events.some((e) => e.runner && e.runner.total === 30)).toBe(true);
    expect(fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim'))).toEqual([]);

    const t0 = performance.now();
    const second = await executePlan(plan, { cache });
    const ms = performance.now() - t0;
    expect(second.rows.every((r) => r.cached)).toBe(true);
    expect(strip(second.rows)).toEqual(strip(first.rows));
    expect(second.rows.map((r) => r.finishedAt)).toEqual(first.rows.map((r) => r.finishedAt));
    expect(ms).toBeLessThan(1000);
    expect(warnings).toEqual([]);

    // One more sweep value: only its runs are computed.
    const wider = makePlan([0.5, 0.9, 0.99], 3);
    const third = await executePlan(wider, { cache });
    expect(third.rows.filter((r) => !r.cached).map((r) => r.point)).toEqual([2, 2, 2]);

    // --fresh recomputes everything, with the same numbers (deterministic runner on one backend).
    const fresh = await executePlan(plan, { cache, fresh: true });
    expect(fresh.rows.every((r) => !r.cached)).toBe(true);
    expect(strip(fresh.rows)).toEqual(strip(first.rows));
  });

  it('recomputes a corrupt and a truncated entry with a warning naming the file', async () => {
    const warnings: string[] = [];
    const cache = new ResultCache(path.join(dir, 'b'), { warn: (m) => warnings.push(m) });
    const plan = makePlan([0.9], 2);
    const first = await executePlan(plan, { cache });
    const [a, b] = plan.runs;
    const fa = cache.entryPath(a!.id);
    const fb = cache.entryPath(b!.id);
    fs.writeFileSync(fa, fs.readFileSync(fa, 'utf8').replace(/"teacher_loss":[0-9.e-]+/, '"teacher_loss":123'));
    fs.writeFileSync(fb, fs.readFileSync(fb, 'utf8').slice(0, 40));
    const second = await executePlan(plan, { cache, warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(fa);
    expect(warnings[0]).toContain('checksum mismatch');
    expect(warnings[1]).toContain(fb);
    expect(second.rows.every((r) => !r.cached)).toBe(true);
    expect(strip(second.rows)).toEqual(strip(first.rows));
    expect(second.rows.some((r) => r.metrics.teacher_loss === 123)).toBe(false);
  });

  it('records a run that throws as failed (with retries) without taking down the sweep', async () => {
    const warnings: string[] = [];
    const cache = new ResultCache(path.join(dir, 'c'), { warn: (m) => warnings.push(m) });
    // sparsity 1.5 is outside [0, 1): the runner rejects it; point 0 is fine.
    const plan = makePlan([0.9, 1.5], 2);
    const t = await executePlan(plan, { cache, retries: 2, warn: (m) => warnings.push(m) });
    expect(t.rows.map((r) => r.point)).toEqual([0, 0]);
    expect(t.failed.map((f) => [f.point, f.seed])).toEqual([[1, 0], [1, 1]]);
    // The raw error is kept; the edges name the run.
    expect(t.failed[0]!.error).not.toMatch(/^run /);
    expect(failureText(t.failed[0]!, ['sparsity'])).toMatch(/^run [0-9a-f]{12} \(sparsity = 1\.5, seed 0\): .+/);
    expect(warnings.filter((w) => w.includes('retrying'))).toHaveLength(2);
    expect(cache.ids()).toHaveLength(2);
    expect(fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim'))).toEqual([]);
  });

  it('command runner: runs in the .exp directory, hides the executor fields, and fails a run missing a measured metric', async () => {
    const cache = new ResultCache(path.join(dir, 'd'));
    const exp = {
      file: path.join(here, 'fixtures/virtual.exp'),
      name: 'command test',
      runner: commandSchema,
      params: {},
      sweeps: [{ name: 'x', values: [1, 2] }],
      seeds: 2,
      measures: ['score'],
      predictions: [],
    } as unknown as CheckedExperiment;
    const base = { command: 'node emit.mjs', cwd: '.', timeout: 30 };
    const runs: PlannedRun[] = [];
    for (const [point, x] of [1, 2].entries())
      for (const seed of [0, 1]) runs.push({ id: `cmd-${x}-${seed}`, runner: 'command', runnerVersion: '1', params: { ...base, x, seed }, seed, point });
    const plan: ExperimentPlan = { experiment: exp, points: [{ index: 0, values: { x: 1 } }, { index: 1, values: { x: 2 } }], runs, overrides: {} };
    const t = await executePlan(plan, { cache });
    expect(t.failed).toEqual([]);
    expect(t.rows.map((r) => r.metrics.score)).toEqual([1, 11, 2, 12]);
    // The program saw its parameters (the 5 given and the defaults of inputs and max_output_mb) and nothing else.
    expect(t.rows.every((r) => r.metrics.n_params === 7 && r.metrics.has_internal === 0)).toBe(true);

    const missing = await executePlan({ ...plan, experiment: { ...exp, measures: ['score', 'accuracy'] } }, { cache: new ResultCache(path.join(dir, 'e')) });
    expect(missing.rows).toEqual([]);
    expect(missing.failed).toHaveLength(4);
    expect(failureText(missing.failed[0]!, ['x'])).toMatch(/^run cmd-1-0 \(x = 1, seed 0\): .*accuracy/);
  });

  it('validateOutput names each kind of bad output', () => {
    expect(validateOutput(undefined, [])).toBe('runner returned no rows array');
    expect(validateOutput({ rows: [], backend: 'cpu' }, [])).toBe('runner returned no result rows');
    expect(validateOutput({ rows: [{ metrics: { a: 'x' as unknown as number } }], backend: 'cpu' }, ['a'])).toBe('row 1: metric a is "x", not a number');
    expect(validateOutput({ rows: [{ metrics: { a: 1 } }], backend: 'cpu' }, ['a'])).toBeUndefined();
  });
});
