import { has } from '../util/records.ts';
import type { Value } from '../language/ast.ts';
import { formatValue } from '../util/format-value.ts';
import type { RowUnusable } from '../runners/schema.ts';

/** One row of a ResultTable: one seed at one sweep point (or one of a deterministic run's rows). */
export interface ResultRow {
  runId: string;
  point: number;
  seed: number;
  params: Record<string, Value>;
  metrics: Record<string, number>;
  keys: Record<string, Value>;
  backend: string;
  wallMs: number;
  cached: boolean;
  /** ISO time the run finished (first computed, not when read from cache). */
  finishedAt?: string;
  /** ISO time this run's result first existed in the cache (kept across `--fresh`). */
  firstAt?: string;
  /** git commit that first result was computed at; null: outside git; absent: not recorded. */
  firstCommit?: string | null;
  /** The stage artifacts the run used (stage name → key): runs with one key shared one artifact. */
  stages?: Record<string, string>;
  /** Set when the runner could not read the row (its metrics are NaN), with why. */
  unusable?: RowUnusable;
}

export interface FailedRun {
  runId: string;
  point: number;
  seed: number;
  params: Record<string, Value>;
  /** What the runner (or the executor's check of its output) said, as is: `failureText` names the run. */
  error: string;
}

/** A run as messages name it: short id, the swept parameters' values, the seed. */
export function describeRun(run: { id: string; params: Record<string, Value>; seed: number }, sweeps: readonly string[]): string {
  const at = sweeps.map((k) => `${k} = ${formatValue(run.params[k]!)}`).join(', ');
  return `run ${run.id.slice(0, 12)} (${at ? at + ', ' : ''}seed ${run.seed})`;
}

/**
 * A failed run's error with the run it came from, for the edges that list failures one per line
 * (`sublab run`, `sublab worker`, Vitest, a verdict's reason); reports group by the raw error.
 */
export function failureText(f: FailedRun, sweeps: readonly string[]): string {
  return `${describeRun({ id: f.runId, params: f.params, seed: f.seed }, sweeps)}: ${f.error}`;
}

export interface ResultTable {
  experiment: string;
  file: string;
  rows: ResultRow[];
  failed: FailedRun[];
  /** Extras per run id (curves etc.), for reports. */
  extras: Record<string, Record<string, unknown>>;
}

/**
 * Look up a column by name: runner keys first (token_probe's row key `number` shadows its
 * parameter `number`, as the checker assumes), then params, then metrics.
 */
export function column(row: ResultRow, name: string): Value | undefined {
  if (has(row.keys, name)) return row.keys[name];
  if (has(row.params, name)) return row.params[name];
  if (has(row.metrics, name)) return row.metrics[name];
  return undefined;
}
