// What every prediction form shares: the decision it hands the judge, the context it judges in,
// row accounting ("3 of 10 rows NaN at lr = 0.01"), blocking rows by seed, and small helpers.
import { has } from '../util/records.ts';
import type { Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { column, type FailedRun, type ResultRow } from '../results/types.ts';
import type { Outcome, PointRows, PowerInfo, TestName, Verdict } from './types.ts';
import { formatValue } from './rows.ts';

export type Side = 'confirm' | 'refute';

interface Common {
  test: TestName;
  statistic: Verdict['statistic'];
  effect: Verdict['effect'];
  standardized?: Verdict['standardized'];
  n: number;
  /** Rows per sweep point, what could not be used, seeds used. Filled in by the judge when absent. */
  rows?: { points: PointRows[]; seeds: number[] };
  /** Rows the test used (default: every considered row whose metrics are finite). */
  used?: readonly ResultRow[];
  /** Rows the prediction looked at, for the row accounting (default: all selected rows). */
  considered?: readonly ResultRow[];
  /** Metric columns whose values decide usability in the accounting (default: the form's). */
  accountMetrics?: readonly string[];
  /** Monte Carlo standard error of p, when p is a Monte Carlo permutation p. */
  mcError?: number;
  /**
   * What would decide it: given the one-sided level a side is tested at after correction
   * (alpha / 2, divided by the family size under Holm or Bonferroni), the MDE at 80% power and
   * the seeds the observed effect would need. Called for inconclusive verdicts only.
   */
  power?: (sideLevel: number) => PowerInfo | null;
}

/** A test with a p: significant means `side` (confirmed or refuted). */
export interface Tested extends Common {
  kind: 'tested';
  side: Side;
  p: number;
  /** The numbers in words, e.g. "rho = 0.62 between lr and acc over 50 rows". */
  summary: string;
  /** What a significant result on each side means, e.g. "acc increases with lr". */
  confirmText: string;
  refuteText: string;
}

/** Decided without a p: exact comparisons, or untestable (inconclusive). */
export interface Fixed extends Common {
  kind: 'fixed';
  outcome: Outcome;
  reason: string;
}

export type Decision = Tested | Fixed;

export interface Ctx {
  exp: CheckedExperiment;
  seeded: boolean;
  /** Where / group conditions in words, e.g. ["weight_decay = 0"], for reasons. */
  scope: string[];
  /** Failed runs whose parameters match the prediction's selection (where, group). */
  failed: FailedRun[];
}

export function untestable(test: TestName, reason: string, n = 0): Fixed {
  return { kind: 'fixed', outcome: 'inconclusive', reason, test, statistic: null, effect: null, n };
}

/** Decided by an exact comparison (one row per value, unseeded): confirmed when `holds`, else refuted. */
export function exact(holds: boolean, n: number, reason: string): Fixed {
  return { kind: 'fixed', outcome: holds ? 'confirmed' : 'refuted', test: 'exact', statistic: null, effect: null, n, reason };
}

export function at(scope: string[], extra?: string): string {
  const all = extra ? [...scope, extra] : scope;
  return all.length ? ` at ${all.join(', ')}` : '';
}

/** Label of the sweep point a row (or failed run) belongs to, from the experiment's sweep axes. */
export function pointLabel(exp: CheckedExperiment, row: { point: number; params: Record<string, Value> }): string {
  const label = exp.sweeps
    .filter((s) => has(row.params, s.name))
    .map((s) => `${s.name} = ${formatValue(row.params[s.name]!)}`)
    .join(', ');
  return label || `sweep point ${row.point}`;
}

export function seedsWord(ctx: Ctx): string {
  return ctx.seeded ? 'seeds' : 'rows';
}

export function rowsWord(n: number): string {
  return `${n} row${n === 1 ? '' : 's'}`;
}

/** Checks that a column exists in the selected rows and is numeric there; returns a reason if not. */
export function missingColumn(rows: readonly ResultRow[], name: string, what: string): string | null {
  const present = rows.filter((r) => column(r, name) !== undefined);
  if (present.length === 0) {
    const cols = rows.length ? Object.keys({ ...rows[0]!.params, ...rows[0]!.keys, ...rows[0]!.metrics }) : [];
    return `${what} '${name}' is missing from the rows${cols.length ? ` (columns: ${cols.join(', ')})` : ''}`;
  }
  if (!present.some((r) => typeof column(r, name) === 'number' || column(r, name) === null)) return `${what} '${name}' is not numeric`;
  return null;
}

export type Usability = 'ok' | 'NaN' | 'infinite' | 'missing';

/** Whether a row's value of each named column is a finite number, and if not, why. */
export function usability(row: ResultRow, names: readonly string[]): Usability {
  for (const name of names) {
    const v = column(row, name) as Value | null | undefined;
    if (v === undefined) return 'missing';
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) return 'NaN';
    if (typeof v !== 'number') return 'missing';
    if (!Number.isFinite(v)) return 'infinite';
  }
  return 'ok';
}

