// Registration status of each prediction of an experiment, from the lock and the time of the
// experiment's first result. Pure: reads nothing, writes nothing (a run never touches the lock).
import type { Prediction } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { ResultRow } from '../results/types.ts';
import { lockRelative, type LockEntry, type LockState } from './lock.ts';
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
    if (!r.finishedAt) return new Date(0);
    const t = Date.parse(r.finishedAt);
    if (Number.isNaN(t)) return new Date(0);
    if (first === undefined || t < first) first = t;
  }
  return new Date(first!);
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

export function predictionStatuses(
  experiment: CheckedExperiment,
  lock: LockState,
  firstResult: Date | null,
): PredictionStatus[] {
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
    if (firstResult === null) return make('registered', { entry: e, amendReason });
    const before = Date.parse(e.time) < firstResult.getTime();
    return make(before ? 'registered-before' : 'registered-after', { entry: e, amendReason });
  });
}
