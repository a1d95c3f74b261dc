// An experiment after `extends` resolution and semantic checking against its runner's schema.
import type { CorrectionMethod, ExperimentAst, Prediction, Value } from './ast.ts';
import type { RunnerSchema } from '../runners/schema.ts';

export interface CheckedExperiment {
  file: string;
  name: string;
  ast: ExperimentAst;
  runner: RunnerSchema;
  /** A runner named by path (`runner "./runners/toy.ts"`): its module's absolute path. */
  runnerModule?: string;
  /** Every schema parameter resolved: defaults, then inherited `set`s, then this file's `set`s. */
  params: Record<string, Value>;
  /** Names given explicitly by `set` (here or inherited), for reports' "setup" section. */
  explicit: string[];
  /** Grid axes in source order (inherited sweeps first, overridden by a same-name sweep here). */
  sweeps: { name: string; values: Value[] }[];
  seeds: number;
  alpha: number;
  correction: CorrectionMethod;
  /** Metrics to tabulate; all the runner's metrics when no `measure` line is given. */
  measures: string[];
  /** This experiment's own predictions (predictions are not inherited through `extends`). */
  predictions: Prediction[];
  /** Chain of files this experiment extends, nearest first. */
  extendsChain: string[];
}
