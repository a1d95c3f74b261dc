// What `sublab register` would append for a set of experiments sharing one lock. Pure, so tests
// and the CLI agree; the CLI writes the entries with appendEntries.
import type { CheckedExperiment } from '../language/checked.ts';
import { activeEntries } from './status.ts';
import { lockRelative, type GitInfo, type LockEntryInput, type LockState } from './lock.ts';
import { matchPredictions } from './status.ts';
import { setupHash } from './normalise.ts';

export interface RegisterOptions {
  /** Replace changed registrations (keeping the old entries); needs a reason. */
  amend?: boolean;
  reason?: string;
  now?: Date;
  git: GitInfo;
  /** Earliest result of each experiment known now (recorded in its new entries); default: none known. */
  resultsSince?: (exp: CheckedExperiment) => string | null;
}

export interface RegisterAction {
  experiment: string;
  file: string;
  line: number;
  text: string;
  action: 'register' | 'amend' | 'unchanged' | 'refused';
  /** For refused: why. */
  message?: string;
}

export interface RegisterPlan {
  entries: LockEntryInput[];
  actions: RegisterAction[];
}

export function planRegistration(experiments: readonly CheckedExperiment[], lock: LockState, opts: RegisterOptions): RegisterPlan {
  if (opts.amend && !opts.reason?.trim()) throw new Error('--amend needs --reason "why the prediction changed"');
  const time = (opts.now ?? new Date()).toISOString();
  const entries: LockEntryInput[] = [];
  const actions: RegisterAction[] = [];
  for (const exp of experiments) {
    const file = lockRelative(lock.path, exp.file);
    const setup = setupHash(exp);
    const resultsSince = opts.resultsSince?.(exp) ?? null;
    for (const m of matchPredictions(exp.predictions, activeEntries(lock, file, exp.name))) {
      const because = m.prediction.because?.value;
      const act = { experiment: exp.name, file, line: m.prediction.loc.line, text: m.text };
      const input: LockEntryInput = {
        kind: 'register',
        file,
        experiment: exp.name,
        prediction: m.text,
        ...(because !== undefined ? { because } : {}),
        hash: m.hash,
        setupHash: setup,
        time,
        git: opts.git,
        resultsSince,
      };
      if (!m.entry) {
        entries.push(input);
        actions.push({ ...act, action: 'register' });
      } else if (m.exact && m.entry.setupHash === setup) {
        actions.push({ ...act, action: 'unchanged' });
      } else if (opts.amend) {
        entries.push({ ...input, kind: 'amend', supersedes: m.entry.entryHash, reason: opts.reason!.trim() });
        actions.push({ ...act, action: 'amend' });
      } else {
        const what = m.exact ? 'the experiment setup changed' : `registered as "${m.entry.prediction}"`;
        actions.push({ ...act, action: 'refused', message: `changed since registration (${what}); use --amend --reason "..." to record a new version` });
      }
    }
  }
  return { entries, actions };
}
