// SLURM job arrays without SLURM: the sbatch script (run through real bash), sbatch invocation
// (a stand-in sbatch program records its argv), deterministic sharding, and two worker tasks that
// together fill the cache so a full executePlan computes nothing. The real cluster check is
// scripts/slurm-local.sh.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan } from '../../src/exec/executor.ts';
import { parseJobId, runSbatch, sbatchArgs, sbatchScript, SbatchError, shellQuote } from '../../src/exec/slurm.ts';
import { shardPlans, workUnits } from '../../src/exec/shard.ts';
import { planFile as planSession } from '../../src/exec/session.ts';
import type { Value } from '../../src/language/ast.ts';
import type { ExperimentPlan, PlannedRun } from '../../src/plan/types.ts';
import { command as submit } from '../../src/cli/submit.ts';
import { command as worker, runWorker } from '../../src/cli/worker.ts';

const planFile = (file: string, overrides: Record<string, Value>, seeds: number) => planSession(file, { overrides, seeds }).plans;

const example = path.resolve('examples/command/example.exp');
const ablated = path.resolve('experiments/superposition/ablated.exp');
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab slurm '));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Captures stdout/stderr of a CLI command. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

describe('sbatch script', () => {
  const weird = () => path.join(tmp, "proj with space's $HOME `x`");
  const opts = () => ({
    file: path.join(weird(), 'my exp.exp'),
    projectDir: weird(),
    cacheDir: path.join(tmp, 'shared cache'),
    tasks: 5,
    logDir: path.join(tmp, 'job logs'),
    jobName: 'sublab-my_exp',
    planArgs: ['--set', 'command=python3 "a b".py', '--seeds', '2'],
    sbatchOptions: ['--partition=gpu', '--comment=two words'],
  });

  it('has the array range, per-task logs (quoted for sbatch) and cd to the project', () => {
    const s = sbatchScript(opts());
    expect(s.startsWith('#!/bin/bash\n')).toBe(true);
    expect(s).toContain('#SBATCH --array=0-4\n');
    expect(s).toContain(`#SBATCH --output="${path.join(tmp, 'job logs')}/%x-%A_%a.out"\n`);
    expect(s).toContain(`#SBATCH --error="${path.join(tmp, 'job logs')}/%x-%A_%a.err"\n`);
    expect(s).toContain('#SBATCH --job-name=sublab-my_exp\n');
    expect(s).toContain(`cd ${shellQuote(weird())}\n`);
    expect(s).toMatch(/--task "\$SLURM_ARRAY_TASK_ID" --tasks 5 --cache /);
    expect(sbatchScript({ ...opts(), tasks: 1 })).toContain('#SBATCH --array=0-0\n');
    expect(sbatchScript({ ...opts(), setup: ['module load nodejs/20'] })).toMatch(/\nmodule load nodejs\/20\ncd /);
    expect(() => sbatchScript({ ...opts(), logDir: '/tmp/a"b' })).toThrow(/double quote/);
    expect(() => sbatchScript({ ...opts(), tasks: 0 })).toThrow(/tasks/);
  });

  it('hands the worker every argument intact when bash runs it (spaces, quotes, $, backticks)', () => {
    const o = opts();
    fs.mkdirSync(o.projectDir, { recursive: true });
    // Replace sublab by printf so the script prints the argv the worker would get, one per line.
    const s = sbatchScript({ ...o, sublab: ['printf', '%s\\n'] });
    const file = path.join(tmp, 'job.sh');
    fs.writeFileSync(file, s);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    const r = spawnSync('bash', [file], { env: { ...process.env, SLURM_ARRAY_TASK_ID: '3' }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n').slice(0, -1)).toEqual([
      'worker',
      o.file,
      '--task',
      '3',
      '--tasks',
      '5',
      '--cache',
      o.cacheDir,
      '--set',
      'command=python3 "a b".py',
      '--seeds',
      '2',
    ]);
  });

  it('shell-quotes only what needs it', () => {
    expect(shellQuote('/a/b-c_d.exp')).toBe('/a/b-c_d.exp');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('$x y')).toBe(`'$x y'`);
  });
});

