// Execution options are declared once (`executionOptions` in src/cli/args.ts) and travel whole:
// from the command line to the executor, to a `--jobs` child, and through `sublab submit`'s
// script to a SLURM worker. The processes here are real; `--retries` is the option that travels.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionArgs, executionOf, executionOptions, parseOptions, type ExecutionOptions, type Option } from '../../src/cli/args.ts';
import { command as run } from '../../src/cli/run.ts';
import { command as worker } from '../../src/cli/worker.ts';
import { command as submit } from '../../src/cli/submit.ts';
import { runFile } from '../../src/exec/run-file.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import { planFile } from '../../src/exec/session.ts';
import { allParts } from '../../src/plan/needs.ts';
import { mlpDistillSchema } from '../../src/runners/mlp_distill/schema.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const exp = path.join(here, 'fixtures/retry-once.exp');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-execopts-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A value other than the option's default, of its type. */
function otherThanDefault(o: Option): unknown {
  if (typeof o.default === 'number') return o.default + 2;
  if (typeof o.default === 'boolean') return !o.default;
  return `${String(o.default)}x`;
}

/** Per run (x, seed), the attempts the program saw: "failed PID" / "ok PID". */
function attempts(retryDir: string): Map<string, string[]> {
  return new Map(fs.readdirSync(retryDir).map((f) => [f, fs.readFileSync(path.join(retryDir, f), 'utf8').trim().split('\n')]));
}

describe('the execution options table', () => {
  it('declares each option with its default and help, and every command that executes runs takes them all', () => {
    for (const [name, o] of Object.entries(executionOptions) as [string, Option][]) {
      expect(o.execution, name).toBe(true);
      expect(o.default, name).not.toBeUndefined();
      expect(o.help.length, name).toBeGreaterThan(0);
      for (const c of [run, worker, submit]) {
        expect(c.spec.options, `${c.spec.name} --${name}`).toHaveProperty(name);
        expect(c.usage).toContain(`--${name}`);
      }
    }
  });

  it('command line → one object → command line again, for every option; defaults are not written out', () => {
    const given = Object.fromEntries(Object.entries(executionOptions).map(([name, o]) => [name, otherThanDefault(o as Option)])) as ExecutionOptions;
    const args = executionArgs(given);
    const spec = { name: 't', synopsis: '', summary: '', options: executionOptions };
    expect(executionOf(parseOptions(spec, args).values)).toEqual(given);
    const defaults = executionOf({});
    expect(executionArgs(defaults)).toEqual([]);
    expect(executionOf(parseOptions(spec, []).values)).toEqual(defaults);
  });
});

