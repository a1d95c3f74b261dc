// The --jobs pool on the real superposition runner (tiny sweep) and real child processes.
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
  // Enough steps that the parent's own share outlasts a child's start-up (tsx + TensorFlow.js), so
  // both processes really compute; still a few seconds in all. On the TensorFlow.js engine: on
  // ONNX Runtime (the default) the parent finishes the whole sweep before a child has started.
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
    // Kill the child while it computes: as soon as it holds a claim.
    let heldAtKill: string[] = [];
    const watcher = setInterval(() => {
      const held = fs.readdirSync(cache.dir).filter((f) => f.endsWith('.claim') && cache.readClaim(f.slice(0, -6))?.pid === child.pid);
      if (held.length && heldAtKill.length === 0) {
        process.kill(child.pid, 'SIGKILL');
        heldAtKill = held.map((f) => f.slice(0, -6));
        clearInterval(watcher);
      }
    }, 20);
    const table = await pool.execute(0, {});
    clearInterval(watcher);
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
    }
  }, 120_000);

  it('Ctrl-C on sublab run --jobs 2 stops the children and leaves no claims', async () => {
    const root = path.resolve(here, '../..');
    const cacheDir = path.join(dir, 'sigint');
    const parent = spawn(process.execPath, [path.join(root, 'bin/sublab.mjs'), 'run', file, '--set', 'steps=500', '--set', 'backend=tfjs', '--jobs', '2', '--cache', cacheDir, '--no-progress'], {
      cwd: root,
      env: { ...process.env, SUBLAB_JOBS: '' },
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
    // Wait until the child is computing (holds a claim), then interrupt the parent alone.
    let children: number[] = [];
    for (let i = 0; i < 1500; i++) {
      children = kids();
      const claims = fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((f) => f.endsWith('.claim')) : [];
      if (children.length && claims.some((f) => children.includes(JSON.parse(fs.readFileSync(path.join(cacheDir, f), 'utf8') || '{}').pid))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(children).toHaveLength(1);
    parent.kill('SIGINT');
    const { code } = await done;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted; finished runs are cached');
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(children.filter(alive)).toEqual([]);
    expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.claim'))).toEqual([]);
  }, 120_000);
});