describe('sbatch invocation', () => {
  it('passes user options verbatim before the script', () => {
    expect(sbatchArgs('/s/job.sbatch', ['--partition=gpu', '--comment', 'a b; rm -rf /'])).toEqual(['--partition=gpu', '--comment', 'a b; rm -rf /', '/s/job.sbatch']);
  });

  it('reads the job id in both output formats', () => {
    expect(parseJobId('Submitted batch job 4242\n')).toBe('4242');
    expect(parseJobId('77;cluster1\n')).toBe('77');
    expect(parseJobId('sbatch: warning\n')).toBeUndefined();
  });

  it('spawns sbatch with an argument array and reports its errors', async () => {
    const fake = path.join(tmp, 'fake-sbatch');
    const argvLog = path.join(tmp, 'argv.txt');
    fs.writeFileSync(fake, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${argvLog}'\necho "Submitted batch job 31"\n`, { mode: 0o755 });
    const r = await runSbatch('/x/job y.sbatch', ['--comment=a b', '$(touch pwned)'], fake);
    expect(r.jobId).toBe('31');
    expect(fs.readFileSync(argvLog, 'utf8')).toBe('--comment=a b\n$(touch pwned)\n/x/job y.sbatch\n');

    const failing = path.join(tmp, 'failing-sbatch');
    fs.writeFileSync(failing, '#!/bin/sh\necho "sbatch: error: invalid partition specified: nope" >&2\nexit 1\n', { mode: 0o755 });
    await expect(runSbatch('/x/job.sbatch', [], failing)).rejects.toThrow(/exit code 1\): sbatch: error: invalid partition specified: nope/);
    await expect(runSbatch('/x/job.sbatch', [], path.join(tmp, 'no-such-sbatch'))).rejects.toThrow(SbatchError);
    await expect(runSbatch('/x/job.sbatch', [], path.join(tmp, 'no-such-sbatch'))).rejects.toThrow(/not found on PATH/);
  });
});

