// Registration status of each prediction of an experiment, from the lock and the evidence of when
// the experiment's first result existed (its time, and where known the git commit it was computed
// at). Reads nothing but git, and that only when results carry a commit; writes nothing.
import type { Prediction } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { ResultRow } from '../results/types.ts';
import { lockRelative, type LockEntry, type LockState } from './lock.ts';
import { lockGit, type LockGit } from './git.ts';
import { normalisePrediction, predictionHash, setupHash } from './normalise.ts';

export type RegistrationStatus =
  | 'registered-before' // registered before the experiment's first result: confirmatory
  | 'registered' // registered, no results yet
  | 'registered-after' // registered, but results already existed: exploratory
  | 'changed' // text or setup differ from the registration
  | 'not-registered'
  | 'tampered'; // the lock fails verification: nothing in it is trusted

export const statusLabels: Record<RegistrationStatus, string> = {
  'registered-before': 'registered before its first result',
  registered: 'registered (no results yet)',
  'registered-after': 'registered after results existed',
  changed: 'changed since registration',
  'not-registered': 'not registered',
  tampered: 'lock tampered',
};

/**
 * The compact tag `sublab run` and the Vitest test names show after a prediction. Both
 * confirmatory statuses read `[registered]`: the report and `register --status` tell them apart.
 */
export const statusTags: Record<RegistrationStatus, string> = {
  'registered-before': '[registered]',
  registered: '[registered]',
  'registered-after': '[registered after results]',
  changed: '[changed since registration]',
  'not-registered': '[not registered]',
  tampered: '[lock tampered]',
};

export interface PredictionStatus {
  prediction: Prediction;
  /** Normalised text and hash of the prediction as it is now. */
  text: string;
  hash: string;
  status: RegistrationStatus;
  label: string;
  /** Confirmatory only when registered before any result existed (or before results, none yet). */
  exploratory: boolean;
  /** The lock entry this prediction was matched to (absent for not-registered / tampered). */
  entry?: LockEntry;
  /** For `changed`: what differs. */
  changes?: ('text' | 'setup')[];
  /** Set when the matched entry is an amendment. */
  amendReason?: string;
  /** Why a registered prediction is not confirmatory, when it is not plain timing. */
  detail?: string;
}

/**
 * Earliest `finishedAt` of the rows: when the first result existed. null: no results. A row that
 * carries no time (older caches) counts as "results existed at an unknown earlier time": the
 * conservative reading, so such predictions are never shown as confirmatory by accident.
 */
export function firstResultAt(rows: readonly ResultRow[]): Date | null {
  if (rows.length === 0) return null;
  let first: number | undefined;
  for (const r of rows) {
    // firstAt: the first computation of the run, which `--fresh` does not erase.
    const at = r.firstAt ?? r.finishedAt;
    if (!at) return new Date(0);
    const t = Date.parse(at);
    if (Number.isNaN(t)) return new Date(0);
    if (first === undefined || t < first) first = t;
  }
  return new Date(first!);
}

/** What is known about the experiment's results when statuses are computed. */
export interface ResultEvidence {
  /** Earliest time results are known to have existed (rows, cache history, results ledger); null: none. */
  firstAt: Date | null;
  /** git commits the first results were computed at (those recorded). */
  commits: readonly string[];
  /** The lock's git view; default: looked up when `commits` is not empty. null: no git. */
  git?: LockGit | null;
}

/** Commits the rows' first results were computed at (unique; rows without one are skipped). */
export function firstCommits(rows: readonly ResultRow[]): string[] {
  return [...new Set(rows.map((r) => r.firstCommit).filter((c): c is string => typeof c === 'string' && c.length > 0))];
}

/** Evidence from result rows alone. */
export function rowsEvidence(rows: readonly ResultRow[]): ResultEvidence {
  return { firstAt: firstResultAt(rows), commits: firstCommits(rows) };
}

/** Entries of one experiment still in force: those no later amendment supersedes. */
export function activeEntries(lock: LockState, file: string, experiment: string): LockEntry[] {
  const mine = lock.entries.filter((e) => e.file === file && e.experiment === experiment);
  const superseded = new Set(mine.filter((e) => e.kind === 'amend' && e.supersedes).map((e) => e.supersedes!));
  return mine.filter((e) => !superseded.has(e.entryHash));
}

