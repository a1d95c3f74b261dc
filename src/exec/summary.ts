// Mean ± 95% CI half-width (t-based) and n of a column, the one summary every table and chart
// prints: `sublab run`'s table (per sweep point), the report's sweep table and its charts.
import type { Prediction } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { ExperimentPlan, SweepPoint } from '../plan/types.ts';
import type { ResultTable } from '../results/types.ts';
import { studentTQuantile } from '../verdict/distributions.ts';
import { formModule } from '../verdict/forms/index.ts';

export interface MetricSummary {
  n: number;
  mean: number;
  /** Half-width of the 95% t interval; null when n < 2. */
  half: number | null;
}

export interface PointSummary {
  point: SweepPoint;
  metrics: Record<string, MetricSummary>;
}

/** Of the finite values (NaN and ±Infinity are unusable rows, counted elsewhere). */
export function summarize(values: readonly number[]): MetricSummary {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n: 0, mean: NaN, half: null };
  // Plain sums (not simple-statistics' compensated ones): the committed reports' chart coordinates
  // were computed so, to the last bit.
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, half: null };
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { n, mean, half: studentTQuantile(0.975, n - 1) * Math.sqrt(v / n) };
}

export function summarizeTable(plan: ExperimentPlan, table: ResultTable, metrics: readonly string[] = plan.experiment.measures): PointSummary[] {
  return plan.points.map((point) => {
    const rows = table.rows.filter((r) => r.point === point.index);
    return {
      point,
      metrics: Object.fromEntries(metrics.map((m) => [m, summarize(rows.map((r) => r.metrics[m] ?? NaN))])),
    };
  });
}

/** Metrics the predictions read (each form's module says which), in the order they first appear. */
export function predictedMetrics(predictions: readonly Prediction[]): string[] {
  return [...new Set(predictions.flatMap((p) => formModule(p.form).metrics(p.form)))];
}

/**
 * The metrics worth a column by default: those the predictions use and those a `measure` line
 * names, in the experiment's measure order. When the experiment has neither (no `measure` line, no
 * prediction naming a metric) every measured metric.
 */
export function displayedMetrics(e: Pick<CheckedExperiment, 'measures' | 'predictions' | 'runner'>): string[] {
  const all = e.runner.metrics.map((m) => m.name);
  const explicitMeasure = e.runner.open || e.measures.length !== all.length || e.measures.some((m, i) => m !== all[i]);
  const wanted = new Set([...predictedMetrics(e.predictions), ...(explicitMeasure ? e.measures : [])]);
  const shown = e.measures.filter((m) => wanted.has(m));
  return shown.length ? shown : [...e.measures];
}
