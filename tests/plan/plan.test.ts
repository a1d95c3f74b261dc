import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { parseOverride, planExperiment, runId } from '../../src/plan/plan.ts';
import { getSchema } from '../../src/runners/registry.ts';
import type { RunnerSchema } from '../../src/runners/schema.ts';

function checked(source: string) {
  const r = compileFile('t.exp', { source });
  expect(formatDiagnostics(r)).toBe('');
  return r.experiments[0]!;
}

const mlp = getSchema('mlp_distill')!;

describe('planExperiment', () => {
  it('expands the grid row-major over sweeps in source order, each point x seeds', () => {
    const plan = planExperiment(checked(`experiment "g" {
      runner mlp_distill
      sweep hidden in [64, 128]
      sweep distill_data in [uniform, gaussian, mnist]
      seeds 2
    }`));
    expect(plan.points.map((p) => p.values)).toEqual([
      { hidden: 64, distill_data: 'uniform' }, { hidden: 64, distill_data: 'gaussian' }, { hidden: 64, distill_data: 'mnist' },
      { hidden: 128, distill_data: 'uniform' }, { hidden: 128, distill_data: 'gaussian' }, { hidden: 128, distill_data: 'mnist' },
    ]);
    expect(plan.points.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(plan.runs).toHaveLength(12);
    expect(plan.runs.map((r) => [r.point, r.seed])).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5].map((p, i) => [p, i % 2]));
    expect(new Set(plan.runs.map((r) => r.id)).size).toBe(12);
    expect(plan.runs[3]!.params).toMatchObject({ hidden: 64, distill_data: 'gaussian', seed: 1 });
  });

  it('fills defaults, and with no sweep has one point', () => {
    const plan = planExperiment(checked(`experiment "d" { runner mlp_distill set hidden = 32 }`));
    expect(plan.points).toEqual([{ index: 0, values: {} }]);
    expect(plan.runs).toHaveLength(1);
    const params = plan.runs[0]!.params;
    for (const p of mlp.params) expect(params).toHaveProperty(p.name);
    expect(params).toMatchObject({ hidden: 32, lr: 3e-4, dataset: 'mnist', seed: 0 });
    expect(plan.runs[0]!.runnerVersion).toBe(mlp.version);
  });

  it('run seed i is params.seed + i', () => {
    const plan = planExperiment(checked(`experiment "s" { runner mlp_distill set seed = 100 seeds 3 }`));
    expect(plan.runs.map((r) => r.seed)).toEqual([100, 101, 102]);
    expect(plan.runs.map((r) => r.params.seed)).toEqual([100, 101, 102]);
  });

  it('a swept seed is the base seed of its point', () => {
    const plan = planExperiment(checked(`experiment "s" { runner mlp_distill sweep seed in [0, 10] seeds 2 }`));
    expect(plan.runs.map((r) => r.seed)).toEqual([0, 1, 10, 11]);
  });

  it('gives a deterministic runner exactly one seed', () => {
    const exp = checked(`experiment "t" { runner token_probe sweep animal in ["owls", "cats"] }`);
    expect(planExperiment(exp).runs).toHaveLength(2);
    expect(planExperiment(exp, { seeds: 10 }).runs).toHaveLength(2);
  });

  it('applies overrides: fixed params replaced, an overridden sweep collapses, --seeds wins', () => {
    const exp = checked(`experiment "o" { runner mlp_distill sweep lr in [1e-4, 1e-3] sweep hidden in [8, 16] seeds 5 }`);
    const plan = planExperiment(exp, { overrides: { lr: 0.5, layers: 3 }, seeds: 2 });
    expect(plan.points.map((p) => p.values)).toEqual([{ hidden: 8 }, { hidden: 16 }]);
    expect(plan.runs).toHaveLength(4);
    for (const r of plan.runs) expect(r.params).toMatchObject({ lr: 0.5, layers: 3 });
    expect(plan.overrides).toEqual({ lr: 0.5, layers: 3 });
  });

  it('rejects unknown or ill-typed overrides with a clear message', () => {
    const exp = checked(`experiment "o" { runner mlp_distill }`);
    expect(() => planExperiment(exp, { overrides: { hiden: 3 } })).toThrow(/unknown parameter "hiden"/);
    expect(() => planExperiment(exp, { overrides: { hidden: 2.5 } })).toThrow(/"hidden" expects an integer/);
    expect(() => planExperiment(exp, { overrides: { dataset: 'mnst' } })).toThrow(/must be one of mnist, fashion_mnist/);
    expect(() => planExperiment(exp, { overrides: { layers: 9 } })).toThrow(/<= 8/);
    expect(() => planExperiment(exp, { seeds: 0 })).toThrow(/seeds/);
  });

  it('parses --set text by the parameter type', () => {
    const tp = getSchema('token_probe')!;
    expect(parseOverride(tp, 'number', '087')).toBe('087');
    expect(parseOverride(tp, 'digits', '4')).toBe(4);
    expect(parseOverride(tp, 'offline', 'true')).toBe(true);
    expect(parseOverride(mlp, 'lr', '3e-4')).toBe(3e-4);
    expect(parseOverride(getSchema('command')!, 'epochs', '3')).toBe(3);
  });

  it("refuses an override that breaks the runner's check across parameters, naming the point", () => {
    const exp = checked(`experiment "x" {
      runner superposition
      set variant = "ablated"
      sweep ablate in [0, 3]
    }`);
    expect(() => planExperiment(exp, { overrides: { features: 3 } })).toThrow(
      '--set features=3: ablate must be a feature index in [0, 2], got 3 (sweep point ablate = 3)',
    );
    expect(planExperiment(exp, { overrides: { features: 4 } }).runs.length).toBe(2);
  });

  it('types text overrides (the CLI\'s --set) by the schema, so every command plans the same runs', () => {
    const exp = checked(`experiment "p" { runner token_probe sweep animal in ["owls", "cats"] }`);
    const fromText = planExperiment(exp, { overrides: { number: '087', digits: '4', offline: 'true' } });
    const typed = planExperiment(exp, { overrides: { number: '087', digits: 4, offline: true } });
    expect(fromText.overrides).toEqual({ number: '087', digits: 4, offline: true });
    expect(fromText.runs.map((r) => r.id)).toEqual(typed.runs.map((r) => r.id));
    expect(() => planExperiment(exp, { overrides: { digits: 'four' } })).toThrow(/"digits" expects an integer/);
  });
});

