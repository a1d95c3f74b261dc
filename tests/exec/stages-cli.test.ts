// Issue 21, visible reuse: `sublab plan` counts the stage artifacts a plan needs and how many the
// store holds; `sublab cache ls|verify|gc` list, verify and clean them. In-process CLI calls on a
// real .exp file of the staged test runner (registered for this file's process only).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan } from '../../src/exec/executor.ts';
import { schemas } from '../../src/runners/registry.ts';
import type { AnyRunnerDefinition } from '../../src/runners/define.ts';
import { command as planCommand } from '../../src/cli/plan.ts';
import { cacheCommand } from '../../src/cli/cache.ts';
import { experimentJson, formatExperiment } from '../../src/cli/run.ts';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { stagedRunner, stagedSchema } from './fixtures/staged/runner.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-stages-cli-'));
  (schemas as AnyRunnerDefinition[]).push(stagedSchema as unknown as AnyRunnerDefinition);
});
afterAll(() => {
  (schemas as AnyRunnerDefinition[]).splice(schemas.indexOf(stagedSchema as unknown as AnyRunnerDefinition), 1);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function capture(f: () => Promise<number>): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  try {
    return { code: await f(), out };
  } finally {
    spy.mockRestore();
  }
}

describe('plan and cache commands know stage artifacts', () => {
  it('plan: needed and cached per stage, keys per run; cache ls: size, age, users; verify and gc', async () => {
    const file = path.join(dir, 'staged.exp');
    fs.writeFileSync(file, 'experiment "staged" {\n  runner staged_test\n  set width = 5\n  sweep temp in [1, 2, 3]\n  seeds 4\n  measure score\n}\n');
    const cacheDir = path.join(dir, 'cache');
    const before = await capture(() => planCommand.run([file, '--cache', cacheDir]));
    expect(before.code).toBe(0);
    expect(before.out).toContain('  stages: teacher: 4 needed, 0 cached · data: 4 needed, 0 cached');

    const compiled = compileFile(file);
    expect(compiled.diagnostics).toEqual([]);
    const plan = planExperiment(compiled.experiments[0]!, { seeds: 2 });
    const cache = new ResultCache(cacheDir, { warn: () => {} });
    const t = await executePlan(plan, { cache, runner: stagedRunner });
    expect(t.failed).toEqual([]);

    // sublab run: the experiment's summary says how many artifacts the runs shared; --json has each row's keys.
    const result = { experiment: plan.experiment, plan, table: t, verdicts: [], wallMs: 1, cacheHits: 0 };
    expect(formatExperiment(result, 'staged.exp')).toContain('  stages · teacher: 2 artifacts for 6 runs · data: 2 artifacts for 6 runs');
    const j = experimentJson(result);
    expect(j.stages).toEqual([{ stage: 'teacher', artifacts: 2, runs: 6 }, { stage: 'data', artifacts: 2, runs: 6 }]);
    expect(j.rows[0]!.stage_keys).toEqual(t.rows[0]!.stages);

    const after = await capture(() => planCommand.run([file, '--cache', cacheDir]));
    expect(after.out).toContain('  stages: teacher: 4 needed, 2 cached · data: 4 needed, 2 cached');
    const json = JSON.parse((await capture(() => planCommand.run([file, '--cache', cacheDir, '--json']))).out);
    expect(json.experiments[0].stages).toEqual([{ stage: 'teacher', needed: 4, cached: 2 }, { stage: 'data', needed: 4, cached: 2 }]);
    const run0 = json.experiments[0].runs.find((r: { id: string }) => r.id === t.rows[0]!.runId);
    expect(run0.stages).toEqual(t.rows[0]!.stages); // the plan derives the keys the run used

    const ls = await capture(() => cacheCommand(['ls', '--cache', cacheDir]));
    expect(ls.code).toBe(0);
    const teacherLines = ls.out.split('\n').filter((l) => l.startsWith('staged_test/teacher'));
    expect(teacherLines).toHaveLength(2);
    for (const l of teacherLines) expect(l).toMatch(/^staged_test\/teacher\s+[0-9a-f]{12}\s+\d+ B\s+\d+s old  used by 3 runs: [0-9a-f]{12} /);
    expect(ls.out).toContain(`4 stage artifacts`);

    expect((await capture(() => cacheCommand(['verify', '--cache', cacheDir]))).code).toBe(0);
    const key = t.rows[0]!.stages!.data!;
    fs.appendFileSync(path.join(cacheDir, 'stages', 'staged_test', 'data', key, 'data.txt'), 'tampered');
    const v = await capture(() => cacheCommand(['verify', '--cache', cacheDir]));
    expect(v.code).toBe(1);
    expect(v.out).toContain(`corrupt stage artifact: ${path.join(cacheDir, 'stages', 'staged_test', 'data', key)} (file data.txt has`);
    const gc = await capture(() => cacheCommand(['gc', '--cache', cacheDir]));
    expect(gc.out).toContain(`removed ${path.join(cacheDir, 'stages', 'staged_test', 'data', key)} (corrupt artifact`);
    expect((await capture(() => cacheCommand(['verify', '--cache', cacheDir]))).code).toBe(0);
  });
});
