// Judging predictions: one verdict per prediction (per group for `for each`), then a
// multiple-comparison correction across the experiment, outcomes decided on the adjusted p.
// Each prediction form is its own module (src/verdict/forms/); this file selects rows, accounts
// for the ones no test could use, corrects, and words the outcome. The rules, and why they keep
// false verdicts at or below alpha, are in docs/verdicts.md.
import { has, record } from '../util/records.ts';
import type { Prediction, Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { column, failureText, type FailedRun, type ResultRow, type ResultTable } from '../results/types.ts';
import type { Outcome, Verdict } from './types.ts';
import { formatPClause, correctionName, groupSuffix } from './format.ts';
import { conditionText, formatValue, groupBy, rowMatches, valueMatches } from './rows.ts';
import { adjustP, Untestable } from './stats.ts';
import { accountRows, at, rowsNote, untestable, usability, type Ctx, type Decision, type Tested } from './common.ts';
import { formModule } from './forms/index.ts';

function testNameOf(pred: Prediction) {
  return formModule(pred.form).defaultTest(pred.form);
}

function decide(pred: Prediction, rows: readonly ResultRow[], ctx: Ctx): Decision {
  return formModule(pred.form).decide(pred.form, rows, ctx);
}

/** Failed runs whose parameters match the prediction's `where` and the group's values. */
function failedFor(table: ResultTable, pred: Prediction, group: Record<string, Value>): FailedRun[] {
  return table.failed.filter(
    (f) =>
      pred.where.every((c) => !has(f.params, c.param.name) || valueMatches(f.params[c.param.name], c.op, c.value.value)) &&
      Object.entries(group).every(([k, v]) => !has(f.params, k) || f.params[k] === v),
  );
}

function safeDecide(pred: Prediction, rows: readonly ResultRow[], ctx: Ctx, table: ResultTable): Decision {
  const d = safeDecide0(pred, rows, ctx, table);
  if (!d.rows) {
    const metrics = d.accountMetrics ?? formModule(pred.form).metrics(pred.form);
    const considered = d.considered ?? rows;
    const used = new Set(d.used ?? considered.filter((r) => usability(r, metrics) === 'ok'));
    d.rows = accountRows(considered, metrics, ctx, used);
  }
  return d;
}

function safeDecide0(pred: Prediction, rows: readonly ResultRow[], ctx: Ctx, table: ResultTable): Decision {
  if (rows.length === 0) {
    let why: string;
    if (table.rows.length === 0) {
      why = `the result table has no rows${table.failed.length ? ` (${table.failed.length} run${table.failed.length === 1 ? '' : 's'} failed: ${failureText(table.failed[0]!, ctx.exp.sweeps.map((x) => x.name))})` : ''}`;
    } else {
      const absent = pred.where.filter((c) => !table.rows.some((r) => column(r, c.param.name) !== undefined));
      why = `no rows match${at(ctx.scope)}${absent.length ? ` (no column named ${absent.map((c) => `'${c.param.name}'`).join(', ')})` : ''}`;
    }
    return untestable(testNameOf(pred), why);
  }
  try {
    return decide(pred, rows, ctx);
  } catch (e) {
    // A form words its own untestable data (with its context, through `attempt`); one that lets an
    // Untestable escape still gets an inconclusive verdict with the test's reason. Anything else
    // is a bug, but a verdict must still come back so the other predictions are reported.
    if (e instanceof Untestable) return untestable(testNameOf(pred), `${e.message}${at(ctx.scope)}`);
    const msg = e instanceof Error ? e.message : String(e);
    return untestable(testNameOf(pred), `internal error while judging (please report): ${msg}`);
  }
}

interface Item {
  pred: Prediction;
  /** Position of `pred` in exp.predictions. */
  index: number;
  text: string;
  group: Record<string, Value>;
  decision: Decision;
}

/**
 * Judge every prediction of an experiment on its result table. One verdict per prediction (one
 * per group for `for each`), in prediction order; p-values corrected across the experiment
 * (exp.correction) and outcomes decided at exp.alpha on the adjusted p. Never throws on data
 * problems and never returns NaN: an untestable prediction is inconclusive with p null.
 */
export function judgeExperiment(exp: CheckedExperiment, table: ResultTable): Verdict[] {
  const seeded = exp.runner.seeded !== false;
  const items: Item[] = [];
  for (const [index, pred] of exp.predictions.entries()) {
    const rows = table.rows.filter((r) => pred.where.every((c) => rowMatches(r, c)));
    const baseScope = pred.where.map(conditionText);
    if (pred.forEach.length === 0) {
      items.push({ pred, index, text: pred.text, group: {}, decision: safeDecide(pred, rows, { exp, seeded, scope: baseScope, failed: failedFor(table, pred, {}) }, table) });
      continue;
    }
    const names = pred.forEach.map((i) => i.name);
    const groups = groupBy(rows, (r) => {
      const key = names.map((n) => column(r, n));
      return key.some((v) => v === undefined) ? undefined : (key as Value[]);
    });
    if (groups.length === 0) {
      const why = rows.length === 0 ? safeDecide(pred, rows, { exp, seeded, scope: baseScope, failed: failedFor(table, pred, {}) }, table) : untestable(testNameOf(pred), `no rows have ${names.map((n) => `'${n}'`).join(' and ')} to split by for each`);
      items.push({ pred, index, text: pred.text, group: {}, decision: why });
      continue;
    }
    for (const g of groups) {
      const group = record<Value>();
      names.forEach((n, i) => (group[n] = g.key[i]!));
      const groupText = names.map((n, i) => `${n} = ${formatValue(g.key[i]!)}`);
      items.push({
        pred,
        index,
        text: pred.text + groupSuffix(group),
        group,
        decision: safeDecide(pred, g.rows, { exp, seeded, scope: [...baseScope, ...groupText], failed: failedFor(table, pred, group) }, table),
      });
    }
  }

  const testedIdx = items.flatMap((it, i) => (it.decision.kind === 'tested' ? [i] : []));
  const adjusted = adjustP(
    testedIdx.map((i) => (items[i]!.decision as Tested).p),
    exp.correction,
  );
  const adjOf = new Map<number, number>(testedIdx.map((i, k) => [i, adjusted[k]!]));
  const alpha = exp.alpha;
  const pName = exp.correction === 'none' ? 'p' : `${correctionName(exp.correction)}-adjusted p`;

  // The one-sided level each side faces after correction, for "what would decide it".
  const family = exp.correction === 'none' ? 1 : Math.max(1, testedIdx.length);
  const sideLevel = alpha / 2 / family;

  return items.map((it, i): Verdict => {
    const d = it.decision;
    const metrics = formModule(it.pred.form).metrics(it.pred.form);
    // A metric missing from every row is the reason itself; otherwise say which rows went unused.
    const allMissing = d.kind === 'fixed' && !!d.rows && d.rows.points.every((p) => p.used === 0 && p.nan === 0 && p.infinite === 0 && p.failed === 0);
    const note = d.rows && !allMissing ? rowsNote(d.rows.points, d.accountMetrics ?? metrics) : '';
    const notUsed = note ? ` Rows not used: ${note}.` : '';
    const base = {
      prediction: it.pred,
      predictionIndex: it.index,
      text: it.text,
      line: it.pred.loc.line,
      group: it.group,
      test: d.test,
      statistic: d.statistic,
      effect: d.effect,
      standardized: d.standardized ?? null,
      n: d.n,
      correction: exp.correction,
      alpha,
      ...(d.rows ? { rows: d.rows } : {}),
      rowsNote: note,
      mcError: d.mcError ?? null,
    };
    if (d.kind === 'fixed') return { ...base, outcome: d.outcome, p: null, pAdjusted: null, power: null, reason: d.reason + notUsed };
    const pAdj = adjOf.get(i)!;
    const significant = pAdj <= alpha;
    const outcome: Outcome = significant ? (d.side === 'confirm' ? 'confirmed' : 'refuted') : 'inconclusive';
    const pText = formatPClause(pAdj, pName);
    let reason: string;
    let power = null;
    if (outcome === 'confirmed') reason = `${d.summary}; ${pText} ≤ alpha = ${alpha}, so ${d.confirmText}.`;
    else if (outcome === 'refuted') reason = `${d.summary}; ${pText} ≤ alpha = ${alpha} against the prediction: ${d.refuteText}.`;
    else {
      reason = `${d.summary}; ${pText} > alpha = ${alpha}: the data support neither the prediction nor its opposite.`;
      power = d.power ? d.power(sideLevel) : null;
      if (power) reason += ` ${power.text}.`;
    }
    return { ...base, outcome, p: d.p, pAdjusted: pAdj, power, reason: reason + notUsed };
  });
}
