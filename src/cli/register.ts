// `sublab register`: append each prediction's normalised text and hashes to the sublab.lock beside
// its .exp file. Never rewrites: a changed prediction needs `--amend --reason`, which appends a new
// entry pointing at the old one.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './command.ts';
import { common, defineCommand, flag, type CommandSpec, type Parsed } from './args.ts';
import { compileWithRunners, formatDiagnostics } from '../language/compile.ts';
import { hasErrors } from '../language/diagnostics.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { appendEntries, gitInfo, lockPathFor, lockRelative, readLock, type LockState } from '../prereg/lock.ts';
import { planRegistration } from '../prereg/register.ts';
import { predictionStatuses, type PredictionStatus } from '../prereg/status.ts';
import { amendmentNotes, linesText, noteNumber } from '../report/amendments.ts';
import { existingResultsAdvice, existingResultsNote, storedEvidence } from '../prereg/evidence.ts';
import { withFileLock } from '../prereg/filelock.ts';
import { escapeControl as safe } from '../language/diagnostics.ts';
import { commitHint } from '../prereg/commit-hint.ts';

const spec = {
  name: 'register',
  synopsis: 'FILE.exp... [--amend --reason TEXT] [--status] [--cache DIR]',
  summary: 'preregister the predictions of .exp files in sublab.lock (--amend to record a change)',
  description: `Records every prediction of each file in the lock file sublab.lock beside it (JSON Lines, one
entry per prediction, only ever appended): normalised text, its sha256, the experiment's setup
hash, the time and the git commit (with a dirty flag), and whether results of the experiment
already existed (then its predictions are exploratory for good: registering them needs
--after-results, and the refusal says which sweep points have results). Commit the lock with the
experiments, before running them: it ends by printing the git command that does (paths relative
to the current folder), and \`sublab run\` stops while registered predictions are not committed.

A prediction already registered unchanged is left alone. A prediction whose text or setup
changed since registration is refused unless --amend is given.`,
  options: {
    amend: flag('append new versions of changed predictions; the old entries stay'),
    reason: {
      arg: 'TEXT',
      help: 'why (required with --amend); recorded in the lock and shown in reports',
      parse: (t: string, f: string) => {
        if (t.trim() === '') throw new UsageError(`${f} needs a text, e.g. ${f} "threshold was a typo"`);
        return t;
      },
    },
    'after-results': flag('register even when results of the experiment already exist (its predictions\nare then exploratory for good); without it such a registration is refused'),
    status: flag('write nothing: verify the locks and print each prediction\'s status'),
    cache: {
      ...common.cache,
      help: 'result cache to look in for existing results (default $SUBLAB_CACHE or\n.sublab/cache in the project; the project\'s results ledger is always read)',
    },
  },
  positionals: { min: 1, missing: 'no .exp file given' },
} satisfies CommandSpec;

interface Options {
  files: string[];
  amend: boolean;
  reason?: string;
  status: boolean;
  afterResults: boolean;
  cacheDir?: string;
}

function options({ values: v, positionals }: Parsed<typeof spec.options>): Options {
  const o: Options = { files: positionals, amend: v.amend === true, status: v.status === true, afterResults: v['after-results'] === true, reason: v.reason, cacheDir: v.cache };
  if (o.amend && !o.reason) throw new UsageError('--amend needs --reason "why the prediction changed"');
  if (o.reason && !o.amend) throw new UsageError('--reason is only used with --amend');
  if (o.status && o.amend) throw new UsageError('--status writes nothing; it cannot be combined with --amend');
  return o;
}

function problems(lock: LockState): string {
  return lock.problems.map((p) => `  ${lock.path}:${p.line}: ${p.message}`).join('\n');
}

/** The last lines: the exact git command that commits the registration (or why there is none). */
function printCommitHint(all: string[], exps: CheckedExperiment[]): void {
  // --status on a folder nothing was registered in: no lock, nothing to say.
  const locks = all.filter((l) => fs.existsSync(l));
  if (!locks.length) return;
  const files = [...new Set(exps.map((e) => path.resolve(e.file)))];
  const names = files.map((f) => path.basename(f)).join(', ');
  const hint = commitHint(locks, files, process.cwd(), `Preregister predictions of ${names}`);
  const which = locks.map((l) => path.relative(process.cwd(), l) || l).join(', ');
  if (hint.kind === 'no-git') {
    process.stdout.write(`\n${safe(which)} is not in a git repository: the lock records when each prediction was registered, but without a commit nothing proves it was fixed before the results. Put the project under git and commit the lock before running.\n`);
  } else if (hint.kind === 'committed') {
    process.stdout.write(`\n${safe(which)}: committed, nothing to commit.\n`);
  } else {
    process.stdout.write(`\nCommit the lock before running (results computed before it is committed make these predictions exploratory):\n  ${safe(hint.command!)}\n`);
  }
}

/**
 * `register --status`: per experiment, one line per prediction (label column as wide as the
 * longest label printed), then each amendment reason once, numbered, the lines pointing to it.
 */
