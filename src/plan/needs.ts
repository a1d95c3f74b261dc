// What a run must compute: the metrics the experiment asks for, and, for a runner that declares
// parts (arms, evaluations, curves), the parts those metrics need. The rule, per command:
//   - `sublab run`, Vitest, workers, `submit`: the metrics the predictions use and the `measure`
//     line (the run table's columns; every metric when the experiment names none);
//   - `sublab report`: every measured metric (its sweep table shows them all);
//   - `--all-metrics`: every metric the runner reports, and the per-epoch curves.
// No report or write-up draws curves, so curves are computed only with `--all-metrics`.
import type { CheckedExperiment } from '../language/checked.ts';
import type { RunnerSchema } from '../runners/schema.ts';
import { displayedMetrics } from '../exec/summary.ts';

/** Which of the rules above: 'verdicts' (run), 'report', 'all' (--all-metrics). */
export type MetricScope = 'verdicts' | 'report' | 'all';

/**
 * The scope the execution options ask for (`--all-metrics` is one: src/cli/args.ts), which wins
 * over a command's own (it asks for the most); undefined: the command's own.
 */
export function metricScopeOf(e: { readonly 'all-metrics'?: boolean } | undefined): MetricScope | undefined {
  return e?.['all-metrics'] ? 'all' : undefined;
}

export interface RunNeeds {
  scope: MetricScope;
  /** The metrics asked for. */
  metrics: string[];
  curves: boolean;
  /** The parts that compute them; undefined: the runner declares no parts, so it computes everything. */
  parts?: string[];
}

/** The metrics a scope asks for (see the rule at the top). */
export function scopeMetrics(exp: Pick<CheckedExperiment, 'measures' | 'predictions' | 'runner'>, scope: MetricScope): string[] {
  if (scope === 'all') return exp.runner.open ? [...exp.measures] : exp.runner.metrics.map((m) => m.name);
  if (scope === 'report') return [...exp.measures];
  return displayedMetrics(exp);
}

/** The parts that compute `metrics` (and the curves part when `curves`), in declaration order; undefined for a runner without parts. */
export function partsFor(schema: Pick<RunnerSchema, 'parts' | 'metrics'>, metrics: readonly string[], curves: boolean): string[] | undefined {
  if (!schema.parts?.length) return undefined;
  const wanted = new Set<string>();
  for (const m of schema.metrics) if (metrics.includes(m.name)) for (const p of m.computedBy ?? []) wanted.add(p);
  return schema.parts.filter((p) => wanted.has(p.name) || (curves && p.kind === 'curves')).map((p) => p.name);
}

export function planNeeds(exp: Pick<CheckedExperiment, 'measures' | 'predictions' | 'runner'>, scope: MetricScope): RunNeeds {
  const metrics = scopeMetrics(exp, scope);
  const curves = scope === 'all';
  const parts = partsFor(exp.runner, metrics, curves);
  return { scope, metrics, curves, ...(parts ? { parts } : {}) };
}

/** Every part the runner declares (what an entry written before parts existed holds). */
export function allParts(schema: Pick<RunnerSchema, 'parts'>): string[] {
  return (schema.parts ?? []).map((p) => p.name);
}

/**
 * The parts to compute for a run whose entry holds `held` (undefined: a whole entry; [] for a new
 * run): every part of each needed metric that lacks one (an evaluation of an arm needs the arm
 * trained again), and every needed part when the curves are missing (they are taken per epoch
 * of the arms' training).
 */
export function partsToCompute(schema: Pick<RunnerSchema, 'parts' | 'metrics'>, needs: RunNeeds | undefined, held: readonly string[] | undefined): string[] {
  if (!needs?.parts || held === undefined) return [];
  const missing = needs.parts.filter((p) => !held.includes(p));
  if (!missing.length) return [];
  if ((schema.parts ?? []).some((p) => p.kind === 'curves' && missing.includes(p.name))) return [...needs.parts];
  const out = new Set<string>();
  for (const m of schema.metrics) {
    const by = m.computedBy ?? [];
    if (needs.metrics.includes(m.name) && by.some((p) => missing.includes(p))) by.forEach((p) => out.add(p));
  }
  return needs.parts.filter((p) => out.has(p));
}

/** The metrics an entry holding `held` parts has (held undefined: every metric). */
export function metricsHeld(schema: Pick<RunnerSchema, 'metrics'>, held: readonly string[] | undefined): string[] {
  return schema.metrics.filter((m) => held === undefined || (m.computedBy ?? []).every((p) => held.includes(p))).map((m) => m.name);
}

/** "2 of 4 arms (student, cross), evaluations: cka, no curves": what computing `parts` means. */
export function describeParts(schema: Pick<RunnerSchema, 'parts'>, parts: readonly string[] | undefined): string {
  const declared = schema.parts ?? [];
  if (!declared.length || parts === undefined) return 'everything (the runner declares no parts)';
  const of = (kind: 'arm' | 'evaluation') => declared.filter((p) => p.kind === kind);
  const chosen = (kind: 'arm' | 'evaluation') => of(kind).filter((p) => parts.includes(p.name)).map((p) => p.name);
  const out: string[] = [];
  const arms = chosen('arm');
  if (of('arm').length) out.push(`${arms.length} of ${of('arm').length} arm${of('arm').length === 1 ? '' : 's'}${arms.length && arms.length < of('arm').length ? ` (${arms.join(', ')})` : ''}`);
  const evals = chosen('evaluation');
  if (of('evaluation').length) out.push(evals.length ? `evaluations: ${evals.join(', ')}` : 'no optional evaluations');
  if (declared.some((p) => p.kind === 'curves')) out.push(declared.some((p) => p.kind === 'curves' && parts.includes(p.name)) ? 'curves' : 'no curves');
  return out.join(', ');
}
