// A topic folder for the write-up tests: the fixture .exp files copied to a temporary folder,
// registered at a fixed time, and a result cache filled with made-up entries for every planned
// run (except "not run yet"), finished after the registration. No runner is loaded: nothing trains.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ResultCache } from '../../src/exec/cache.ts';
import { planFile } from '../../src/exec/session.ts';
import type { Value } from '../../src/language/ast.ts';
import { appendEntries, readLock } from '../../src/prereg/lock.ts';
import { planRegistration } from '../../src/prereg/register.ts';
import { compileFile } from '../../src/language/compile.ts';
import { here } from './fixture.ts';

export const writeupFixtureDir = path.join(here, 'fixtures', 'writeup');
export const T_REGISTER = '2026-02-01T10:00:00.000Z';
export const T_RESULTS = '2026-02-02T10:00:00.000Z';

/** Made-up metrics: a smooth function of the parameters plus a per-seed wobble. */
function metrics(p: Record<string, Value>, seed: number): Record<string, number> {
  const s = Number(p.sparsity);
  const w = [0.012, -0.02, 0.007, -0.004, 0.015, -0.01][seed % 6]!;
  const shared = p.child_init !== 'independent';
  return {
    teacher_features_per_dim: 1 + 2.5 * s + w,
    child_features_per_dim: 0.9 + 2 * s + w,
    transfer_ratio: 0.3 + 0.6 * s + w,
    transfer_cosine: shared ? 0.7 + 0.1 * s + w : 0.02 + w,
    init_ratio: 0.25 + w / 4,
    teacher_loss: 0.004 + 0.002 * s + Math.abs(w) / 10,
    child_loss: 0.002 + 0.001 * s + Math.abs(w) / 10,
  };
}

export interface WriteupFixture {
  dir: string;
  cache: string;
}

/** The reason of the fixture's amendment (`amend`). */
export const AMEND_REASON = 'thresholds copied from the wrong pilot (100% & #3 of them); fixed before any result';

/**
 * `exploratory`: after registering, add a prediction to sparsity.exp (so it is "not registered" and
 * shown apart). `amend`: then change two thresholds of base.exp and amend both with one reason,
 * still before the results (so they stay confirmatory).
 */
export function makeWriteupFixture(opts: { exploratory?: boolean; amend?: boolean } = {}): WriteupFixture {
  const root = mkdtempSync(path.join(tmpdir(), 'sublab-writeup-'));
  const dir = path.join(root, 'topic');
  cpSync(writeupFixtureDir, dir, { recursive: true });
  const files = ['base.exp', 'sparsity.exp', 'grid.exp', 'pending.exp'].map((f) => path.join(dir, f));
  const lockPath = path.join(dir, 'sublab.lock');
  const experiments = files.flatMap((f) => compileFile(f).experiments);
  const git = { commit: 'cafebabecafebabecafebabecafebabecafebabe', dirty: false };
  appendEntries(readLock(lockPath, { git: false }), planRegistration(experiments, readLock(lockPath, { git: false }), { git, now: new Date(T_REGISTER) }).entries);
  if (opts.amend) {
    const f = path.join(dir, 'base.exp');
    writeFileSync(f, readFileSync(f, 'utf8').replace('transfer_cosine > 0.5', 'transfer_cosine > 0.4').replace('child_loss < 0.01', 'child_loss < 0.02'));
    const lock = readLock(lockPath, { git: false });
    const plan = planRegistration(compileFile(f).experiments, lock, { git, now: new Date(Date.parse(T_REGISTER) + 3600_000), amend: true, reason: AMEND_REASON });
    appendEntries(lock, plan.entries);
  }
  if (opts.exploratory) {
    const f = path.join(dir, 'sparsity.exp');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/}\s*$/, '  predict child_loss < 0.002 where sparsity = 0\n}\n'));
  }
  const cacheDir = path.join(root, 'cache');
  const cache = new ResultCache(cacheDir);
  for (const f of files) {
    if (f.endsWith('pending.exp')) continue;
    for (const plan of planFile(f).plans) {
      for (const run of plan.runs) {
        cache.write({
          id: run.id,
          runner: run.runner,
          params: run.params,
          seed: run.seed,
          output: { rows: [{ metrics: metrics(run.params, run.seed) }], backend: 'cpu' },
          wallMs: 1200 + 10 * run.point,
          finishedAt: T_RESULTS,
        });
      }
    }
  }
  return { dir, cache: cacheDir };
}