describe('sharding', () => {
  const ids = (p: ExperimentPlan) => [...new Set(p.runs.map((r) => r.id))];

  it('covers every run exactly once for N = 1..5 (18 single-run units)', () => {
    const plans = planFile(example, {}, 6);
    const all = plans.flatMap(ids).sort();
    expect(all.length).toBe(18);
    for (let n = 1; n <= 5; n++) {
      const got = Array.from({ length: n }, (_, t) => shardPlans(plans, t, n, () => () => 1).flatMap(ids));
      expect(got.flat().sort()).toEqual(all);
      // Balanced: shares differ by at most one run.
      const sizes = got.map((g) => g.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      // Deterministic: the same call gives the same share.
      expect(shardPlans(plans, n - 1, n, () => () => 1).flatMap(ids)).toEqual(got[n - 1]);
    }
  });

  it('keeps the runs of one sweep point together up to the runner batch', () => {
    const plans = planFile(ablated, { steps: 5 }, 4); // 5 points × 4 seeds, batch 16
    for (let n = 1; n <= 5; n++) {
      const shares = Array.from({ length: n }, (_, t) => shardPlans(plans, t, n, () => () => 16));
      expect(shares.flatMap((s) => s.flatMap(ids)).sort()).toEqual(plans.flatMap(ids).sort());
      for (const s of shares) {
        const perPoint = new Map<number, number>();
        for (const r of s[0]!.runs) perPoint.set(r.point, (perPoint.get(r.point) ?? 0) + 1);
        // 20 runs over ≤ 5 tasks: every point fits one unit, so a task holds whole points.
        for (const c of perPoint.values()) expect(c).toBe(4);
      }
    }
    // With a batch of 3 a point of 4 seeds becomes two units (3 + 1).
    expect(workUnits(plans, 1, () => () => 3).map((u) => u.runs.length)).toEqual([3, 1, 3, 1, 3, 1, 3, 1, 3, 1]);
    // More tasks than points: points are split so every task gets work.
    const ten = Array.from({ length: 10 }, (_, t) => shardPlans(plans, t, 10, () => () => 16)[0]!.runs.length);
    expect(ten).toEqual(Array(10).fill(2));
  });

  it('keeps duplicated run ids (an execution-only sweep) in one share with all their planned runs', () => {
    const [p] = planFile(example, {}, 2);
    const dup: PlannedRun[] = [...p!.runs, ...p!.runs.map((r) => ({ ...r, point: r.point + 100 }))];
    const plan = { ...p!, runs: dup };
    const shares = [0, 1, 2].map((t) => shardPlans([plan], t, 3, () => () => 1)[0]!);
    expect(shares.reduce((s, x) => s + x.runs.length, 0)).toBe(dup.length);
    for (const s of shares) for (const id of ids(s)) expect(s.runs.filter((r) => r.id === id).length).toBe(2);
  });

  it('rejects a task index out of range', () => {
    const plans = planFile(example, {}, 1);
    expect(() => shardPlans(plans, 2, 2)).toThrow(/task must be/);
    expect(() => shardPlans(plans, 0, 0)).toThrow(/tasks must be/);
  });
});

describe('worker', () => {
  it('two tasks fill the cache; a full executePlan afterwards computes nothing', async () => {
    const cacheDir = path.join(tmp, 'worker cache');
    const overrides = { command: 'node train.mjs', epochs: 3, samples: 40 };
    const logs: string[] = [];
    const a = await runWorker({ file: example, task: 0, tasks: 2, cacheDir, overrides, seeds: 2, log: (l) => logs.push(l) });
    const b = await runWorker({ file: example, task: 1, tasks: 2, cacheDir, overrides, seeds: 2, log: (l) => logs.push(l) });
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([]);
    expect(a.computed + b.computed).toBe(6);
    expect(a.runs).toBe(3);
    expect(logs.some((l) => l.startsWith('[task 1/2] done: 3 runs, 3 computed'))).toBe(true);

    const [plan] = planFile(example, overrides, 2);
    const table = await executePlan(plan!, { cache: new ResultCache(cacheDir) });
    expect(table.failed).toEqual([]);
    expect(table.rows.length).toBe(6);
    expect(table.rows.every((r) => r.cached)).toBe(true);
    // Running a task again finds its share cached.
    const again = await runWorker({ file: example, task: 0, tasks: 2, cacheDir, overrides, seeds: 2, log: () => {} });
    expect([again.computed, again.cached]).toEqual([0, 3]);
  });

  it('exits 1 when a run fails and 2 on usage errors', async () => {
    const cacheDir = path.join(tmp, 'failing cache');
    const fail = await capture(() => worker.run([example, '--task', '0', '--tasks', '3', '--cache', cacheDir, '--seeds', '1', '--set', 'command=node no-such-script.mjs']));
    expect(fail.code).toBe(1);
    expect(fail.out).toMatch(/1 failed/);
    const range = await capture(() => worker.run([example, '--task', '2', '--tasks', '2']));
    expect(range.code).toBe(2);
    expect(range.err).toMatch(/--task 2 is out of range for --tasks 2/);
    const noEnv = await capture(() => {
      const saved = process.env.SLURM_ARRAY_TASK_ID;
      delete process.env.SLURM_ARRAY_TASK_ID;
      return worker.run([example, '--tasks', '2']).finally(() => {
        if (saved !== undefined) process.env.SLURM_ARRAY_TASK_ID = saved;
      });
    });
    expect(noEnv.code).toBe(2);
    expect(noEnv.err).toMatch(/--task not given and \$SLURM_ARRAY_TASK_ID is not set/);
  });
});

describe('submit', () => {
  it('--dry-run prints the script and the sbatch command with the options verbatim', async () => {
    const r = await capture(() =>
      submit.run([example, '--slurm', '--dry-run', '--tasks', '4', '--seeds', '2', '--cache', path.join(tmp, 'c d'), '--', '--partition=short', '--time=0:05:00']),
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain('#SBATCH --array=0-3\n');
    expect(r.out).toContain(`--tasks 4 --cache '${path.join(tmp, 'c d')}' --seeds 2\n`);
    expect(r.out).toMatch(/# {3}sbatch --partition=short --time=0:05:00 \S+\.sbatch\n/);
    expect(r.out).toContain(`sublab run examples/command/example.exp --cache '${path.join(tmp, 'c d')}' --seeds 2`);
  });

  it('defaults the array size to one task per runner batch and reports sbatch problems', async () => {
    const dry = await capture(() => submit.run([example, '--slurm', '--dry-run', '--seeds', '2']));
    expect(dry.out).toContain('#SBATCH --array=0-5\n'); // command runner: batch 1, 3 × 2 runs
    const saved = process.env.SUBLAB_SBATCH;
    process.env.SUBLAB_SBATCH = path.join(tmp, 'no-such-sbatch');
    try {
      const r = await capture(() => submit.run([example, '--slurm', '--seeds', '1', '--script', path.join(tmp, 's', 'job.sbatch'), '--logs', path.join(tmp, 'logs')]));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/not found on PATH/);
      expect(fs.existsSync(path.join(tmp, 's', 'job.sbatch'))).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.SUBLAB_SBATCH;
      else process.env.SUBLAB_SBATCH = saved;
    }
    const noSlurm = await capture(() => submit.run([example]));
    expect(noSlurm.code).toBe(2);
    expect(noSlurm.err).toMatch(/--slurm/);
  });
});
