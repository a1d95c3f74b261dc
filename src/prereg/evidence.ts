// When did results of an experiment first exist? Gathered from the result rows (their first
// computation, kept across `--fresh`), the project's results ledger (kept across caches) and, for
// `sublab register`, the cache itself. Used for statuses and written into new lock entries.
import fs from 'node:fs';
import type { CheckedExperiment } from '../language/checked.ts';
import type { ResultRow } from '../results/types.ts';
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { planExperiment } from '../plan/plan.ts';
import { firstSeen } from './seen.ts';
import { rowsEvidence, type ResultEvidence } from './status.ts';

const earlier = (a: Date | null, b: Date | null): Date | null => (a === null ? b : b === null ? a : a.getTime() <= b.getTime() ? a : b);

/** Evidence for the statuses of a finished experiment: its rows plus the results ledger. */
export function resultEvidence(exp: CheckedExperiment, rows: readonly ResultRow[]): ResultEvidence {
  const ev = rowsEvidence(rows);
  return { ...ev, firstAt: earlier(ev.firstAt, firstSeen(exp)) };
}

/** What `storedEvidence` found, and where: for saying which results exist. */
export interface StoredEvidence extends ResultEvidence {
  /** Per sweep point (plan order) with cached runs: its values and how many of its runs are cached. */
  cachedPoints: { values: Record<string, unknown>; cached: number; runs: number }[];
  /** Sweep points of the plan (0 when no cache was read). */
  points: number;
}

/**
 * Evidence without running anything (register, `register --status`): the ledger, and the runs of
 * the experiment's plan found in the cache (`cacheDir`, else $SUBLAB_CACHE or the project's).
 */
export function storedEvidence(exp: CheckedExperiment, cacheDir?: string): StoredEvidence {
  let firstAt = firstSeen(exp);
  const commits = new Set<string>();
  const cachedPoints: StoredEvidence['cachedPoints'] = [];
  let points = 0;
  try {
    const dir = resolveCacheDir(cacheDir, exp.file);
    // Looking must not create a cache folder.
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return { firstAt, commits: [], cachedPoints, points: 0 };
    const cache = new ResultCache(dir, { warn: () => {} });
    const plan = planExperiment(exp);
    points = plan.points.length;
    const cached = new Map<number, number>(), runs = new Map<number, number>();
    for (const run of plan.runs) {
      runs.set(run.point, (runs.get(run.point) ?? 0) + 1);
      const r = cache.inspect(run.id);
      if (r.status !== 'hit') continue;
      cached.set(run.point, (cached.get(run.point) ?? 0) + 1);
      const first = r.entry.first ?? { finishedAt: r.entry.finishedAt, git: r.entry.git };
      const t = Date.parse(first.finishedAt);
      firstAt = earlier(firstAt, Number.isNaN(t) ? new Date(0) : new Date(t));
      if (first.git?.commit) commits.add(first.git.commit);
    }
    for (const pt of plan.points) {
      const n = cached.get(pt.index);
      if (n) cachedPoints.push({ values: pt.values, cached: n, runs: runs.get(pt.index)! });
    }
  } catch {
    /* no cache (or none readable): the ledger is what we have */
  }
  return { firstAt, commits: [...commits], cachedPoints, points };
}

/** Some sweep points have cached runs and others none: the shared-point case. */
const partial = (ev: StoredEvidence): boolean => ev.cachedPoints.length > 0 && ev.cachedPoints.length < ev.points;

/**
 * Why registering `exp` now would mark its predictions exploratory for good, in words (null when no
 * result of it is known): which sweep points have cached runs (often runs shared with another
 * file, such as a baseline's point in a factor sweep), or the ledger's record.
 */
export function existingResultsNote(exp: CheckedExperiment, ev: StoredEvidence): string | null {
  if (ev.firstAt === null) return null;
  const pts = ev.cachedPoints.map((p) => {
    const v = Object.entries(p.values).map(([k, x]) => `${k} = ${String(x)}`).join(', ');
    return `${v || 'its only point'}: ${p.cached} of ${p.runs} runs`;
  });
  return pts.length
    ? `results of experiment "${exp.name}" already exist (since ${ev.firstAt.toISOString()}) in the cache — ${pts.join('; ')}` +
        (partial(ev) ? " — runs another file may share (a baseline's point in a factor sweep)" : '')
    : `results of experiment "${exp.name}" were already seen on ${ev.firstAt.toISOString()} (the project's results ledger, .sublab/results-seen.jsonl)`;
}

/** What to do about it: leave the shared points out, or register before running next time. */
export function existingResultsAdvice(ev: StoredEvidence): string {
  return partial(ev)
    ? 'Leave those points out (a file of their own, or a `set` in place of the sweep value), or pass --after-results to register them as exploratory.'
    : 'Register before running next time (and commit the lock), or pass --after-results to register them as exploratory.';
}