export function num(row: ResultRow, name: string): number {
  return column(row, name) as number;
}

/**
 * Rows per sweep point: how many there were, how many the test used, and why the others were not
 * (NaN, infinite, missing metric, no matching seed), plus runs that failed there.
 */
export function accountRows(
  rows: readonly ResultRow[],
  metrics: readonly string[],
  ctx: Ctx,
  used: ReadonlySet<ResultRow>,
): { points: PointRows[]; seeds: number[] } {
  const byLabel = new Map<string, PointRows>();
  const get = (label: string) => {
    let p = byLabel.get(label);
    if (!p) {
      p = { label, total: 0, used: 0, nan: 0, infinite: 0, missing: 0, unmatched: 0, failed: 0 };
      byLabel.set(label, p);
    }
    return p;
  };
  const seeds = new Set<number>();
  for (const r of rows) {
    const p = get(pointLabel(ctx.exp, r));
    p.total++;
    if (used.has(r)) {
      p.used++;
      seeds.add(r.seed);
      continue;
    }
    const u = usability(r, metrics);
    if (u === 'NaN') p.nan++;
    else if (u === 'infinite') p.infinite++;
    else if (u === 'missing') p.missing++;
    else p.unmatched++;
  }
  for (const f of ctx.failed) get(pointLabel(ctx.exp, f)).failed++;
  return { points: [...byLabel.values()], seeds: [...seeds].sort((a, b) => a - b) };
}

/** "3 of 10 rows NaN at lr = 0.01; 2 runs failed at lr = 0.1", or '' when every row was used. */
export function rowsNote(points: readonly PointRows[], metrics: readonly string[]): string {
  const single = points.length === 1;
  const out: string[] = [];
  const m = metrics.length === 1 ? ` ${metrics[0]}` : '';
  for (const p of points) {
    const where = single && p.label.startsWith('sweep point') ? '' : ` at ${p.label}`;
    const parts: [number, string][] = [
      [p.nan, 'NaN'],
      [p.infinite, 'infinite'],
      [p.missing, `missing${m}`],
      [p.unmatched, 'without a matching seed'],
    ];
    for (const [c, what] of parts) if (c) out.push(`${c} of ${p.total} rows ${what}${where}`);
    if (p.failed) out.push(`${p.failed} run${p.failed === 1 ? '' : 's'} failed${where}`);
  }
  return out.join('; ');
}

// ---------------------------------------------------------------------------------------------
// Blocking by seed.

/**
 * The block a row belongs to: its seed, the values of every parameter except the ones the
 * comparison varies, and its row keys. Rows of one block share an initialisation (the seed) and
 * everything else, so within-block differences cancel the seed's effect.
 */
export function blockKey(row: ResultRow, varied: readonly string[]): string {
  const params = Object.entries(row.params)
    .filter(([k]) => !varied.includes(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const keys = Object.entries(row.keys).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([row.seed, params, keys]);
}

/**
 * Complete blocks across `cells` (row sets, e.g. one per value of X): blocks with exactly one row
 * in every cell. Returns the blocks (rows in cell order) and whether any block had duplicate rows
 * in a cell (then blocking is not possible).
 */
export function completeBlocks(cells: readonly (readonly ResultRow[])[], varied: readonly string[]): { blocks: ResultRow[][]; duplicates: boolean } {
  const maps = cells.map((rows) => {
    const m = new Map<string, ResultRow[]>();
    for (const r of rows) {
      const k = blockKey(r, varied);
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  });
  let duplicates = false;
  for (const m of maps) for (const l of m.values()) if (l.length > 1) duplicates = true;
  const blocks: ResultRow[][] = [];
  if (duplicates || maps.length === 0) return { blocks, duplicates };
  for (const [k, first] of maps[0]!) {
    const b = [first[0]!];
    let ok = true;
    for (let c = 1; c < maps.length; c++) {
      const hit = maps[c]!.get(k);
      if (!hit) {
        ok = false;
        break;
      }
      b.push(hit[0]!);
    }
    if (ok) blocks.push(b);
  }
  return { blocks, duplicates };
}

/** Cohen's d → Hedges' g small-sample correction J = 1 − 3 / (4 df − 1). */
export function hedgesCorrection(df: number): number {
  return 1 - 3 / (4 * df - 1);
}

export const meanOf = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
export const sdOf = (v: readonly number[]) => {
  const m = meanOf(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};
