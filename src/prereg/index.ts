// Entry point for other stages (run CLI, Vitest plugin): registration status of a finished
// experiment, read from the sublab.lock beside its file. Reads only; a run never writes the lock.
import type { CheckedExperiment } from '../language/checked.ts';
import type { ResultRow } from '../results/types.ts';
import { lockPathFor, readLock } from './lock.ts';
import { predictionStatuses, type PredictionStatus } from './status.ts';
import { resultEvidence } from './evidence.ts';

export { normalisePrediction, predictionHash, setupHash } from './normalise.ts';
export { lockPathFor, readLock, parseLock, gitInfo, type LockEntry, type LockState } from './lock.ts';
export { predictionStatuses, firstResultAt, statusLabels, statusTags, type PredictionStatus, type RegistrationStatus, type ResultEvidence } from './status.ts';
export { resultEvidence, storedEvidence } from './evidence.ts';
export { uncommittedRegistrations, uncommittedMessage, type UncommittedRegistration } from './run-guard.ts';
export { commitHint, type CommitHint } from './commit-hint.ts';

export function statusesForResult(result: { experiment: CheckedExperiment; table: { rows: readonly ResultRow[] } }): PredictionStatus[] {
  return predictionStatuses(result.experiment, readLock(lockPathFor(result.experiment.file)), resultEvidence(result.experiment, result.table.rows));
}
