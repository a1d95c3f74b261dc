// The package's public API (`import … from 'sublab'`): what a user's runner and a program driving
// sublab need. The Vitest plugin is `sublab/vitest` (src/vitest/plugin.ts); the CLI is `sublab`.
// Everything else under src/ is internal and may change between versions.
export { defineRunner } from './runners/define.ts';
export type {
  AnyRunnerDefinition,
  ParamsOf,
  ParamValue,
  ResolvedParams,
  RunnerDeclaration,
  RunnerDefinition,
  RunnerImpl,
  TypedRunSpec,
} from './runners/define.ts';
export type {
  MetricSpec,
  ParamSpec,
  ParamType,
  Runner,
  RunnerSchema,
  RunContext,
  RunOutput,
  RunOutputRow,
  RunSpec,
} from './runners/schema.ts';
export type { Value } from './language/ast.ts';
export type { FailedRun, ResultRow, ResultTable } from './results/types.ts';
export type { RunnerProgress } from './exec/progress.ts';
export { version } from './version.ts';
