// Runtime of a generated .exp test module: runs the file once (in beforeAll), then each prediction's
// `it` only looks up its verdicts. Errors are built in the generated module (so their stack starts
// at the prediction's line there, which the transform's sourcemap maps back into the .exp file).
import { runFile, type ExperimentResult } from '../exec/run-file.ts';
import { LanguageError } from '../language/errors.ts';
import { failureText } from '../results/types.ts';
import { createProgressRenderer } from '../exec/progress.ts';
import { describeVerdict, groupSuffix } from '../verdict/format.ts';
import type { Verdict } from '../verdict/types.ts';
import type { Value } from '../language/ast.ts';
import { valueMatches } from '../verdict/rows.ts';
import { planFile } from '../exec/session.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { lockPathFor, readLock } from '../prereg/lock.ts';
import { storedEvidence } from '../prereg/evidence.ts';
import { predictionStatuses, statusTags } from '../prereg/status.ts';
import { uncommittedMessage, uncommittedRegistrations } from '../prereg/run-guard.ts';

export interface ExpFileOptions {
  /** 'skip' turns an inconclusive verdict into a skipped test (env SUBLAB_INCONCLUSIVE wins). */
  inconclusive?: 'fail' | 'skip';
  /**
   * Run even when registered predictions are not committed in git (they become exploratory);
   * env SUBLAB_ALLOW_UNCOMMITTED_LOCK=1 does the same. Default: every test fails, saying what to commit.
   */
  allowUncommittedLock?: boolean;
}

/** How to run anyway, in the message that stops an uncommitted run under Vitest. */
const PROCEED = 'SUBLAB_ALLOW_UNCOMMITTED_LOCK=1 npx vitest run, or sublabExp({ allowUncommittedLock: true }) in vitest.config.ts';

/** What a prediction's test must do: nothing (pass), skip with a note, or throw name: message. */
export type Judgement = { kind: 'pass' } | { kind: 'skip'; note: string } | { kind: 'fail'; name: string; message: string };

export interface ExpFileHandle {
  /** The test's name: `name` and the prediction's registration status as it stands now. */
  title(experiment: number, prediction: number, name: string): string;
  run(): Promise<void>;
  /** `group`: one `for each` group's values (its own test); absent: every verdict of the prediction. */
  judge(experiment: number, prediction: number, group?: Record<string, Value>): Judgement;
}

function failedRunsNote(r: ExperimentResult): string {
  const n = r.table.failed.length;
  if (!n) return '';
  const sweeps = r.experiment.sweeps.map((s) => s.name);
  const shown = r.table.failed.slice(0, 5).map((f) => `\n    ${failureText(f, sweeps)}`).join('');
  return `\n  ${n} run${n === 1 ? '' : 's'} failed, so their rows are missing:${shown}${n > 5 ? `\n    … and ${n - 5} more` : ''}`;
}

/** The verdicts of prediction `index` (of one `for each` group when given), by the index each verdict carries. */
export function verdictsOf(verdicts: readonly Verdict[], index: number, group?: Record<string, Value>): Verdict[] {
  const vs = verdicts.filter((v) => v.predictionIndex === index);
  return group ? vs.filter((v) => Object.entries(group).every(([k, x]) => v.group[k] !== undefined && valueMatches(v.group[k], '=', x))) : vs;
}

/** Combine the verdicts of one prediction (several for `for each`) into one test outcome. */
export function judgeVerdicts(text: string, verdicts: readonly Verdict[], inconclusive: 'fail' | 'skip', extra = ''): Judgement {
  if (verdicts.length === 0) return { kind: 'fail', name: 'SublabError', message: `no verdict for "${text}" (no rows matched)${extra}` };
  const bad = verdicts.filter((v) => v.outcome !== 'confirmed');
  if (bad.length === 0) return { kind: 'pass' };
  const groups = verdicts.length > 1;
  // describeVerdict already starts with the outcome; a `for each` group adds its own text.
  const lines = (vs: readonly Verdict[]) => vs.map((v) => `  ${groups ? `${v.text}: ` : ''}${describeVerdict(v)}`).join('\n');
  const count = groups ? ` (${bad.length} of ${verdicts.length} groups)` : '';
  if (bad.some((v) => v.outcome === 'refuted')) {
    return { kind: 'fail', name: 'Refuted', message: `prediction refuted${count}: ${text}\n${lines(bad)}${extra}` };
  }
  const message = `prediction inconclusive${count}: the data cannot decide at the chosen alpha: ${text}\n${lines(bad)}${extra}`;
  return inconclusive === 'skip' ? { kind: 'skip', note: message } : { kind: 'fail', name: 'Inconclusive', message };
}

export function expFile(file: string, opts: ExpFileOptions = {}): ExpFileHandle {
  let results: ExperimentResult[] | undefined;
  let error: string | undefined;
  const env = process.env.SUBLAB_INCONCLUSIVE;
  const inconclusive = env === 'skip' || env === 'fail' ? env : (opts.inconclusive ?? 'fail');
  const allowUncommitted = opts.allowUncommittedLock === true || process.env.SUBLAB_ALLOW_UNCOMMITTED_LOCK === '1';
  // Statuses are read when the test module is evaluated, i.e. when the tests run, not when the
  // file was transformed: Vite keeps a transform until the .exp changes, while the lock, git and
  // the cache change on their own (committing the lock touches no file the transform watches).
  let tags: string[][] | undefined;
  const plans = (): ExperimentPlan[] | undefined => {
    try {
      return planFile(file).plans;
    } catch {
      return undefined; // run() reports it
    }
  };
  const tagsNow = (): string[][] => {
    const ps = plans() ?? [];
    const pending = new Map(uncommittedRegistrations(ps).map((u) => [u.plan.experiment.name, new Set(u.predictions.map((s) => s.prediction))]));
    return ps.map((p) => {
      const exp = p.experiment;
      return predictionStatuses(exp, readLock(lockPathFor(exp.file)), storedEvidence(exp)).map((s) =>
        pending.get(exp.name)?.has(s.prediction) ? '[registered, not committed]' : statusTags[s.status],
      );
    });
  };
  return {
    title(i, j, name) {
      try {
        tags ??= tagsNow();
      } catch {
        tags = [];
      }
      const tag = tags[i]?.[j];
      return tag ? `${name} ${tag}` : name;
    },
    async run() {
      if (!allowUncommitted) {
        const found = uncommittedRegistrations(plans() ?? []);
        if (found.length) {
          error = uncommittedMessage(found, PROCEED);
          return;
        }
      }
      // Inside Vitest stderr is not a live terminal line we own: plain progress lines only.
      const progress = createProgressRenderer({ tty: false, intervalMs: 30_000 });
      try {
        results = (await runFile(file, { onProgress: (p) => progress.update(p) })).experiments;
      } catch (e) {
        error = e instanceof LanguageError ? e.message : `${file}: ${(e as Error).message}`;
      }
    },
    judge(i, j, group) {
      if (error !== undefined) return { kind: 'fail', name: 'SublabError', message: error };
      const r = results?.[i];
      if (!r) return { kind: 'fail', name: 'SublabError', message: `experiment ${i + 1} of ${file} did not run` };
      const pred = r.experiment.predictions[j];
      if (!pred) return { kind: 'fail', name: 'SublabError', message: `prediction ${j + 1} of "${r.experiment.name}" not found` };
      return judgeVerdicts(pred.text + groupSuffix(group ?? {}), verdictsOf(r.verdicts, j, group), inconclusive, failedRunsNote(r));
    },
  };
}