/** Numbers blanked: an edited threshold still pairs with the entry it came from. */
function skeleton(normalised: string): string {
  return normalised.replace(/(?<![A-Za-z_])-?\d+(\.\d+)?(e[+-]?\d+)?/g, '#');
}

export interface Match {
  prediction: Prediction;
  text: string;
  hash: string;
  entry?: LockEntry;
  exact: boolean;
}

/**
 * Pair each current prediction with an entry in force: same hash first; then, among the rest,
 * same skeleton (a changed number); then by order (a rewritten prediction in place of another).
 */
export function matchPredictions(predictions: readonly Prediction[], entries: readonly LockEntry[]): Match[] {
  const free = new Set(entries);
  const out: Match[] = predictions.map((p) => ({ prediction: p, text: normalisePrediction(p), hash: predictionHash(p), exact: false }));
  for (const m of out) {
    const e = [...free].find((x) => x.hash === m.hash);
    if (e) {
      m.entry = e;
      m.exact = true;
      free.delete(e);
    }
  }
  for (const m of out) {
    if (m.entry) continue;
    const e = [...free].find((x) => skeleton(x.prediction) === skeleton(m.text));
    if (e) {
      m.entry = e;
      free.delete(e);
    }
  }
  for (const m of out) {
    if (m.entry) continue;
    const e = [...free][0];
    if (e) {
      m.entry = e;
      free.delete(e);
    }
  }
  return out;
}

/**
 * `firstResult`: when the first result existed (a Date, or null for none), or the fuller evidence
 * (also the commits results were computed at). A prediction is confirmatory ("registered before its
 * first result") only when all of these hold: its entry did not record results existing when it
 * was written; its entry is older than the first result known; and, where results carry a git
 * commit, the entry was committed in that commit or before it.
 */
export function predictionStatuses(
  experiment: CheckedExperiment,
  lock: LockState,
  firstResult: Date | null | ResultEvidence,
): PredictionStatus[] {
  const ev: ResultEvidence = firstResult === null || firstResult instanceof Date ? { firstAt: firstResult, commits: [] } : firstResult;
  let gitView: LockGit | null | undefined = ev.git;
  const theGit = () => (gitView === undefined ? (gitView = lockGit(lock.path)) : gitView);
  const file = lockRelative(lock.path, experiment.file);
  const setup = setupHash(experiment);
  const matches = matchPredictions(experiment.predictions, lock.tampered ? [] : activeEntries(lock, file, experiment.name));
  return matches.map((m) => {
    const base = { prediction: m.prediction, text: m.text, hash: m.hash };
    const make = (status: RegistrationStatus, extra: Partial<PredictionStatus> = {}): PredictionStatus => ({
      ...base,
      status,
      label: statusLabels[status],
      exploratory: status !== 'registered-before' && status !== 'registered',
      ...extra,
    });
    if (lock.tampered) return make('tampered');
    const e = m.entry;
    if (!e) return make('not-registered');
    const amendReason = e.kind === 'amend' ? e.reason : undefined;
    const changes: ('text' | 'setup')[] = [];
    if (!m.exact) changes.push('text');
    if (e.setupHash !== setup) changes.push('setup');
    if (changes.length) return make('changed', { entry: e, changes, amendReason });
    const after = (why: string) => make('registered-after', { entry: e, amendReason, detail: why });
    // What the lock recorded when this entry was written cannot be undone by a later --fresh or cache.
    if (typeof e.resultsSince === 'string') return after(`results existed since ${e.resultsSince} when it was registered`);
    if (ev.firstAt === null) return make('registered', { entry: e, amendReason });
    if (!(Date.parse(e.time) < ev.firstAt.getTime())) return make('registered-after', { entry: e, amendReason });
    if (ev.commits.length) {
      const g = theGit();
      if (g) {
        const committed = g.entryCommit(e.entryHash);
        if (!committed) return after(`the lock entry was not committed before the results were computed at ${ev.commits[0]!.slice(0, 12)}`);
        const bad = ev.commits.find((c) => !g.precedes(committed, c));
        if (bad) return after(`the lock entry, committed in ${committed.slice(0, 12)}, is not in the history of ${bad.slice(0, 12)} where results were computed`);
      }
    }
    return make('registered-before', { entry: e, amendReason });
  });
}
