// The executor's steps one at a time (src/exec/executor.ts, src/exec/outcomes.ts), on a real cache
// and a small in-process runner; executor.test.ts covers them together on a real runner.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckedExperiment } from '../../src/language/checked.ts';
import type { ExperimentPlan, PlannedRun } from '../../src/plan/types.ts';
import type { Runner, RunSpec } from '../../src/runners/schema.ts';
import { commandSchema } from '../../src/runners/command/schema.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import { claimRuns, runGroup, settleFromCache, startExecution, storeRun } from '../../src/exec/executor.ts';
import { RunOutcomes } from '../../src/exec/outcomes.ts';
import type { ExecProgress } from '../../src/exec/progress.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-steps-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (id: string, seed: number, point = 0, params: Record<string, number> = {}): PlannedRun => ({ id, runner: 'command', runnerVersion: '1', params, seed, point });

function planOf(runs: PlannedRun[], measures = ['acc']): ExperimentPlan {
  const exp = { file: path.join(dir, 'x.exp'), name: 'steps', runner: commandSchema, params: {}, sweeps: [], seeds: 1, measures, predictions: [] } as unknown as CheckedExperiment;
  return { experiment: exp, points: [{ index: 0, values: {} }], runs, overrides: {} };
}

/** A runner that throws its first `throws` calls, then returns acc = seed for each spec. */
function flaky(throws: number): Runner & { calls: RunSpec[][] } {
  const calls: RunSpec[][] = [];
  return {
    schema: commandSchema,
    calls,
    async run(specs) {
      calls.push([...specs]);
      if (calls.length <= throws) throw new Error(`boom ${calls.length}`);
      return specs.map((s) => ({ rows: [{ metrics: { acc: s.seed } }], backend: 'test' }));
    },
  };
}

describe('RunOutcomes', () => {
  it('records a failure once: counted, reported, and listed for every planned run with that id', () => {
    const seen: [string, string, string | undefined][] = [];
    const progress: ExecProgress[] = [];
    // Two planned runs share an id (an execution-only sweep): computed once, listed twice.
    const plan = planOf([run('a', 0), run('b', 1), { ...run('b', 1), point: 1 }]);
    const outcomes = new RunOutcomes(plan, { onRun: (id, o, e) => seen.push([id, o, e]), onProgress: (p) => progress.push(p) });
    expect(outcomes.unique.map((r) => r.id)).toEqual(['a', 'b']);
    outcomes.fail('b', 'it broke');
    outcomes.succeed('a', [{ runId: 'a', point: 0, seed: 0, params: {}, metrics: { acc: 1 }, keys: {}, backend: 't', wallMs: 1, cached: false, finishedAt: '', firstAt: '' }], { note: 1 }, false);
    outcomes.timed(40);
    outcomes.emit();
    expect(seen).toEqual([
      ['b', 'failed', 'it broke'],
      ['a', 'computed', undefined],
    ]);
    expect(progress.at(-1)).toMatchObject({ total: 2, done: 1, failed: 1, cached: 0, remaining: 0, etaMs: 0 });
    const t = outcomes.table();
    expect(t.rows.map((r) => r.runId)).toEqual(['a']);
    expect(t.failed.map((f) => [f.runId, f.point, f.error])).toEqual([
      ['b', 0, 'it broke'],
      ['b', 1, 'it broke'],
    ]);
    expect(t.extras).toEqual({ a: { note: 1 } });
  });

  it('estimates the time left from the compute time per computed run', () => {
    const progress: ExecProgress[] = [];
    const outcomes = new RunOutcomes(planOf([run('a', 0), run('b', 1), run('c', 2)]), { onProgress: (p) => progress.push(p) });
    outcomes.emit();
    expect(progress[0]!.etaMs).toBeNull();
    outcomes.timed(300);
    outcomes.succeed('a', [], undefined, false);
    outcomes.emit();
    expect(progress[1]!.etaMs).toBe(600);
  });
});

