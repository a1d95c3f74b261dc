// One .exp file made ready to execute: compile → plan every experiment → load their runners → the
// batching policy (shard.ts). `sublab run` (run-file.ts), `sublab worker`, `sublab submit`, the
// `--jobs` pool's children and Vitest all start here, so the same command plans the same run ids
// everywhere and a bad file or override fails the same way before anything is computed.
import type { Value } from '../language/ast.ts';
import { compileFile, compileWithRunners, type CompileResult } from '../language/compile.ts';
import { hasErrors } from '../language/diagnostics.ts';
import { LanguageError } from '../language/errors.ts';
import { planExperiment } from '../plan/plan.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import type { MetricScope } from '../plan/needs.ts';
import { runnerFor, runnerKey } from '../runners/registry.ts';
import type { Runner } from '../runners/schema.ts';
import { maxGroupOf, shardPlans, workUnits, type MaxGroup, type WorkUnit } from './shard.ts';

export interface PlanOptions {
  /** Source text instead of reading the file (a `--jobs` child gets the text its parent compiled). */
  source?: string;
  /** `--set` overrides; text values are typed by the parameter's declared type. */
  overrides?: Record<string, Value>;
  /** `--seeds`. */
  seeds?: number;
  /** Which metrics the runs compute (src/plan/needs.ts; default 'verdicts'). */
  metrics?: MetricScope;
}

/** A bad `--set` override or seed count for one experiment (a usage error, not a crash). */
export class PlanError extends Error {
  constructor(
    message: string,
    readonly experiment: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * Compile, loading the runner modules the file names by path, and plan every experiment of a file:
 * how every entry point plans (run, report, writeup, worker, submit, the `--jobs` children,
 * Vitest). Throws LanguageError when it does not compile and PlanError for a bad override, before
 * any experiment runs.
 */
export async function loadPlan(file: string, opts: PlanOptions = {}): Promise<{ compile: CompileResult; plans: ExperimentPlan[] }> {
  return plansOf(file, await compileWithRunners(file, opts.source !== undefined ? { source: opts.source } : undefined), opts);
}

/**
 * loadPlan without loading runner modules: for a file whose runners are built in or already loaded
 * in this process (a path runner not loaded is a LanguageError saying so).
 */
export function planFile(file: string, opts: PlanOptions = {}): { compile: CompileResult; plans: ExperimentPlan[] } {
  return plansOf(file, compileFile(file, opts.source !== undefined ? { source: opts.source } : undefined), opts);
}

function plansOf(file: string, compile: CompileResult, opts: PlanOptions): { compile: CompileResult; plans: ExperimentPlan[] } {
  if (hasErrors(compile.diagnostics)) throw new LanguageError(compile);
  const plans = compile.experiments.map((exp) => {
    try {
      return planExperiment(exp, { overrides: opts.overrides, seeds: opts.seeds, ...(opts.metrics ? { metrics: opts.metrics } : {}) });
    } catch (e) {
      throw new PlanError(`${file}: experiment "${exp.name}": ${(e as Error).message}`, exp.name);
    }
  });
  return { compile, plans };
}

export interface Session {
  file: string;
  compile: CompileResult;
  plans: ExperimentPlan[];
  /** Each runner the plans use, loaded once (by runnerKey: a path runner by its module's path). */
  runners: Map<string, Runner>;
  runnerOf(plan: ExperimentPlan): Runner | undefined;
  maxGroup(plan: ExperimentPlan): MaxGroup | undefined;
  /** The plans cut into runner batches, spread over `tasks` (shard.ts). */
  units(tasks: number): WorkUnit[];
  /** Task `task` of `tasks`: its share of every plan. */
  share(task: number, tasks: number): ExperimentPlan[];
}

/** Load each runner the plans use (once per runnerKey). */
export async function loadRunners(plans: readonly ExperimentPlan[]): Promise<Map<string, Runner>> {
  const runners = new Map<string, Runner>();
  for (const p of plans) {
    const key = runnerKey(p.experiment);
    if (!runners.has(key)) runners.set(key, await runnerFor(p.experiment));
  }
  return runners;
}

/** Planned plans with their runners loaded and the batching policy bound to them. */
export async function sessionOf(file: string, compile: CompileResult, plans: ExperimentPlan[]): Promise<Session> {
  const runners = await loadRunners(plans);
  const runnerOf = (p: ExperimentPlan) => runners.get(runnerKey(p.experiment));
  const maxGroup = (p: ExperimentPlan) => maxGroupOf(runnerOf(p));
  return {
    file,
    compile,
    plans,
    runners,
    runnerOf,
    maxGroup,
    units: (tasks) => workUnits(plans, tasks, maxGroup),
    share: (task, tasks) => shardPlans(plans, task, tasks, maxGroup),
  };
}

/** Compile, plan, load the runners: everything but executing. */
export async function openSession(file: string, opts: PlanOptions = {}): Promise<Session> {
  const { compile, plans } = await loadPlan(file, opts);
  return sessionOf(file, compile, plans);
}
