// The run-start check: results computed while a prediction's lock entry is not committed make that
// prediction exploratory for good ("registered after results existed": the entry is not in the
// history of the commit the results were computed at). `sublab run`, `sublab submit` and the Vitest
// runtime call this before anything is computed, and stop unless told to go on.
import fs from 'node:fs';
import path from 'node:path';
import type { ExperimentPlan } from '../plan/types.ts';
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { escapeControl } from '../language/diagnostics.ts';
import { commitHint } from './commit-hint.ts';
import { storedEvidence } from './evidence.ts';
import { inGitWorkTree, lockGit } from './git.ts';
import { lockPathFor, readLock } from './lock.ts';
import { predictionStatuses, type PredictionStatus } from './status.ts';

export interface UncommittedRegistration {
  plan: ExperimentPlan;
  lockPath: string;
  /** Registered, unchanged predictions that are still confirmatory and whose entry is not committed. */
  predictions: PredictionStatus[];
}

export interface GuardOptions {
  /** The run's cache (--cache), as runFile resolves it. */
  cacheDir?: string;
  /** false: the run uses no cache, so every run is computed. */
  cache?: boolean;
  /** --fresh: every run is recomputed. */
  fresh?: boolean;
}

/**
 * The experiments whose run would compute results while some of their registered predictions are
 * not committed. Outside git: none (there is no commit to prove order with). An experiment whose
 * runs are all cached computes nothing, so running it changes no status: it is not listed.
 */
export function uncommittedRegistrations(plans: readonly ExperimentPlan[], opts: GuardOptions = {}): UncommittedRegistration[] {
  const out: UncommittedRegistration[] = [];
  for (const plan of plans) {
    const exp = plan.experiment;
    const lockPath = lockPathFor(exp.file);
    if (!fs.existsSync(lockPath) || !inGitWorkTree(path.dirname(lockPath))) continue;
    const lock = readLock(lockPath);
    if (lock.tampered) continue; // every status is "lock tampered" already; register/report say why
    // Cheap first (no cache read): registered, unchanged predictions whose entry is not in git.
    // No commit in the repository yet: nothing is committed.
    const g = lockGit(lockPath);
    const notInGit = (s: PredictionStatus) => !g || g.entryCommit(s.entry!.entryHash) === null;
    const candidates = predictionStatuses(exp, lock, { firstAt: null, commits: [], git: g }).filter((s) => s.status === 'registered' && notInGit(s));
    if (candidates.length === 0 || !computesSomething(plan, opts)) continue;
    // Of those, the ones results have not already made exploratory.
    const uncommitted = predictionStatuses(exp, lock, { ...storedEvidence(exp, opts.cacheDir), git: g }).filter(
      (s) => (s.status === 'registered' || s.status === 'registered-before') && notInGit(s),
    );
    if (uncommitted.length) out.push({ plan, lockPath, predictions: uncommitted });
  }
  return out;
}

function computesSomething(plan: ExperimentPlan, opts: GuardOptions): boolean {
  if (opts.fresh || opts.cache === false) return plan.runs.length > 0;
  const dir = resolveCacheDir(opts.cacheDir, plan.experiment.file);
  // Looking must not create a cache folder.
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return plan.runs.length > 0;
  const cache = new ResultCache(dir, { warn: () => {} });
  return plan.runs.some((r) => !cache.has(r.id));
}

/**
 * The message that stops the run: what is not committed, the git command that commits it, what
 * running anyway means, and `proceed` (how to run anyway in this front end).
 */
export function uncommittedMessage(found: readonly UncommittedRegistration[], proceed: string, cwd = process.cwd()): string {
  const rel = (p: string) => path.relative(cwd, p) || p;
  const lines: string[] = [];
  for (const f of found) {
    const n = f.predictions.length;
    lines.push(`${rel(f.plan.experiment.file)}: experiment "${escapeControl(f.plan.experiment.name)}": ${n} registered prediction${n === 1 ? ' is' : 's are'} not committed in ${rel(f.lockPath)}:`);
    for (const s of f.predictions) lines.push(`  line ${s.prediction.loc.line}: ${escapeControl(s.text)}`);
  }
  const locks = [...new Set(found.map((f) => f.lockPath))];
  const hint = commitHint(locks, found.map((f) => f.plan.experiment.file), cwd);
  lines.push(
    'Results computed now would exist before the registration is in git, so these predictions would',
    'count as exploratory ("registered after results existed") for good. Commit the lock first:',
    '',
    `  ${hint.command ?? `git add ${locks.map(rel).join(' ')} && git commit`}`,
    '',
    `then run again. To run anyway (the predictions above become exploratory): ${proceed}`,
  );
  return lines.join('\n');
}
