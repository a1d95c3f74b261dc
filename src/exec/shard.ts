// How runs are cut into batches and shares. One policy for every process that computes runs: the
// executor batches by sweep point, and the SLURM workers, `submit` and the `--jobs` pool split a
// plan into the same batches, so a share never splits what the runner would compute as one batch.
import type { Value } from '../language/ast.ts';
import type { ExperimentPlan, PlannedRun } from '../plan/types.ts';
import type { Runner } from '../runners/schema.ts';

/** A runner's batch size for runs of one sweep point (Runner.maxGroup); undefined: no limit. */
export type MaxGroup = (params: Readonly<Record<string, Value>>) => number;

/** The runner's batch-size function, if it has one. */
export function maxGroupOf(runner: Runner | undefined): MaxGroup | undefined {
  return runner?.maxGroup ? (params) => runner.maxGroup!(params) : undefined;
}

/** Runs grouped by sweep point (runs that differ only by seed), points in order of first appearance. */
export function byPoint(runs: readonly PlannedRun[]): PlannedRun[][] {
  const points = new Map<number, PlannedRun[]>();
  for (const r of runs) {
    const l = points.get(r.point);
    if (l) l.push(r);
    else points.set(r.point, [r]);
  }
  return [...points.values()];
}

/** Runs of one sweep point cut into batches of at most the runner's size and at most `cap`. */
export function batches(group: readonly PlannedRun[], maxGroup: MaxGroup | undefined, cap = Infinity): PlannedRun[][] {
  if (group.length === 0) return [];
  const size = Math.min(Math.max(1, Math.floor(maxGroup?.(group[0]!.params) ?? group.length)), Math.max(1, cap));
  const out: PlannedRun[][] = [];
  for (let i = 0; i < group.length; i += size) out.push(group.slice(i, i + size));
  return out;
}

/** One unit of work: runs of one sweep point that the runner would batch together. */
export interface WorkUnit {
  plan: number;
  runs: PlannedRun[];
}

/**
 * The plans' runs cut into work units, in a fixed order: per plan, unique run ids sorted by
 * (point, seed, id), grouped by sweep point, each group chunked to at most the runner's batch size
 * (`maxGroup`) and at most ceil(total / tasks), so small plans still spread over all tasks.
 */
export function workUnits(plans: readonly ExperimentPlan[], tasks: number, maxGroup: (plan: ExperimentPlan) => MaxGroup | undefined): WorkUnit[] {
  const uniques = plans.map((p) => {
    const seen = new Set<string>();
    return p.runs
      .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
      .sort((a, b) => a.point - b.point || a.seed - b.seed || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  });
  const total = uniques.reduce((s, u) => s + u.length, 0);
  const spread = Math.max(1, Math.ceil(total / Math.max(1, tasks)));
  const units: WorkUnit[] = [];
  uniques.forEach((runs, pi) => {
    const mg = maxGroup(plans[pi]!);
    for (const group of byPoint(runs)) for (const b of batches(group, mg, spread)) units.push({ plan: pi, runs: b });
  });
  return units;
}

/**
 * Task `task` of `tasks`: work unit k goes to task k % tasks. Returns one reduced plan per input
 * plan (same experiment and points, only this task's runs, including every planned run that shares
 * a chosen id so the executor maps rows as usual).
 */
export function shardPlans(
  plans: readonly ExperimentPlan[],
  task: number,
  tasks: number,
  maxGroup: (plan: ExperimentPlan) => MaxGroup | undefined = () => undefined,
): ExperimentPlan[] {
  if (!Number.isInteger(tasks) || tasks < 1) throw new Error(`tasks must be a whole number >= 1, got ${tasks}`);
  if (!Number.isInteger(task) || task < 0 || task >= tasks) throw new Error(`task must be a whole number in 0..${tasks - 1}, got ${task}`);
  const mine = plans.map(() => new Set<string>());
  workUnits(plans, tasks, maxGroup).forEach((u, k) => {
    if (k % tasks === task) for (const r of u.runs) mine[u.plan]!.add(r.id);
  });
  return plans.map((p, i) => ({ ...p, runs: p.runs.filter((r) => mine[i]!.has(r.id)) }));
}
