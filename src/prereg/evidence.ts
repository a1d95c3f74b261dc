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

/**
 * Evidence without running anything (register, `register --status`): the ledger, and the runs of
 * the experiment's plan found in the cache (`cacheDir`, else $SUBLAB_CACHE or the project's).
 */
export function storedEvidence(exp: CheckedExperiment, cacheDir?: string): ResultEvidence {
  let firstAt = firstSeen(exp);
  const commits = new Set<string>();
  try {
    const dir = resolveCacheDir(cacheDir, exp.file);
    // Looking must not create a cache folder.
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return { firstAt, commits: [] };
    const cache = new ResultCache(dir, { warn: () => {} });
    const ids = new Set(planExperiment(exp).runs.map((r) => r.id));
    for (const id of ids) {
      const r = cache.inspect(id);
      if (r.status !== 'hit') continue;
      const first = r.entry.first ?? { finishedAt: r.entry.finishedAt, git: r.entry.git };
      const t = Date.parse(first.finishedAt);
      firstAt = earlier(firstAt, Number.isNaN(t) ? new Date(0) : new Date(t));
      if (first.git?.commit) commits.add(first.git.commit);
    }
  } catch {
    /* no cache (or none readable): the ledger is what we have */
  }
  return { firstAt, commits: [...commits] };
}
