// The --jobs pool on the real superposition runner (tiny sweep), the command runner (fixtures) and
// real child processes. A child starts in seconds, more on a loaded machine: tests that need both
// processes computing start the parent's work once the child holds a claim (claimedBy), or give
// the programs a barrier (fixtures/barrier.mjs), never a head start measured in time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan } from '../../src/exec/executor.ts';
import { resolveJobs, startPool, type ChildEvent } from '../../src/exec/pool.ts';
import type { ExecProgress } from '../../src/exec/progress.ts';
import { runFile } from '../../src/exec/run-file.ts';
import { openSession, planFile } from '../../src/exec/session.ts';
import { parseRunArgs } from '../../src/cli/run.ts';
import { failureText, type ResultRow } from '../../src/results/types.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const file = path.join(here, 'fixtures/pool-sweep.exp');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-pool-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const byId = (rows: readonly ResultRow[]) => Object.fromEntries(rows.map((r) => [r.runId, r.metrics]));
type Ev = ChildEvent & { pid: number };

/**
 * The runs the pool's child `pid` has claimed, once it holds one (it has planned and begun its
 * share): a test that starts the parent's work only then has both processes computing, however
 * slowly the child starts on a loaded machine. Empty after `ms` without one.
 */
async function claimedBy(cache: ResultCache, pid: number, ms = 90_000): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const held = fs.existsSync(cache.dir) ? fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim') && cache.readClaim(f.slice(0, -6))?.pid === pid).map((f) => f.slice(0, -6)) : [];
    if (held.length || Date.now() > end) return held;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs computed per id, from every process's events (not the stage artifacts' events: superposition is staged). */
function computedCounts(events: readonly Ev[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) if (e.outcome === 'computed' && !e.stage) m.set(e.run, (m.get(e.run) ?? 0) + 1);
  return m;
}

describe('resolveJobs', () => {
  it('takes an explicit value, else $SUBLAB_JOBS, else 1; auto is the core count', () => {
    expect(resolveJobs(3, '5')).toBe(3);
    expect(resolveJobs(undefined, '5')).toBe(5);
    expect(resolveJobs(undefined, undefined)).toBe(1);
    expect(resolveJobs(undefined, '')).toBe(1);
    expect(resolveJobs('auto', undefined)).toBe(os.availableParallelism());
    expect(resolveJobs(undefined, 'auto')).toBe(os.availableParallelism());
    expect(() => resolveJobs(undefined, 'two')).toThrow(/SUBLAB_JOBS must be a whole number >= 1 or "auto", got "two"/);
    expect(() => resolveJobs(1.5)).toThrow(/jobs must be/);
  });

  it('sublab run --jobs parses N and auto and rejects anything else', () => {
    expect(parseRunArgs([file, '--jobs', '2']).jobs).toBe(2);
    expect(parseRunArgs([file, '--jobs=auto']).jobs).toBe('auto');
    expect(parseRunArgs([file]).jobs).toBeUndefined();
    expect(() => parseRunArgs([file, '--jobs', '0'])).toThrow(/--jobs expects a whole number >= 1 or "auto", got "0"/);
    expect(() => parseRunArgs([file, '--jobs', 'x'])).toThrow(/--jobs expects/);
  });
});