describe('runId', () => {
  const params = Object.fromEntries(mlp.params.map((p) => [p.name, p.default]));

  it('is the first 16 hex chars of sha256 over canonical JSON of runner, version, params (minus seed and execution-only) and seed', () => {
    const executionOnly = mlp.params.filter((p) => p.executionOnly).map((p) => p.name);
    expect(executionOnly).toContain('models');
    const relevant = Object.entries(params).filter(([k]) => k !== 'seed' && !executionOnly.includes(k));
    const sorted = Object.fromEntries(relevant.sort(([a], [b]) => (a < b ? -1 : 1)));
    const text = JSON.stringify({ params: sorted, runner: 'mlp_distill', seed: 3, version: mlp.version });
    expect(runId(mlp, params, 3)).toBe(createHash('sha256').update(text).digest('hex').slice(0, 16));
    expect(runId(mlp, params, 3)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('same input gives the same id, whatever the key order', () => {
    const reversed = Object.fromEntries(Object.entries(params).reverse());
    expect(runId(mlp, reversed, 0)).toBe(runId(mlp, params, 0));
  });

  it('every result-relevant parameter change gives a new id', () => {
    const ids = new Set([runId(mlp, params, 0)]);
    for (const p of mlp.params) {
      if (p.executionOnly || p.name === 'seed') continue;
      const changed = p.type === 'enum' ? p.values!.find((v) => v !== p.default)! : p.type === 'string' ? `${String(p.default)}x` : (p.default as number) + 1;
      ids.add(runId(mlp, { ...params, [p.name]: changed }, 0));
    }
    const relevant = mlp.params.filter((p) => !p.executionOnly && p.name !== 'seed').length;
    expect(ids.size).toBe(relevant + 1);
  });

  it('the seed, the runner version and the runner name are part of the id', () => {
    const id = runId(mlp, params, 0);
    expect(runId(mlp, params, 1)).not.toBe(id);
    expect(runId({ ...mlp, version: `${mlp.version}.1` } as RunnerSchema, params, 0)).not.toBe(id);
    expect(runId({ ...mlp, name: 'other' } as RunnerSchema, params, 0)).not.toBe(id);
  });

  it('execution-only parameters and params.seed do not change the id', () => {
    const id = runId(mlp, params, 0);
    expect(runId(mlp, { ...params, models: 5 }, 0)).toBe(id);
    expect(runId(mlp, { ...params, seed: 42 }, 0)).toBe(id);
  });

  it('plans of the same file give the same ids twice; a changed set gives new ones', () => {
    const src = `experiment "h" { runner mlp_distill sweep lr in [1e-3, 1e-2] seeds 2 }`;
    const a = planExperiment(checked(src)).runs.map((r) => r.id);
    expect(planExperiment(checked(src)).runs.map((r) => r.id)).toEqual(a);
    const b = planExperiment(checked(src.replace('seeds 2', 'seeds 2 set hidden = 8'))).runs.map((r) => r.id);
    expect(b.filter((id) => a.includes(id))).toEqual([]);
    const c = planExperiment(checked(src.replace('seeds 2', 'seeds 2 set models = 3'))).runs.map((r) => r.id);
    expect(c).toEqual(a);
  });
});