export function formatStatusList(list: readonly { e: CheckedExperiment; file: string; statuses: readonly PredictionStatus[] }[]): string {
  const width = Math.max(0, ...list.flatMap((x) => x.statuses.map((s) => s.label.length)));
  let out = '';
  for (const { e, file, statuses } of list) {
    out += `${safe(e.name)} (${file}):\n`;
    const notes = amendmentNotes(statuses.map((s) => ({ line: s.prediction.loc.line, amendReason: s.amendReason })));
    for (const s of statuses) {
      const note = noteNumber(notes, s.amendReason);
      out += `  ${s.label.padEnd(width)}  line ${s.prediction.loc.line}: ${safe(s.text)}${note ? ` (amended, note ${note})` : ''}\n`;
      if (s.detail) out += `  ${''.padEnd(width)}  (${s.detail})\n`;
    }
    if (notes.length) {
      out += `  Amendments (the reasons recorded in the lock):\n`;
      for (const n of notes) out += `    ${n.number}. ${linesText(n.lines)}: ${safe(n.reason)}\n`;
    }
  }
  return out;
}

export const command = defineCommand(spec, async (parsed) => {
  const o = options(parsed);
  // Compile everything first: nothing is written when any file has an error.
  const byLock = new Map<string, CheckedExperiment[]>();
  let languageError = false;
  // The same file named twice must not register its predictions twice.
  for (const f of [...new Set(o.files.map((x) => path.resolve(x)))]) {
    const r = await compileWithRunners(f);
    if (hasErrors(r.diagnostics)) {
      process.stderr.write(formatDiagnostics(r) + '\n');
      languageError = true;
      continue;
    }
    const lp = lockPathFor(f);
    byLock.set(lp, [...(byLock.get(lp) ?? []), ...r.experiments]);
  }
  if (languageError) return 2;

  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  let failed = false;
  // Locks that verify (and were written, or only read with --status): what to commit at the end.
  const good = new Map<string, CheckedExperiment[]>();
  // --status: every experiment's statuses first, so one label column fits all of them.
  const listed: { e: CheckedExperiment; statuses: PredictionStatus[] }[] = [];
  for (const [lp, exps] of byLock) {
    if (o.status) {
      const lock = readLock(lp);
      if (lock.tampered) {
        process.stderr.write(`${rel(lp)}: the lock fails verification (edited by hand?); nothing in it is trusted:\n${problems(lock)}\nRestore it from version control; sublab never rewrites a lock.\n`);
        failed = true;
        continue;
      }
      good.set(lp, exps);
      for (const e of exps) listed.push({ e, statuses: predictionStatuses(e, lock, storedEvidence(e, o.cacheDir)) });
      continue;
    }
    // Read, plan and append under an exclusive lock: two registers on one folder must not both
    // chain onto the same last entry.
    const ok = await withFileLock(lp, () => {
      const lock = readLock(lp);
      if (lock.tampered) {
        process.stderr.write(`${rel(lp)}: the lock fails verification (edited by hand?); nothing in it is trusted:\n${problems(lock)}\nRestore it from version control; sublab never rewrites a lock.\n`);
        return false;
      }
      // What results existed when this entry is written is recorded in it, for good.
      const evidence = new Map(exps.map((e) => [e, storedEvidence(e, o.cacheDir)]));
      const since = new Map(exps.map((e) => [e, evidence.get(e)!.firstAt?.toISOString() ?? null]));
      const plan = planRegistration(exps, lock, { amend: o.amend, reason: o.reason, now: new Date(), git: gitInfo(path.dirname(lp)), resultsSince: (e) => since.get(e) ?? null });
      // Results that already exist make new entries exploratory for good: only on request.
      const late = exps.filter((e) => since.get(e) && plan.entries.some((x) => x.file === lockRelative(lp, e.file) && x.experiment === e.name));
      for (const e of late) {
        const note = existingResultsNote(e, evidence.get(e)!)!;
        if (o.afterResults) process.stderr.write(`note: ${safe(note)}; the lock records it, so these predictions are shown as exploratory.\n`);
        else process.stderr.write(`${rel(e.file)}: not registered: ${safe(note)}. Registered now, its predictions would be exploratory for good (the lock records it).\n  ${existingResultsAdvice(evidence.get(e)!)}\n`);
      }
      if (late.length && !o.afterResults) {
        process.stderr.write(`${rel(lp)}: nothing written.\n`);
        return false;
      }
      const refused = plan.actions.filter((a) => a.action === 'refused');
      for (const a of plan.actions) {
        const where = `${rel(path.join(path.dirname(lp), a.file))}:${a.line}`;
        const label = { register: 'registered', amend: 'amended', unchanged: 'unchanged', refused: 'REFUSED' }[a.action];
        process.stdout.write(`${label.padEnd(10)} ${where}  ${safe(a.text)}${a.message ? `\n           ${safe(a.message)}` : ''}\n`);
      }
      if (refused.length) {
        process.stderr.write(`${rel(lp)}: nothing written (${refused.length} prediction(s) changed since registration).\n`);
        return false;
      }
      appendEntries(lock, plan.entries);
      process.stdout.write(`${rel(lp)}: ${plan.entries.length} entr${plan.entries.length === 1 ? 'y' : 'ies'} appended.\n`);
      return true;
    });
    if (!ok) failed = true;
    else good.set(lp, exps);
  }
  if (listed.length) process.stdout.write(formatStatusList(listed.map((x) => ({ ...x, file: rel(x.e.file) }))));
  if (good.size) printCommitHint([...good.keys()], [...good.values()].flat());
  return failed ? 1 : 0;
});
