// Per-sweep-point summary of a result table: mean ± 95% CI half-width (t-based) and n per metric.
// Shared by `sublab run`'s table and anything else that wants the same numbers.
import { mean, sampleStandardDeviation } from 'simple-statistics';
import type { ExperimentPlan, SweepPoint } from '../plan/types.ts';
import type { ResultTable } from '../results/types.ts';
import { studentTQuantile } from '../verdict/distributions.ts';

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

export function summarize(values: readonly number[]): MetricSummary {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return { n: 0, mean: NaN, half: null };
  const m = mean(xs);
  if (xs.length < 2) return { n: xs.length, mean: m, half: null };
  const sd = sampleStandardDeviation(xs);
  return { n: xs.length, mean: m, half: studentTQuantile(0.975, xs.length - 1) * (sd / Math.sqrt(xs.length)) };
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
