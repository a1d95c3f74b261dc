// "What would decide it", before anything runs: from the planned runs, the smallest p each
// prediction can reach. A rank test over few rows has a floor (a trend over 3 rows cannot go below
// p = 1/3), and Holm or Bonferroni over m predictions multiplies the smallest p by m. `sublab
// check` and `sublab plan` warn when a prediction can never reach its alpha, saying the smallest
// achievable p and what would change it.
import type { Prediction, Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { diagnosticAt, type Diagnostic } from '../language/diagnostics.ts';
import { column, type ResultRow } from '../results/types.ts';
import { formatNumber } from './format.ts';
import { groupBy, groupByColumn, rowMatches } from './rows.ts';
import { completeBlocks } from './common.ts';
import { EXACT_ARRANGEMENTS_MAX, MONTE_CARLO_PERMUTATIONS, logArrangements, pageMinP } from './permutation.ts';
import { EXACT_SPEARMAN_MAX_N } from './stats.ts';
import { maxOf } from '../util/arrays.ts';

export interface PlannedRow {
  point: number;
  seed: number;
  params: Record<string, Value>;
}

export interface Floor {
  /** Smallest two-sided p the prediction's test can reach with these rows (0: no floor). */
  minP: number;
  /** The test that sets the floor, in words. */
  test: string;
  /** What would lower it, e.g. "with ≥ 3 seeds per point the smallest p is 0.0022". */
  change: string;
}

/** Smallest two-sided p of a pooled Spearman rho over rows whose X has these tie-group sizes. */
function pooledFloor(sizes: number[], untiedAbove9: boolean): number {
  const n = sizes.reduce((a, b) => a + b, 0);
  if (n > EXACT_SPEARMAN_MAX_N && untiedAbove9) return 0; // t approximation: no floor
  const logCount = logArrangements(sizes);
  if (logCount > Math.log(EXACT_ARRANGEMENTS_MAX)) return 2 / (MONTE_CARLO_PERMUTATIONS + 1);
  return Math.min(1, 2 / Math.round(Math.exp(logCount)));
}

function asRows(rows: readonly PlannedRow[]): ResultRow[] {
  return rows.map((r, i) => ({ runId: `planned-${i}`, point: r.point, seed: r.seed, params: r.params, metrics: {}, keys: {}, backend: '', wallMs: 0, cached: false }));
}

/** The floor of one prediction (one group) on its planned rows, or null when there is none. */
export function predictionFloor(exp: CheckedExperiment, pred: Prediction, rows: readonly ResultRow[], target: number): Floor | null {
  const f = pred.form;
  const seeded = exp.runner.seeded !== false;
  if (f.kind === 'trend') {
    const x = f.param.name;
    const levels = groupByColumn(rows, x);
    if (levels.length < 2) return null;
    const k = levels.length;
    if (seeded) {
      const { blocks, duplicates } = completeBlocks(levels.map((l) => l.rows), [x]);
      if (!duplicates && blocks.length >= 2) {
        const p = pageMinP(k, blocks.length);
        let need = blocks.length;
        while (pageMinP(k, need) > target && need < 1000) need++;
        return { minP: p, test: `Page's L over ${blocks.length} seeds × ${k} values of ${x}`, change: `with ≥ ${need} seeds the smallest p is ${formatNumber(pageMinP(k, need), 2)}` };
      }
    }
    const sizes = levels.map((l) => l.rows.length);
    const n = rows.length;
    const p = pooledFloor(sizes, false);
    if (p === 0) return null;
    const per = maxOf(sizes);
    let change: string;
    if (seeded) {
      let s = per;
      const floorAt = (s: number) => (s >= 2 ? pageMinP(k, s) : pooledFloor(levels.map(() => s), false));
      while (floorAt(s) > target && s < 1000) s++;
      change = `with ≥ ${s} seeds per point the smallest p is ${formatNumber(floorAt(s), 2)}`;
    } else {
      let kk = k;
      const fact = (m: number) => pooledFloor(Array.from({ length: m }, () => 1), false);
      while (fact(kk) > target && kk < 20) kk++;
      change = `with ≥ ${kk} values of ${x} the smallest p is ${formatNumber(fact(kk), 2)}`;
    }
    return { minP: p, test: `Spearman rho over ${n} row${n === 1 ? '' : 's'} (${k} values of ${x})`, change };
  }
  if (f.kind === 'correlates') {
    const n = rows.length;
    if (n > EXACT_SPEARMAN_MAX_N || n < 3) return null;
    const p = pooledFloor(Array.from({ length: n }, () => 1), true);
    let m = n;
    while (pooledFloor(Array.from({ length: m }, () => 1), true) > target && m <= EXACT_SPEARMAN_MAX_N) m++;
    return { minP: p, test: `Spearman rho over ${n} rows`, change: `with ≥ ${m} rows the smallest p is ${formatNumber(pooledFloor(Array.from({ length: m }, () => 1), true), 2)}` };
  }
  if (seeded && (f.kind === 'compare' || f.kind === 'peak' || f.kind === 'flat')) {
    // t tests need ≥ 2 seeds where they compare.
    let cells: ResultRow[][];
    if (f.kind === 'compare') {
      const sides = [f.left, f.right].flatMap((o) => (o.kind === 'metric' && o.at.length ? [rows.filter((r) => o.at.every((c) => rowMatches(r, c)))] : []));
      cells = sides.length ? sides : groupBy(rows, (r) => [r.point]).map((g) => g.rows);
    } else {
      cells = groupByColumn(rows, f.param.name).map((g) => g.rows);
    }
    const few = cells.filter((c) => c.length > 0).reduce((a, c) => Math.min(a, c.length), Infinity);
    if (few < 2) return { minP: 1, test: 'a t test with 1 seed where it compares', change: 'with ≥ 2 seeds per point it can be tested' };
  }
  return null;
}

/**
 * Warnings for predictions that cannot reach alpha with the planned rows: the test's own floor,
 * or the floor times the family size under Holm / Bonferroni.
 */
export function undecidablePredictions(exp: CheckedExperiment, planned: readonly PlannedRow[]): Diagnostic[] {
  if (exp.runner.keys && exp.runner.keys.length) return []; // rows per run not known before running
  const all = asRows(planned);
  const units: { pred: Prediction; rows: ResultRow[]; label: string }[] = [];
  for (const pred of exp.predictions) {
    const rows = all.filter((r) => pred.where.every((c) => rowMatches(r, c)));
    if (pred.forEach.length === 0) {
      units.push({ pred, rows, label: '' });
      continue;
    }
    const names = pred.forEach.map((i) => i.name);
    for (const g of groupBy(rows, (r) => {
      const key = names.map((n) => column(r, n));
      return key.some((v) => v === undefined) ? undefined : (key as Value[]);
    })) {
      units.push({ pred, rows: g.rows, label: ` [${names.map((n, i) => `${n} = ${String(g.key[i])}`).join(', ')}]` });
    }
  }
  const m = exp.correction === 'none' ? 1 : units.length;
  const alpha = exp.alpha;
  const out: Diagnostic[] = [];
  const seen = new Set<Prediction>();
  const floors = units.map((u) => predictionFloor(exp, u.pred, u.rows, alpha / m));
  // Holm's first step multiplies the smallest p by m: if no prediction can pass it, none survives.
  const noneSurvives = floors.every((f) => f !== null && f.minP * m > alpha);
  for (const [i, u] of units.entries()) {
    if (seen.has(u.pred)) continue;
    const floor = floors[i];
    if (!floor || floor.minP === 0) continue;
    const pText = formatNumber(floor.minP, 2);
    if (floor.minP >= 1 && floor.test.startsWith('a t test')) {
      seen.add(u.pred);
      out.push(diagnosticAt(u.pred.loc, `prediction can never be decided${u.label}: only 1 seed where it compares, and a t test needs ≥ 2; ${floor.change}`, 'undecidable', 'warning'));
    } else if (floor.minP > alpha) {
      seen.add(u.pred);
      out.push(
        diagnosticAt(
          u.pred.loc,
          `prediction can never be decided${u.label}: the smallest p ${floor.test} can reach is ${pText} > alpha = ${alpha}; ${floor.change}`,
          'undecidable',
          'warning',
        ),
      );
    } else if (floor.minP * m > alpha) {
      seen.add(u.pred);
      const name = exp.correction === 'holm' ? 'Holm' : 'Bonferroni';
      const only =
        exp.correction === 'bonferroni' || noneSurvives
          ? `it can never be decided${noneSurvives && m > 1 ? ` (no prediction of this experiment can pass ${name}'s first step)` : ''}`
          : 'it can be decided only after other predictions are, each at p ≤ alpha / their rank';
      out.push(
        diagnosticAt(
          u.pred.loc,
          `prediction may never be decided${u.label}: the smallest p ${floor.test} can reach is ${pText}, × ${m} predictions under ${name} = ${formatNumber(floor.minP * m, 2)} > alpha = ${alpha}, so ${only}; ${floor.change}`,
          'undecidable',
          'warning',
        ),
      );
    }
  }
  return out;
}
