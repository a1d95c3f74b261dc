// Issue 13 (7): waiting on a run another live process claimed is not silent: after a few seconds
// sublab says which run, which pid on which host, since when, and how to take it over.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckedExperiment } from '../../src/language/checked.ts';
import type { ExperimentPlan } from '../../src/plan/types.ts';
import { commandSchema } from '../../src/runners/command/schema.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan } from '../../src/exec/executor.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-claimnote-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a run claimed by another live process', () => {
  it('is reported with its holder and how to take it over', async () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const cache = new ResultCache(path.join(dir, 'cache'), { warn: () => {} });
      const id = 'claimedrun000001';
      fs.writeFileSync(cache.claimPath(id), JSON.stringify({ pid: holder.pid, host: os.hostname(), time: Date.now(), token: 'other:1:x' }));
      const exp = { file: path.join(dir, 'x.exp'), name: 'x', runner: commandSchema, params: {}, sweeps: [], seeds: 1, measures: ['acc'], predictions: [] } as unknown as CheckedExperiment;
      const plan: ExperimentPlan = { experiment: exp, points: [{ index: 0, values: {} }], runs: [{ id, runner: 'command', runnerVersion: '1', params: {}, seed: 0, point: 0 }], overrides: {} };
      const ac = new AbortController();
      const warnings: string[] = [];
      const done = executePlan(plan, {
        cache,
        pollMs: 20,
        claimNoticeMs: 100,
        signal: ac.signal,
        warn: (m) => {
          warnings.push(m);
          ac.abort();
        },
      });
      await expect(done).rejects.toThrow('interrupted');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`claimed by process ${holder.pid} on host ${os.hostname()}`);
      expect(warnings[0]).toMatch(/last refreshed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      expect(warnings[0]).toContain(`delete ${cache.claimPath(id)} to take it over now`);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