describe('an execution option reaches every process that executes runs', () => {
  it('a --jobs child: it retries the runs it computes', async () => {
    const retryDir = path.join(dir, 'pool-runs');
    fs.mkdirSync(retryDir);
    process.env.RETRY_DIR = retryDir;
    // Each program waits until both processes have started one (fixtures/barrier.mjs).
    process.env.POOL_BARRIER_DIR = fs.mkdtempSync(path.join(dir, 'pool-barrier-'));
    try {
      const warnings: string[] = [];
      const r = (await runFile(exp, { cacheDir: path.join(dir, 'pool-cache'), jobs: 2, execution: { retries: 1 }, warn: (m) => warnings.push(m) })).experiments[0]!;
      expect(r.table.failed).toEqual([]);
      expect(r.table.rows).toHaveLength(8);
      const seen = attempts(retryDir);
      expect(seen.size).toBe(8);
      // Each run: one failed attempt, then one that worked, by the same process.
      const pids = new Set<string>();
      for (const [run, lines] of seen) {
        expect(lines, run).toHaveLength(2);
        const [failed, ok] = lines.map((l) => l.split(' '));
        expect([failed![0], ok![0]], run).toEqual(['failed', 'ok']);
        expect(ok![1], run).toBe(failed![1]);
        pids.add(ok![1]!);
      }
      // The child computed (and so retried) some of them: its pid is not this process's.
      expect(pids.size).toBe(2);
      expect(pids).toContain(String(process.pid));
      // Only the parent's own retries are reported (the children's warnings stay with them).
      expect(warnings.every((w) => /retrying \(1\/1\)/.test(w))).toBe(true);
    } finally {
      delete process.env.RETRY_DIR;
      delete process.env.POOL_BARRIER_DIR;
    }
  }, 120_000);

  it('a SLURM worker, through the script `sublab submit` writes; the collecting `sublab run` does not get it', () => {
    const retryDir = path.join(dir, 'worker-runs');
    const cache = path.join(dir, 'worker-cache');
    fs.mkdirSync(retryDir);
    const env = { ...process.env, RETRY_DIR: retryDir, SUBLAB_JOBS: '' };
    const dry = spawnSync(process.execPath, [bin, 'submit', exp, '--slurm', '--dry-run', '--tasks', '1', '--retries', '1', '--cache', cache], { encoding: 'utf8', env });
    expect(dry.status, dry.stderr).toBe(0);
    const [script, after] = dry.stdout.split('\n# dry run:');
    expect(script).toMatch(/ --retries 1\n/);
    const collect = after!.split('\n').find((l) => l.includes('sublab run '))!;
    expect(collect).not.toContain('--retries');
    const scriptFile = path.join(dir, 'job.sbatch');
    fs.writeFileSync(scriptFile, script!);
    const task = spawnSync('bash', [scriptFile], { encoding: 'utf8', env: { ...env, SLURM_ARRAY_TASK_ID: '0' } });
    expect(task.status, task.stdout + task.stderr).toBe(0);
    expect(task.stdout).toMatch(/done: 8 runs, 8 computed, 0 cached, 0 failed/);
    const seen = attempts(retryDir);
    expect(seen.size).toBe(8);
    for (const lines of seen.values()) expect(lines.map((l) => l.split(' ')[0])).toEqual(['failed', 'ok']);
    // Without the option the same worker fails every run: it is the option that made them pass.
    fs.rmSync(retryDir, { recursive: true });
    fs.mkdirSync(retryDir);
    const bare = spawnSync(process.execPath, [bin, 'worker', exp, '--task', '0', '--tasks', '1', '--cache', path.join(dir, 'bare-cache')], { encoding: 'utf8', env });
    expect(bare.status).toBe(1);
    expect(bare.stdout).toMatch(/0 computed, 0 cached, 8 failed/);
  }, 120_000);

  it('--all-metrics: a SLURM worker computes every part (submit hands it on), the collecting run finds it all cached', async () => {
    // mlp_distill declares parts (src/plan/needs.ts): without the option a run trains two of its four arms.
    const tiny = path.join(dir, 'two-arms.exp');
    fs.writeFileSync(tiny, `experiment "two arms" {
  runner mlp_distill
  set hidden = 8
  set batch_size = 256
  set epochs_teacher = 1
  set noise_size = 512
  set lr = 0.001
  set threads = 1
  set workers = 1
  seeds 2
  measure student_acc, cross_model_acc
  predict student_acc > cross_model_acc
}
`);
    const ids = planFile(tiny).plans[0]!.runs.map((r) => r.id);
    const partsOf = (cacheDir: string) => ids.map((id) => new ResultCache(cacheDir).read(id)?.parts);
    const env = { ...process.env, SUBLAB_JOBS: '', SUBLAB_CACHE: '' };
    const cache = path.join(dir, 'all-cache');
    const dry = spawnSync(process.execPath, [bin, 'submit', tiny, '--slurm', '--dry-run', '--tasks', '1', '--all-metrics', '--cache', cache], { encoding: 'utf8', env });
    expect(dry.status, dry.stderr).toBe(0);
    const [script, after] = dry.stdout.split('\n# dry run:');
    expect(script).toMatch(/ --all-metrics\n/);
    expect(after!.split('\n').find((l) => l.includes('sublab run '))).toMatch(/ --all-metrics$/);
    const scriptFile = path.join(dir, 'all.sbatch');
    fs.writeFileSync(scriptFile, script!);
    const task = spawnSync('bash', [scriptFile], { encoding: 'utf8', env: { ...env, SLURM_ARRAY_TASK_ID: '0' } });
    expect(task.status, task.stdout + task.stderr).toBe(0);
    expect(task.stdout).toMatch(/done: 2 runs, 2 computed, 0 cached, 0 failed/);
    const every = [...allParts(mlpDistillSchema)].sort();
    expect(partsOf(cache)).toEqual([every, every]);
    // Without the option the same worker computes what the predictions and the measure line use.
    const bareCache = path.join(dir, 'all-bare-cache');
    const bare = spawnSync(process.execPath, [bin, 'worker', tiny, '--task', '0', '--tasks', '1', '--cache', bareCache], { encoding: 'utf8', env });
    expect(bare.status, bare.stdout + bare.stderr).toBe(0);
    expect(partsOf(bareCache)).toEqual([['cross', 'student'], ['cross', 'student']]);
    // The collecting run asks for everything too, and computes nothing.
    const collected = (await runFile(tiny, { cacheDir: cache, execution: { 'all-metrics': true }, warn: () => {} })).experiments[0]!;
    expect(collected.plan.needs?.scope).toBe('all');
    expect(collected.cacheHits).toBe(2);
  }, 300_000);
});
