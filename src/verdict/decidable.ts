// "What would decide it", before anything runs: from the planned runs, the smallest p each
// prediction can reach. A rank test over few rows has a floor (a trend over 3 rows cannot go below
// p = 1/3), and Holm or Bonferroni over m predictions multiplies the smallest p by m. `sublab
// check` and `sublab plan` warn when a prediction can never reach its alpha, saying the smallest
// achievable p and what would change it. Each form's module computes its own floor (`floor`).
import type { Prediction, Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { diagnosticAt, type Diagnostic } from '../language/diagnostics.ts';
import { column, type ResultRow } from '../results/types.ts';
import { formatNumber } from './format.ts';
import { groupBy, rowMatches } from './rows.ts';
import { ONE_SEED_TEST, type Floor } from './floors.ts';
import { formModule } from './forms/index.ts';

export type { Floor } from './floors.ts';

export interface PlannedRow {
  point: number;
  seed: number;
  params: Record<string, Value>;
}

function asRows(rows: readonly PlannedRow[]): ResultRow[] {
  return rows.map((r, i) => ({ runId: `planned-${i}`, point: r.point, seed: r.seed, params: r.params, metrics: {}, keys: {}, backend: '', wallMs: 0, cached: false }));
}

/** The floor of one prediction (one group) on its planned rows, from its form's module; null when none. */
export function predictionFloor(exp: CheckedExperiment, pred: Prediction, rows: readonly ResultRow[], target: number): Floor | null {
  return formModule(pred.form).floor(pred.form, rows, { exp, seeded: exp.runner.seeded !== false, target });
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
    if (floor.minP >= 1 && floor.test === ONE_SEED_TEST) {
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