describe('worker pool', () => {
  // Enough steps (on the TensorFlow.js engine, slower than ONNX Runtime) that the child's share
  // takes a while: once it holds a claim, the parent starts its own before the child could take it.
  const overrides = { steps: 500, backend: 'tfjs' };
  const { plans } = planFile(file, { overrides });
  let reference: Record<string, Record<string, number>>;
  beforeAll(async () => {
    const ref = await executePlan(plans[0]!, { cache: new ResultCache(path.join(dir, 'ref')) });
    expect(ref.failed).toEqual([]);
    reference = byId(ref.rows);
    expect(Object.keys(reference)).toHaveLength(12);
  }, 120_000);

  it('--jobs 2 gives the numbers of --jobs 1, every run computed exactly once, by both processes', async () => {

    const cache = new ResultCache(path.join(dir, 'two'));
    const events: Ev[] = [];
    const warnings: string[] = [];
    const progress: ExecProgress[] = [];
    const pool = await startPool({ session: await openSession(file, { overrides }), overrides, cache, jobs: 2, onEvent: (e) => events.push(e), warn: (m) => warnings.push(m) });
    expect(pool.workers).toHaveLength(1);
    // The parent starts once the child computes, so both do whatever the load.
    expect(await claimedBy(cache, pool.workers[0]!.pid)).not.toEqual([]);
    const table = await pool.execute(0, { onProgress: (p) => progress.push(p) });
    await pool.close();
    expect(warnings).toEqual([]);
    expect(table.failed).toEqual([]);
    expect(table.rows).toHaveLength(12);
    expect(table.rows.every((r) => !r.cached)).toBe(true);
    expect(byId(table.rows)).toEqual(reference);

    const counts = computedCounts(events);
    expect(counts.size).toBe(12);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const pids = new Set(events.filter((e) => e.outcome === 'computed').map((e) => e.pid));
    expect(pids).toEqual(new Set([process.pid, pool.workers[0]!.pid]));
    // Progress counts runs computed anywhere, and ends settled.
    expect(progress.at(-1)).toMatchObject({ total: 12, done: 12, cached: 0, failed: 0, remaining: 0, finished: true });
    expect(progress.some((p) => p.done > 0 && p.remaining > 0)).toBe(true);
    expect(cache.verify()).toEqual({ ok: 12, corrupt: [] });
    expect(fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim'))).toEqual([]);
    expect((await pool.workers[0]!.exited).signal === null || (await pool.workers[0]!.exited).signal === 'SIGTERM').toBe(true);
  }, 120_000);

  it('runFile with jobs 2: verdicts judged as usual; a second call reads everything from the cache', async () => {
    const { plans } = planFile(file);
    const reference = byId((await executePlan(plans[0]!, { cache: new ResultCache(path.join(dir, 'ref60')) })).rows);
    const cacheDir = path.join(dir, 'runfile');
    const first = (await runFile(file, { cacheDir, jobs: 2, warn: (m) => expect.fail(m) })).experiments[0]!;
    expect(first.cacheHits).toBe(0);
    expect(byId(first.table.rows)).toEqual(reference);
    expect(first.verdicts).toHaveLength(1);
    const again = (await runFile(file, { cacheDir, jobs: 2 })).experiments[0]!;
    expect(again.cacheHits).toBe(12);
    expect(byId(again.table.rows)).toEqual(reference);
    // --fresh with jobs recomputes everything once, across processes.
    const fresh = (await runFile(file, { cacheDir, jobs: 2, fresh: true })).experiments[0]!;
    expect(fresh.cacheHits).toBe(0);
    const firstDone = first.table.rows.map((r) => r.finishedAt ?? '').sort().at(-1)!;
    expect(fresh.table.rows.every((r) => (r.finishedAt ?? '') > firstDone)).toBe(true);
    expect(byId(fresh.table.rows)).toEqual(reference);
  }, 120_000);

  it('a worker killed mid-sweep does not hang the parent: its runs are computed by the parent', async () => {
    const cacheWarnings: string[] = [];
    const cache = new ResultCache(path.join(dir, 'killed'), { warn: (m) => cacheWarnings.push(m) });
    const warnings: string[] = [];
    const events: Ev[] = [];
    const pool = await startPool({ session: await openSession(file, { overrides }), overrides, cache, jobs: 2, warn: (m) => warnings.push(m), onEvent: (e) => events.push(e) });
    const child = pool.workers[0]!;
    // Kill the child while it computes: as soon as it holds a claim (the parent's work starts
    // then, so the child cannot have been left nothing to do).
    const heldAtKill = await claimedBy(cache, child.pid);
    process.kill(child.pid, 'SIGKILL');
    const table = await pool.execute(0, {});
    await pool.close();
    expect(heldAtKill.length).toBeGreaterThan(0);
    expect(warnings.some((w) => /parallel worker 1 \(pid \d+\) was killed by SIGKILL; the runs it had not finished are computed by the remaining processes/.test(w))).toBe(true);
    expect(table.failed).toEqual([]);
    expect(byId(table.rows)).toEqual(reference);
    const counts = computedCounts(events);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(counts.size).toBe(12);
    // Whatever the child was computing was taken over (dead pid) and computed here.
    for (const id of heldAtKill) {
      expect(cacheWarnings.some((w) => w.includes(`took over stale claim on run ${id}`) && /process \d+ is gone/.test(w))).toBe(true);
      expect(events.find((e) => e.run === id && e.outcome === 'computed')!.pid).toBe(process.pid);
    }
    expect(fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim'))).toEqual([]);
  }, 120_000);

  it('a run that fails is recorded failed once, not retried by the other processes', async () => {
    const counts = path.join(dir, 'fail-counts');
    fs.mkdirSync(counts);
    process.env.POOL_COUNT_DIR = counts;
    // Each program waits until both processes have started one (fixtures/barrier.mjs).
    process.env.POOL_BARRIER_DIR = fs.mkdtempSync(path.join(dir, 'fail-barrier-'));
    try {
      const r = (await runFile(path.join(here, 'fixtures/pool-fail.exp'), { cacheDir: path.join(dir, 'fail'), jobs: 2, warn: (m) => expect.fail(m) })).experiments[0]!;
      expect(r.table.rows).toHaveLength(9);
      expect(new Set(r.table.failed.map((f) => f.runId)).size).toBe(3);
      for (const f of r.table.failed) {
        expect(f.params.x).toBe(2);
        expect(failureText(f, ['x'])).toMatch(new RegExp(`^run ${f.runId.slice(0, 12)} \\(x = 2, seed ${f.seed}\\): .*exited with code 3`));
      }
      // Every run, failing or not, was started exactly once, and by more than one process.
      const files = fs.readdirSync(counts);
      expect(files).toHaveLength(12);
      const pids = new Set<string>();
      for (const f of files) {
        const lines = fs.readFileSync(path.join(counts, f), 'utf8').trim().split('\n');
        expect(lines, f).toHaveLength(1);
        pids.add(lines[0]!);
      }
      // The program's parent is the sublab process that ran it: the parent and the child.
      expect(pids.size).toBe(2);
      expect(pids.has(String(process.pid))).toBe(true);
    } finally {
      delete process.env.POOL_COUNT_DIR;
      delete process.env.POOL_BARRIER_DIR;
    }
  }, 120_000);

  it('Ctrl-C on sublab run --jobs 2 stops the children and their programs and leaves no claims', async () => {
    const root = path.resolve(here, '../..');
    const cacheDir = path.join(dir, 'sigint');
    const programs = fs.mkdtempSync(path.join(dir, 'sigint-programs-'));
    // Runs that outlast the test: whatever the load, both processes are mid-run when Ctrl-C comes.
    const parent = spawn(process.execPath, [path.join(root, 'bin/sublab.mjs'), 'run', path.join(here, 'fixtures/pool-hold.exp'), '--jobs', '2', '--cache', cacheDir, '--no-progress'], {
      cwd: root,
      env: { ...process.env, SUBLAB_JOBS: '', POOL_HOLD_MS: '600000', POOL_PROGRAM_DIR: programs },
    });
    let stderr = '';
    parent.stderr.on('data', (d) => (stderr += String(d)));
    const done = new Promise<{ code: number | null }>((r) => parent.on('close', (code) => r({ code })));
    // Only the pool's workers: tsx may also have an esbuild service process under the parent.
    const kids = () =>
      spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent.pid)], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((l) => l.includes('pool-child'))
        .map((l) => Number(l.trim().split(/\s+/)[0]))
        .filter((n) => n > 0);
    let children: number[] = [];
    const end = Date.now() + 90_000;
    while (children.length === 0 && Date.now() < end) {
      children = kids();
      if (!children.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(children).toHaveLength(1);
    // Interrupt the parent alone once the child is computing (holds a claim) and both programs run.
    expect(await claimedBy(new ResultCache(cacheDir), children[0]!)).not.toEqual([]);
    while (fs.readdirSync(programs).length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const started = fs.readdirSync(programs).map(Number);
    expect(started).toHaveLength(2);
    parent.kill('SIGINT');
    const { code } = await done;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted; finished runs are cached');
    // A zombie has ended: whoever adopted it may not have reaped it yet.
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
      } catch {
        return false;
      }
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
      } catch {
        return false;
      }
    };
    expect(children.filter(alive)).toEqual([]);
    // The programs are killed as their processes exit.
    const stopBy = Date.now() + 10_000;
    while (started.some(alive) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 50));
    expect(started.filter(alive)).toEqual([]);
    expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.claim'))).toEqual([]);
  }, 120_000);
});
