import type { Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { RunNeeds } from './needs.ts';

/** One point of the sweep grid: the swept parameters' values. */
export interface SweepPoint {
  index: number;
  values: Record<string, Value>;
}

export interface PlannedRun {
  /** Stable content hash of runner, runner version, resolved (result-relevant) params and seed. */
  id: string;
  runner: string;
  runnerVersion: string;
  /** Fully resolved parameters: defaults, `extends`, `set`, sweep point, overrides. */
  params: Record<string, Value>;
  seed: number;
  point: number;
}

export interface ExperimentPlan {
  experiment: CheckedExperiment;
  points: SweepPoint[];
  runs: PlannedRun[];
  /** `--set` overrides applied on top of the file (recorded, never silent). */
  overrides: Record<string, Value>;
  /** What every run must compute (needs.ts), the same for all runs of the experiment; absent: everything. */
  needs?: RunNeeds;
}