describe('executor steps', () => {
  it('settleFromCache: cached runs settle as cached, runs failed elsewhere as failed, the rest are pending', () => {
    const cache = new ResultCache(path.join(dir, 'settle'), { warn: () => {} });
    const plan = planOf([run('aaaa0001', 0), run('aaaa0002', 1), run('aaaa0003', 2)]);
    cache.write({ id: 'aaaa0001', runner: 'command', params: {}, seed: 0, output: { rows: [{ metrics: { acc: 0.5 } }], backend: 'test' }, wallMs: 1, finishedAt: new Date().toISOString() });
    const outcomes: string[] = [];
    const x = startExecution(plan, { cache, failedBefore: { get: (id) => (id === 'aaaa0002' ? 'failed in a sibling' : undefined) }, onRun: (id, o) => outcomes.push(`${id} ${o}`) });
    expect(settleFromCache(x).map((r) => r.id)).toEqual(['aaaa0003']);
    expect(outcomes).toEqual(['aaaa0001 cached', 'aaaa0002 failed']);
    // --fresh (no shared start): nothing written before this call counts.
    const fresh = startExecution(plan, { cache, fresh: true });
    expect(settleFromCache(fresh).map((r) => r.id)).toEqual(['aaaa0001', 'aaaa0002', 'aaaa0003']);
  });

  it('claimRuns: a run another live process holds is left to it; one finished meanwhile settles and its claim is released', () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const cache = new ResultCache(path.join(dir, 'claim'), { warn: () => {} });
      fs.writeFileSync(cache.claimPath('bbbb0001'), JSON.stringify({ pid: holder.pid, host: os.hostname(), time: Date.now(), token: 'other:1:x' }));
      const plan = planOf([run('bbbb0001', 0), run('bbbb0002', 1), run('bbbb0003', 2)]);
      const x = startExecution(plan, { cache });
      // Finished by someone after this call's first look at the cache.
      cache.write({ id: 'bbbb0002', runner: 'command', params: {}, seed: 1, output: { rows: [{ metrics: { acc: 1 } }], backend: 'test' }, wallMs: 1, finishedAt: new Date().toISOString() });
      const { mine, held } = claimRuns(x, plan.runs);
      expect(held.map((r) => r.id)).toEqual(['bbbb0001']);
      expect(mine.map((r) => r.id)).toEqual(['bbbb0003']);
      expect(cache.heldClaims()).toEqual(['bbbb0003']);
      expect(x.outcomes.table().rows.map((r) => [r.runId, r.cached])).toEqual([['bbbb0002', true]]);
      cache.releaseAll();
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('runGroup: retries a throwing runner, warning before each retry; after the last attempt returns its error', async () => {
    const warnings: string[] = [];
    const plan = planOf([run('cccc0001', 0), run('cccc0002', 1)]);
    const ok = flaky(2);
    const got = await runGroup(startExecution(plan, { runner: ok, retries: 2, warn: (m) => warnings.push(m) }), plan.runs);
    expect('outs' in got && got.outs.map((o) => o.rows[0]!.metrics.acc)).toEqual([0, 1]);
    expect(ok.calls).toHaveLength(3);
    expect(warnings).toEqual([expect.stringContaining('and 1 more failed (boom 1); retrying (1/2)'), expect.stringContaining('failed (boom 2); retrying (2/2)')]);
    const bad = flaky(5);
    expect(await runGroup(startExecution(plan, { runner: bad, retries: 1, warn: () => {} }), plan.runs)).toEqual({ error: 'boom 2' });
    expect(bad.calls).toHaveLength(2);
  });

  it('runGroup: a runner returning the wrong number of outputs is a failed attempt', async () => {
    const plan = planOf([run('dddd0001', 0), run('dddd0002', 1)]);
    const short: Runner = { schema: commandSchema, run: async () => [{ rows: [{ metrics: { acc: 1 } }], backend: 'test' }] };
    expect(await runGroup(startExecution(plan, { runner: short }), plan.runs)).toEqual({ error: 'runner command returned 1 outputs for 2 runs' });
  });

  it('storeRun: a valid output is written and settled as computed; an invalid one fails; both release the claim', () => {
    const cache = new ResultCache(path.join(dir, 'store'), { warn: () => {} });
    const plan = planOf([run('eeee0001', 0), run('eeee0002', 1)]);
    const x = startExecution(plan, { cache });
    const { mine } = claimRuns(x, plan.runs);
    expect(mine).toHaveLength(2);
    storeRun(x, plan.runs[0]!, { rows: [{ metrics: { acc: 0.25 } }], backend: 'test' }, 12, '2026-01-01T00:00:00.000Z');
    storeRun(x, plan.runs[1]!, { rows: [{ metrics: { loss: 1 } }], backend: 'test' }, 12, '2026-01-01T00:00:00.000Z');
    expect(cache.heldClaims()).toEqual([]);
    expect(cache.read('eeee0001')).toMatchObject({ wallMs: 12, output: { rows: [{ metrics: { acc: 0.25 } }] } });
    expect(cache.has('eeee0002')).toBe(false);
    const t = x.outcomes.table();
    expect(t.rows.map((r) => [r.runId, r.cached, r.metrics.acc])).toEqual([['eeee0001', false, 0.25]]);
    expect(t.failed.map((f) => [f.runId, f.error])).toEqual([['eeee0002', 'row 1 lacks measured metric acc (it has: loss)']]);
  });
});
