// Cache entries hold the parts they were computed with (src/plan/needs.ts): a request for less is
// a hit, a request for more computes only what is missing (the teacher from the stage store) and
// merges it into the entry, and an interrupted merge leaves the old entry as it was. Real
// mlp_distill runs, tiny.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { runFile } from '../../src/exec/run-file.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import { mlpDistillSchema } from '../../src/runners/mlp_distill/schema.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-partial-'));
  dirs.push(dir);
  const file = path.join(dir, 'two-arms.exp');
  writeFileSync(file, `experiment "two arms" {
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
  return { dir, file };
}

const all = mlpDistillSchema.metrics.map((m) => m.name);
const bin = fileURLToPath(new URL('../../bin/sublab.mjs', import.meta.url));
/** `sublab plan`'s line saying what the runs compute (and what the cache holds). */
const computesLine = (file: string, cacheDir: string, ...args: string[]) =>
  execFileSync(process.execPath, [bin, 'plan', file, '--cache', cacheDir, ...args], { encoding: 'utf8', env: { ...process.env, SUBLAB_CACHE: '' } }).split('\n').find((l) => l.includes('computes:'));
const quiet = { warn: () => {} };

describe('cache entries that hold part of a run', () => {
  it('a subset is a hit; a superset computes the missing parts, reuses the teacher and merges them in, the same numbers as computed whole', { timeout: 300_000 }, async () => {
    const { dir, file } = setup();
    const cacheDir = path.join(dir, 'cache');
    const two = (await runFile(file, { cacheDir, ...quiet })).experiments[0]!;
    expect(two.plan.needs?.parts).toEqual(['student', 'cross']);
    expect(two.cacheHits).toBe(0);
    const cache = new ResultCache(cacheDir);
    for (const r of two.plan.runs) {
      const e = cache.read(r.id)!;
      expect(e.parts).toEqual(['cross', 'student']);
      expect(Object.keys(e.output.rows[0]!.metrics)).not.toContain('student_all_acc');
      expect(Object.keys(e.output.rows[0]!.metrics)).not.toContain('hidden_cka');
    }
    // The same request again: every run cached.
    expect((await runFile(file, { cacheDir, ...quiet })).experiments[0]!.cacheHits).toBe(2);
    expect(computesLine(file, cacheDir)).toBe('  computes: 2 of 4 arms (student, cross), no optional evaluations, no curves (for student_acc, cross_model_acc; --all-metrics: everything); cached: 2 of 2 runs');
    expect(computesLine(file, cacheDir, '--all-metrics')).toBe(`  computes: 4 of 4 arms, evaluations: cka, cross_cka, curves (for ${all.join(', ')}); cached: 0 of 2 runs, 2 more in part (the parts they lack are computed and merged)`);

    // Everything: the missing arms and evaluations computed, the teacher taken from the stage.
    const every = (await runFile(file, { cacheDir, metrics: 'all', ...quiet })).experiments[0]!;
    expect(every.cacheHits).toBe(0);
    expect(every.plan.runs.map((r) => every.table.extras[r.id]!.teacher_stage)).toEqual(['reused', 'reused']);
    for (const [i, row] of every.table.rows.entries()) {
      expect(Object.keys(row.metrics).sort()).toEqual([...all].sort());
      expect(row.metrics.student_acc).toBe(two.table.rows[i]!.metrics.student_acc);
      expect(row.metrics.cross_model_acc).toBe(two.table.rows[i]!.metrics.cross_model_acc);
    }
    for (const r of every.plan.runs) expect(cache.read(r.id)!.parts).toEqual(['cka', 'cross', 'cross_all', 'cross_cka', 'curves', 'student', 'student_all']);
    // The verdicts' subset is a hit now, as is everything again.
    expect((await runFile(file, { cacheDir, ...quiet })).experiments[0]!.cacheHits).toBe(2);
    expect((await runFile(file, { cacheDir, metrics: 'all', ...quiet })).experiments[0]!.cacheHits).toBe(2);

    // The merged entries hold what one computation of everything gives, bit for bit (curves too).
    const whole = (await runFile(file, { cacheDir: path.join(dir, 'cache-whole'), metrics: 'all', ...quiet })).experiments[0]!;
    expect(whole.table.rows.map((r) => r.metrics)).toEqual(every.table.rows.map((r) => r.metrics));
    for (const r of whole.plan.runs) expect(every.table.extras[r.id]!.curves).toEqual(whole.table.extras[r.id]!.curves);
  });

  it('an interrupted merge leaves the old entry valid, and the subset it holds still a hit', { timeout: 300_000 }, async () => {
    const { dir, file } = setup();
    const cacheDir = path.join(dir, 'cache');
    const two = (await runFile(file, { cacheDir, ...quiet })).experiments[0]!;
    const ac = new AbortController();
    const stopped = runFile(file, {
      cacheDir, metrics: 'all', signal: ac.signal, ...quiet,
      onProgress: (p) => { if (p.runner?.phase === 'distill') ac.abort(); },
    });
    await expect(stopped).rejects.toThrow(/interrupted|cancelled/);
    const cache = new ResultCache(cacheDir);
    for (const r of two.plan.runs) {
      const x = cache.inspect(r.id);
      expect(x.status).toBe('hit');
      if (x.status === 'hit') expect(x.entry.parts).toEqual(['cross', 'student']);
    }
    const again = (await runFile(file, { cacheDir, ...quiet })).experiments[0]!;
    expect(again.cacheHits).toBe(2);
    expect(again.table.rows.map((r) => r.metrics)).toEqual(two.table.rows.map((r) => r.metrics));
  });

  it('--fresh recomputes every part the entry held, not only those asked: nothing computed before is lost', { timeout: 300_000 }, async () => {
    const { dir, file } = setup();
    const cacheDir = path.join(dir, 'cache');
    const every = (await runFile(file, { cacheDir, metrics: 'all', ...quiet })).experiments[0]!;
    const cache = new ResultCache(cacheDir);
    const before = every.plan.runs.map((r) => cache.read(r.id)!);
    const held = ['cka', 'cross', 'cross_all', 'cross_cka', 'curves', 'student', 'student_all'];
    for (const e of before) expect(e.parts).toEqual(held);

    // A fresh run asking for two arms recomputes all it held, bit for bit, and keeps the first result's time.
    const fresh = (await runFile(file, { cacheDir, fresh: true, ...quiet })).experiments[0]!;
    expect(fresh.plan.needs?.parts).toEqual(['student', 'cross']);
    expect(fresh.cacheHits).toBe(0);
    for (const [i, r] of fresh.plan.runs.entries()) {
      const e = cache.read(r.id)!;
      expect(e.parts).toEqual(held);
      expect(e.finishedAt > before[i]!.finishedAt).toBe(true);
      expect(e.first?.finishedAt).toBe(before[i]!.finishedAt);
      expect(e.output.rows.map((x) => x.metrics)).toEqual(before[i]!.output.rows.map((x) => x.metrics));
      expect(e.output.extras?.curves).toEqual(before[i]!.output.extras?.curves);
    }
    // So everything is still a hit.
    expect((await runFile(file, { cacheDir, metrics: 'all', ...quiet })).experiments[0]!.cacheHits).toBe(2);

    // A fresh run asking for more than the entry holds computes the union too.
    const small = path.join(dir, 'cache-small');
    await runFile(file, { cacheDir: small, ...quiet });
    await runFile(file, { cacheDir: small, fresh: true, metrics: 'all', ...quiet });
    for (const r of fresh.plan.runs) expect(new ResultCache(small).read(r.id)!.parts).toEqual(held);
  });
});
