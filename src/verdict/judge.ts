// Judging predictions: one verdict per prediction (per group for `for each`), then a
// multiple-comparison correction across the experiment, outcomes decided on the adjusted p.
// The rules, and why they keep false verdicts at or below alpha, are in docs/verdicts.md.
import type {
  CompareForm,
  CorrelationForm,
  FlatForm,
  Operand,
  PeakForm,
  Prediction,
  TrendForm,
  Value,
} from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { column, type ResultRow, type ResultTable } from '../results/types.ts';
import type { Outcome, Verdict } from './types.ts';
import { formatNumber, formatP, formatPClause, correctionName } from './format.ts';
import { conditionText, formatValue, groupBy, groupByColumn, numericColumn, rowMatches } from './rows.ts';
import { adjustP, oneSampleT, pairedT, spearman, tost, Untestable, welchT, type TTestResult } from './stats.ts';

type Side = 'confirm' | 'refute';

interface Common {
  test: string;
  statistic: Verdict['statistic'];
  effect: Verdict['effect'];
  n: number;
}

/** A test with a p: significant means `side` (confirmed or refuted). */
interface Tested extends Common {
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
interface Fixed extends Common {
  kind: 'fixed';
  outcome: Outcome;
  reason: string;
}

type Decision = Tested | Fixed;

interface Ctx {
  exp: CheckedExperiment;
  seeded: boolean;
  /** Where / group conditions in words, e.g. ["weight_decay = 0"], for reasons. */
  scope: string[];
}

function untestable(test: string, reason: string, n = 0): Fixed {
  return { kind: 'fixed', outcome: 'inconclusive', reason, test, statistic: null, effect: null, n };
}

function at(scope: string[], extra?: string): string {
  const all = extra ? [...scope, extra] : scope;
  return all.length ? ` at ${all.join(', ')}` : '';
}

/** Label of the sweep point a row belongs to, from the experiment's sweep axes. */
function pointLabel(exp: CheckedExperiment, row: ResultRow): string {
  const label = exp.sweeps
    .filter((s) => s.name in row.params)
    .map((s) => `${s.name} = ${formatValue(row.params[s.name]!)}`)
    .join(', ');
  return label || `sweep point ${row.point}`;
}

function seedsWord(ctx: Ctx): string {
  return ctx.seeded ? 'seeds' : 'rows';
}

function rowsWord(n: number): string {
  return `${n} row${n === 1 ? '' : 's'}`;
}

/** Checks that a column exists in the selected rows and is numeric there; returns a reason if not. */
function missingColumn(rows: readonly ResultRow[], name: string, what: string): string | null {
  const present = rows.filter((r) => column(r, name) !== undefined);
  if (present.length === 0) {
    const cols = rows.length ? Object.keys({ ...rows[0]!.params, ...rows[0]!.keys, ...rows[0]!.metrics }) : [];
    return `${what} '${name}' is missing from the rows${cols.length ? ` (columns: ${cols.join(', ')})` : ''}`;
  }
  if (!present.some((r) => typeof column(r, name) === 'number')) return `${what} '${name}' is not numeric`;
  return null;
}

function nonFiniteNote(skipped: number): string {
  return skipped ? ` (${rowsWord(skipped)} with a missing or non-finite value left out)` : '';
}

// ---------------------------------------------------------------------------------------------
// Trend and correlation: Spearman rho, two-sided p, side by sign.

function decideSpearman(
  xName: string,
  yName: string,
  rows: readonly ResultRow[],
  ctx: Ctx,
  direction: 1 | -1 | 0,
  confirmText: string,
  refuteText: string,
  showLevels: boolean,
): Decision {
  const test = 'Spearman rho';
  for (const [name, what] of [
    [xName, 'column'],
    [yName, 'metric'],
  ] as const) {
    const miss = missingColumn(rows, name, what);
    if (miss) return untestable(test, miss + at(ctx.scope));
  }
  const xs: number[] = [];
  const ys: number[] = [];
  for (const r of rows) {
    const x = column(r, xName);
    const y = column(r, yName);
    if (typeof x === 'number' && Number.isFinite(x) && typeof y === 'number' && Number.isFinite(y)) {
      xs.push(x);
      ys.push(y);
    }
  }
  const skipped = rows.length - xs.length;
  let s;
  try {
    s = spearman(xs, ys);
  } catch (e) {
    if (!(e instanceof Untestable)) throw e;
    let why = e.message.replace('the first variable', `'${xName}'`).replace('the second variable', `'${yName}'`);
    if (xs.length < 3) why = `only ${rowsWord(xs.length)}${at(ctx.scope)}; Spearman's rho needs ≥ 3`;
    else why += at(ctx.scope);
    return untestable(test, why + nonFiniteNote(skipped), xs.length);
  }
  const side: Side = direction === 0 || Math.sign(s.rho) === direction || s.rho === 0 ? 'confirm' : 'refute';
  const nx = new Set(xs).size;
  return {
    kind: 'tested',
    side,
    p: s.pTwoSided,
    test,
    statistic: { name: 'rho', value: s.rho },
    effect: { name: 'rho', value: s.rho, ci: s.ci },
    n: s.n,
    summary:
      `rho = ${formatNumber(s.rho)} between ${xName} and ${yName} over ${rowsWord(s.n)}` +
      `${showLevels && nx < s.n ? ` (${nx} distinct values of ${xName})` : ''}${at(ctx.scope)}, ${s.method} ${formatPClause(s.pTwoSided)}` +
      nonFiniteNote(skipped),
    confirmText,
    refuteText,
  };
}

function decideTrend(f: TrendForm, rows: readonly ResultRow[], ctx: Ctx): Decision {
  const up = f.direction === 'increases';
  const y = f.metric.name;
  const x = f.param.name;
  return decideSpearman(
    x,
    y,
    rows,
    ctx,
    up ? 1 : -1,
    `${y} ${f.direction} with ${x}`,
    `${y} ${up ? 'decreases' : 'increases'} with ${x} instead`,
    true,
  );
}

function decideCorrelation(f: CorrelationForm, rows: readonly ResultRow[], ctx: Ctx): Decision {
  const y = f.metric.name;
  const z = f.other.name;
  const dir = f.direction === 'positively' ? 1 : f.direction === 'negatively' ? -1 : 0;
  const what = f.direction === 'any' ? 'correlates' : `correlates ${f.direction}`;
  return decideSpearman(
    y,
    z,
    rows,
    ctx,
    dir,
    `${y} ${what} with ${z}`,
    `${y} correlates ${dir > 0 ? 'negatively' : 'positively'} with ${z} instead`,
    false,
  );
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

interface PointTest {
  label: string;
  res: TTestResult;
}

function opText(sign: 1 | -1, strict: boolean): string {
  return sign > 0 ? (strict ? '>' : '>=') : strict ? '<' : '<=';
}

function operandText(o: Operand): string {
  if (o.kind === 'const') return o.value.text;
  return o.at.length ? `${o.metric.name} at ${o.at.map(conditionText).join(' and ')}` : o.metric.name;
}

function decideCompare(f: CompareForm, rows: readonly ResultRow[], ctx: Ctx): Decision {
  let left = f.left;
  let right = f.right;
  let sign: 1 | -1 = f.op === '>' || f.op === '>=' ? 1 : -1;
  const strict = f.op === '>' || f.op === '<';
  if (left.kind === 'const' && right.kind === 'const') {
    return untestable('exact', `${left.value.text} ${f.op} ${right.value.text} compares two constants; there is nothing to measure`);
  }
  if (left.kind === 'const') {
    [left, right] = [right, left];
    sign = sign > 0 ? -1 : 1;
  }
  const lm = left as Extract<Operand, { kind: 'metric' }>;
  const lrows = rows.filter((r) => lm.at.every((c) => rowMatches(r, c)));
  const lScope = [...ctx.scope, ...lm.at.map(conditionText)];
  const claim = `${operandText(lm)} ${opText(sign, strict)} ${operandText(right)}`;
  const opposite = `${operandText(lm)} ${opText(sign > 0 ? -1 : 1, true)} ${operandText(right)}`;

  if (right.kind === 'const') {
    const c = right.value.value;
    const miss = missingColumn(lrows, lm.metric.name, 'metric');
    if (lrows.length === 0) return untestable('one-sample t', `no rows${at(lScope)}`);
    if (miss) return untestable('one-sample t', miss + at(lScope));
    return perPoint(lrows, ctx, lScope, sign, strict, claim, opposite, 'one-sample t', (prs) => {
      const { values } = numericColumn(prs, lm.metric.name);
      return { values: [values], n: values.length };
    }, (vals) => oneSampleT(vals[0]!, c), (vals) => vals[0]![0]! - c, 'mean', (res) => ({ value: res.estimate, ci: res.ci }),
    (vals) => `${lm.metric.name} = ${formatNumber(vals[0]![0]!, 4)} vs ${right.value.text}`, c);
  }

  const rm = right;
  const rrows = rows.filter((r) => rm.at.every((c) => rowMatches(r, c)));
  const rScope = [...ctx.scope, ...rm.at.map(conditionText)];
  for (const [rs, m, sc] of [
    [lrows, lm, lScope],
    [rrows, rm, rScope],
  ] as const) {
    if (rs.length === 0) return untestable('Welch t', `no rows${at(sc)}`);
    const miss = missingColumn(rs, m.metric.name, 'metric');
    if (miss) return untestable(lm.at.length || rm.at.length ? 'Welch t' : 'paired t', miss + at(sc));
  }
  const sameRows = lrows.length === rrows.length && lrows.every((r, i) => r === rrows[i]);
  if (sameRows) {
    // Two metrics on the same rows: pairs are rows; tested at each sweep point separately.
    return perPoint(lrows, ctx, lScope, sign, strict, claim, opposite, 'paired t', (prs) => {
      const a: number[] = [];
      const b: number[] = [];
      for (const r of prs) {
        const x = column(r, lm.metric.name);
        const y = column(r, rm.metric.name);
        if (typeof x === 'number' && Number.isFinite(x) && typeof y === 'number' && Number.isFinite(y)) {
          a.push(x);
          b.push(y);
        }
      }
      return { values: [a, b], n: a.length };
    }, (vals) => pairedT(vals[0]!, vals[1]!), (vals) => vals[0]![0]! - vals[1]![0]!, 'mean diff',
    (res) => ({ value: res.estimate, ci: res.ci }),
    (vals) => `${lm.metric.name} = ${formatNumber(vals[0]![0]!, 4)}, ${rm.metric.name} = ${formatNumber(vals[1]![0]!, 4)}`, 0);
  }

  // Two different row sets (`Y at X = a` vs `Y at X = b`): Welch t between them.
  const x = numericColumn(lrows, lm.metric.name);
  const y = numericColumn(rrows, rm.metric.name);
  const test = 'Welch t';
  if (!ctx.seeded && x.values.length === 1 && y.values.length === 1) {
    const d = x.values[0]! - y.values[0]!;
    const holds = sign > 0 ? (strict ? d > 0 : d >= 0) : strict ? d < 0 : d <= 0;
    return {
      kind: 'fixed',
      outcome: holds ? 'confirmed' : 'refuted',
      test: 'exact',
      statistic: null,
      effect: null,
      n: 1,
      reason: `exact, n = 1: ${operandText(lm)} = ${formatNumber(x.values[0]!, 4)}, ${operandText(rm)} = ${formatNumber(y.values[0]!, 4)}, so ${holds ? claim : `not ${claim}`}`,
    };
  }
  if (x.values.length < 2 || y.values.length < 2) {
    const [few, sc] = x.values.length < 2 ? [x.values.length, lScope] : [y.values.length, rScope];
    return untestable(test, `only ${rowsWord(few)}${at(sc)}; a Welch t needs ≥ 2 ${seedsWord(ctx)} on each side`, x.values.length + y.values.length);
  }
  let res: TTestResult;
  try {
    res = welchT(x.values, y.values);
  } catch (e) {
    if (!(e instanceof Untestable)) throw e;
    return untestable(test, `${e.message} (${operandText(lm)} vs ${operandText(rm)})`, x.values.length + y.values.length);
  }
  return {
    kind: 'tested',
    side: Math.sign(res.estimate) === -sign ? 'refute' : 'confirm',
    p: res.pTwoSided,
    test,
    statistic: { name: 't', value: res.t, df: res.df },
    effect: { name: 'mean diff', value: res.estimate, ci: res.ci },
    n: res.n,
    summary: `mean diff ${formatNumber(res.estimate)} (${operandText(lm)} minus ${operandText(rm)}, ${x.values.length} and ${y.values.length} rows), Welch t(${formatNumber(res.df, 3)}) = ${formatNumber(res.t)}, ${formatPClause(res.pTwoSided)}`,
    confirmText: claim,
    refuteText: opposite,
  };
}

/**
 * A comparison tested at each sweep point of the selected rows. Confirmed only if confirmed at
 * every point (intersection–union: p = max); otherwise refutation-side if any point's estimate
 * is on the wrong side (p = min over those points × number of points, Bonferroni inside).
 */
function perPoint(
  rows: readonly ResultRow[],
  ctx: Ctx,
  scope: string[],
  sign: 1 | -1,
  strict: boolean,
  claim: string,
  opposite: string,
  test: string,
  extract: (rows: ResultRow[]) => { values: number[][]; n: number },
  run: (values: number[][]) => TTestResult,
  exactDiff: (values: number[][]) => number,
  effectName: string,
  effectOf: (r: TTestResult) => { value: number; ci: [number, number] },
  exactText: (values: number[][]) => string,
  nullValue: number,
): Decision {
  const points = groupBy(rows, (r) => [r.point]);
  const tested: PointTest[] = [];
  const exactHeld: string[] = [];
  let total = 0;
  for (const pt of points) {
    const label = points.length > 1 ? pointLabel(ctx.exp, pt.rows[0]!) : '';
    const sc = label ? [...scope, label] : scope;
    const { values, n } = extract(pt.rows);
    total += n;
    if (n === 1 && !ctx.seeded) {
      const d = exactDiff(values);
      const holds = sign > 0 ? (strict ? d > 0 : d >= 0) : strict ? d < 0 : d <= 0;
      const text = `${exactText(values)}${at(sc)}`;
      if (!holds) {
        return { kind: 'fixed', outcome: 'refuted', test: 'exact', statistic: null, effect: null, n: 1, reason: `exact, n = 1: ${text}, so not ${claim}` };
      }
      exactHeld.push(text);
      continue;
    }
    if (n < 2) {
      const need = test === 'paired t' ? `a paired t needs ≥ 2 ${seedsWord(ctx)}` : `a one-sample t needs ≥ 2 ${seedsWord(ctx)}`;
      return untestable(test, `only ${rowsWord(n)}${at(sc)}; ${need}`, total);
    }
    try {
      tested.push({ label, res: run(values) });
    } catch (e) {
      if (!(e instanceof Untestable)) throw e;
      return untestable(test, `${e.message}${at(sc)}`, total);
    }
  }
  if (tested.length === 0) {
    return {
      kind: 'fixed',
      outcome: 'confirmed',
      test: 'exact',
      statistic: null,
      effect: null,
      n: exactHeld.length,
      reason: `exact, n = 1: ${exactHeld.join('; ')}, so ${claim}`,
    };
  }
  const k = tested.length;
  // The estimate's side of the null value (the constant for one-sample, 0 for paired).
  const onConfirm = (t: PointTest) => Math.sign(t.res.estimate - nullValue) !== -sign;
  let side: Side;
  let p: number;
  let pick: PointTest;
  if (tested.every(onConfirm)) {
    side = 'confirm';
    pick = tested.reduce((a, b) => (b.res.pTwoSided > a.res.pTwoSided ? b : a));
    p = pick.res.pTwoSided;
  } else {
    side = 'refute';
    pick = tested.filter((t) => !onConfirm(t)).reduce((a, b) => (b.res.pTwoSided < a.res.pTwoSided ? b : a));
    p = Math.min(1, k * pick.res.pTwoSided);
  }
  const r = pick.res;
  const e = effectOf(r);
  const where = k > 1 ? ` at ${k} sweep points (${side === 'confirm' ? 'weakest' : 'strongest against'} at ${pick.label}; ${side === 'confirm' ? 'p is the largest of the points' : `p ×${k} for the points`})` : at(scope);
  const exactNote = exactHeld.length ? `; exact at ${exactHeld.length} single-row point(s)` : '';
  return {
    kind: 'tested',
    side,
    p,
    test,
    statistic: { name: 't', value: r.t, df: r.df },
    effect: { name: effectName, value: e.value, ci: e.ci },
    n: tested.reduce((a, t) => a + t.res.n, 0),
    summary: `${effectName} ${formatNumber(e.value)} [95% CI ${formatNumber(e.ci[0])}, ${formatNumber(e.ci[1])}] over ${r.n} ${test === 'paired t' ? 'pairs' : 'rows'}${where}${exactNote}`,
    confirmText: claim,
    refuteText: opposite,
  };
}

// ---------------------------------------------------------------------------------------------
// Peak and flat: means per value of X.

interface Level {
  value: Value;
  values: number[];
}

function levels(rows: readonly ResultRow[], x: string, y: string): { levels: Level[]; skipped: number } {
  let skipped = 0;
  const out: Level[] = [];
  for (const g of groupByColumn(rows, x)) {
    const { values, skipped: s } = numericColumn(g.rows, y);
    skipped += s;
    if (values.length) out.push({ value: g.value, values });
  }
  return { levels: out, skipped };
}

const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function checkLevels(f: PeakForm | FlatForm, rows: readonly ResultRow[], ctx: Ctx, test: string, minLevels: number): Level[] | Fixed {
  const x = f.param.name;
  const y = f.metric.name;
  const miss = missingColumn(rows, x, 'column') ?? missingColumn(rows, y, 'metric');
  if (miss) return untestable(test, miss + at(ctx.scope));
  const { levels: lv } = levels(rows, x, y);
  if (lv.length < minLevels) {
    return untestable(test, `only ${lv.length} value${lv.length === 1 ? '' : 's'} of ${x}${at(ctx.scope)}; ${f.kind === 'peak' ? 'a peak' : 'flatness'} needs ≥ ${minLevels}`, lv.reduce((a, l) => a + l.values.length, 0));
  }
  return lv;
}

function allSingle(lv: Level[]): boolean {
  return lv.every((l) => l.values.length === 1);
}

function tooFew(lv: Level[], x: string, ctx: Ctx, test: string): Fixed | null {
  const few = lv.find((l) => l.values.length < 2);
  if (!few) return null;
  return untestable(test, `only ${rowsWord(few.values.length)} at ${x} = ${formatValue(few.value)}${at(ctx.scope).replace(' at ', ', ')}; a Welch t needs ≥ 2 ${seedsWord(ctx)} per value of ${x}`, lv.reduce((a, l) => a + l.values.length, 0));
}

/** One-sided Welch p for mean(a) > mean(b); 1 when untestable (zero variance on both sides). */
function welchGreater(a: number[], b: number[]): { p: number; res: TTestResult | null } {
  try {
    const res = welchT(a, b);
    return { p: res.pGreater, res };
  } catch (e) {
    if (!(e instanceof Untestable)) throw e;
    return { p: 1, res: null };
  }
}

function decidePeak(f: PeakForm, rows: readonly ResultRow[], ctx: Ctx): Decision {
  const test = 'Welch t (peak)';
  const x = f.param.name;
  const y = f.metric.name;
  const lv = checkLevels(f, rows, ctx, test, 3);
  if (!Array.isArray(lv)) return lv;
  const means = lv.map((l) => meanOf(l.values));
  const k = lv.length;
  const argmax = means.reduce((bi, m, i) => (m > means[bi]! ? i : bi), 0);
  const interior = argmax > 0 && argmax < k - 1;
  const n = lv.reduce((a, l) => a + l.values.length, 0);
  const valueText = (i: number) => `${x} = ${formatValue(lv[i]!.value)}`;
  if (!ctx.seeded && allSingle(lv)) {
    const peakOk = interior && means[argmax]! > means[0]! && means[argmax]! > means[k - 1]!;
    return {
      kind: 'fixed',
      outcome: peakOk ? 'confirmed' : 'refuted',
      test: 'exact',
      statistic: null,
      effect: null,
      n,
      reason: `exact, n = 1 per value: the maximum of ${y} (${formatNumber(means[argmax]!, 4)}) is at ${valueText(argmax)}, ${interior ? 'an interior value' : 'an end of the sweep'}${at(ctx.scope)}`,
    };
  }
  const few = tooFew(lv, x, ctx, test);
  if (few) return few;
  const first = lv[0]!.values;
  const last = lv[k - 1]!.values;
  if (interior) {
    // Intersection–union at each interior candidate j (p_j = max of the two one-sided tests);
    // Bonferroni over the k - 2 candidates because the peak is chosen from the same data.
    let best = { j: -1, p: Infinity, lo: null as TTestResult | null, hi: null as TTestResult | null };
    for (let j = 1; j < k - 1; j++) {
      const a = welchGreater(lv[j]!.values, first);
      const b = welchGreater(lv[j]!.values, last);
      const pj = Math.max(a.p, b.p);
      if (pj < best.p) best = { j, p: pj, lo: a.res, hi: b.res };
    }
    if (!best.lo || !best.hi) return untestable(test, `no spread in ${y} at ${valueText(argmax)} or the ends; a Welch t needs some variance`, n);
    const limiting = best.lo.pGreater >= best.hi.pGreater ? best.lo : best.hi;
    const p = Math.min(1, (k - 2) * best.p);
    return {
      kind: 'tested',
      side: 'confirm',
      p,
      test,
      statistic: { name: 't', value: limiting.t, df: limiting.df },
      effect: { name: 'peak minus end', value: limiting.estimate, ci: limiting.ci },
      n,
      summary: `${y} is highest at ${valueText(best.j)} (mean ${formatNumber(means[best.j]!, 3)}), ${formatNumber(limiting.estimate)} above the nearer end; ${formatPClause(best.p, 'one-sided Welch p vs both ends')}, ×${k - 2} interior candidates`,
      confirmText: `${y} peaks inside the sweep of ${x}`,
      refuteText: '',
    };
  }
  // Maximum at an end: refutation side. The end must beat every interior value (IUT: p = max
  // over interior values); ×2 because the end is chosen from the data.
  let best = { e: -1, p: Infinity, res: null as TTestResult | null };
  for (const e of [0, k - 1]) {
    let pe = -Infinity;
    let lim: TTestResult | null = null;
    for (let j = 1; j < k - 1; j++) {
      const r = welchGreater(lv[e]!.values, lv[j]!.values);
      if (r.p > pe) {
        pe = r.p;
        lim = r.res;
      }
    }
    if (pe < best.p) best = { e, p: pe, res: lim };
  }
  if (!best.res) return untestable(test, `no spread in ${y}${at(ctx.scope)}; a Welch t needs some variance`, n);
  const r = best.res;
  return {
    kind: 'tested',
    side: 'refute',
    p: Math.min(1, 2 * best.p),
    test,
    statistic: { name: 't', value: r.t, df: r.df },
    effect: { name: 'end minus best interior', value: r.estimate, ci: r.ci },
    n,
    summary: `${y} is highest at the end ${valueText(argmax)} (mean ${formatNumber(means[argmax]!, 3)}), ${formatNumber(r.estimate)} above the closest interior value; ${formatPClause(best.p, 'one-sided Welch p vs every interior value')}, ×2 ends`,
    confirmText: '',
    refuteText: `${y} is highest at an end of the sweep of ${x}, not inside it`,
  };
}

function decideFlat(f: FlatForm, rows: readonly ResultRow[], ctx: Ctx): Decision {
  const test = 'TOST';
  const x = f.param.name;
  const y = f.metric.name;
  const d = f.tolerance.value;
  const lv = checkLevels(f, rows, ctx, test, 2);
  if (!Array.isArray(lv)) return lv;
  const n = lv.reduce((a, l) => a + l.values.length, 0);
  const means = lv.map((l) => meanOf(l.values));
  const k = lv.length;
  if (!(d > 0)) return untestable(test, `the tolerance ${f.tolerance.text} must be positive`, n);
  if (!ctx.seeded && allSingle(lv)) {
    const spread = Math.max(...means) - Math.min(...means);
    const ok = spread < d;
    return {
      kind: 'fixed',
      outcome: ok ? 'confirmed' : 'refuted',
      test: 'exact',
      statistic: null,
      effect: null,
      n,
      reason: `exact, n = 1 per value: ${y} spans ${formatNumber(spread, 3)} over ${k} values of ${x} (${ok ? '<' : '≥'} ${f.tolerance.text})${at(ctx.scope)}`,
    };
  }
  const few = tooFew(lv, x, ctx, test);
  if (few) return few;
  const pairs: { i: number; j: number; r: ReturnType<typeof tost> }[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      try {
        pairs.push({ i, j, r: tost(lv[i]!.values, lv[j]!.values, d) });
      } catch (e) {
        if (!(e instanceof Untestable)) throw e;
        // Zero variance at both values: the difference is known exactly.
        const diff = means[i]! - means[j]!;
        const inside = Math.abs(diff) < d;
        const t = inside ? Infinity : -Infinity;
        pairs.push({
          i,
          j,
          r: { diff, se: 0, df: 1, ci: [diff, diff], tLower: t, pLower: inside ? 0 : 1, tUpper: -t, pUpper: inside ? 0 : 1, pEquivalent: inside ? 0 : 1, pBeyond: inside ? 1 : 0 },
        });
      }
    }
  }
  const largest = pairs.reduce((a, b) => (Math.abs(b.r.diff) > Math.abs(a.r.diff) ? b : a));
  const label = (q: (typeof pairs)[number]) => `${x} = ${formatValue(lv[q.j]!.value)} vs ${formatValue(lv[q.i]!.value)}`;
  const effect = { name: 'largest mean diff', value: -largest.r.diff, ci: [-largest.r.ci[1], -largest.r.ci[0]] as [number, number] };
  if (pairs.every((q) => Math.abs(q.r.diff) < d)) {
    const lim = pairs.reduce((a, b) => (b.r.pEquivalent > a.r.pEquivalent ? b : a));
    const tLim = lim.r.pLower >= lim.r.pUpper ? lim.r.tLower : lim.r.tUpper;
    return {
      kind: 'tested',
      side: 'confirm',
      p: lim.r.pEquivalent,
      test,
      statistic: { name: 't', value: tLim, df: lim.r.df },
      effect,
      n,
      summary: `largest difference of means ${formatNumber(Math.abs(largest.r.diff))} (${label(largest)}) within ±${f.tolerance.text}; equivalence p is the largest over ${pairs.length} pair${pairs.length === 1 ? '' : 's'} (${label(lim)}: ${formatP(lim.r.pEquivalent)})${at(ctx.scope)}`,
      confirmText: `${y} is flat in ${x} within ${f.tolerance.text}`,
      refuteText: '',
    };
  }
  const beyond = pairs.filter((q) => Math.abs(q.r.diff) >= d).reduce((a, b) => (b.r.pBeyond < a.r.pBeyond ? b : a));
  // How many SEs the absolute difference lies beyond d (positive when beyond).
  const tB = (Math.abs(beyond.r.diff) - d) / beyond.r.se;
  const np = pairs.length;
  return {
    kind: 'tested',
    side: 'refute',
    p: Math.min(1, np * beyond.r.pBeyond),
    test,
    statistic: { name: 't', value: Number.isFinite(tB) ? tB : Infinity, df: beyond.r.df },
    effect,
    n,
    summary: `difference of means ${formatNumber(Math.abs(beyond.r.diff))} (${label(beyond)}) exceeds ±${f.tolerance.text}; ${formatPClause(beyond.r.pBeyond, `p for |diff| > ${f.tolerance.text}`)}, ×${np} pairs${at(ctx.scope)}`,
    confirmText: '',
    refuteText: `${y} changes by more than ${f.tolerance.text} across ${x}`,
  };
}

// ---------------------------------------------------------------------------------------------

function decide(pred: Prediction, rows: readonly ResultRow[], ctx: Ctx): Decision {
  const f = pred.form;
  switch (f.kind) {
    case 'trend':
      return decideTrend(f, rows, ctx);
    case 'correlates':
      return decideCorrelation(f, rows, ctx);
    case 'compare':
      return decideCompare(f, rows, ctx);
    case 'peak':
      return decidePeak(f, rows, ctx);
    case 'flat':
      return decideFlat(f, rows, ctx);
    default:
      return untestable('none', `unknown prediction form '${(f as { kind: string }).kind}'`);
  }
}

function testNameOf(pred: Prediction): string {
  const f = pred.form;
  if (f.kind === 'trend' || f.kind === 'correlates') return 'Spearman rho';
  if (f.kind === 'peak') return 'Welch t (peak)';
  if (f.kind === 'flat') return 'TOST';
  if (f.right.kind === 'const' || f.left.kind === 'const') return 'one-sample t';
  return f.left.at.length || f.right.at.length ? 'Welch t' : 'paired t';
}

function safeDecide(pred: Prediction, rows: readonly ResultRow[], ctx: Ctx, table: ResultTable): Decision {
  if (rows.length === 0) {
    let why: string;
    if (table.rows.length === 0) {
      why = `the result table has no rows${table.failed.length ? ` (${table.failed.length} run${table.failed.length === 1 ? '' : 's'} failed: ${table.failed[0]!.error})` : ''}`;
    } else {
      const absent = pred.where.filter((c) => !table.rows.some((r) => column(r, c.param.name) !== undefined));
      why = `no rows match${at(ctx.scope)}${absent.length ? ` (no column named ${absent.map((c) => `'${c.param.name}'`).join(', ')})` : ''}`;
    }
    return untestable(testNameOf(pred), why);
  }
  try {
    return decide(pred, rows, ctx);
  } catch (e) {
    // Data problems are Untestable and handled above; anything else is a bug, but a verdict
    // must still come back so the other predictions are reported.
    const msg = e instanceof Error ? e.message : String(e);
    return untestable(testNameOf(pred), `internal error while judging (please report): ${msg}`);
  }
}

interface Item {
  pred: Prediction;
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
  for (const pred of exp.predictions) {
    const rows = table.rows.filter((r) => pred.where.every((c) => rowMatches(r, c)));
    const baseScope = pred.where.map(conditionText);
    if (pred.forEach.length === 0) {
      items.push({ pred, text: pred.text, group: {}, decision: safeDecide(pred, rows, { exp, seeded, scope: baseScope }, table) });
      continue;
    }
    const names = pred.forEach.map((i) => i.name);
    const groups = groupBy(rows, (r) => {
      const key = names.map((n) => column(r, n));
      return key.some((v) => v === undefined) ? undefined : (key as Value[]);
    });
    if (groups.length === 0) {
      const why = rows.length === 0 ? safeDecide(pred, rows, { exp, seeded, scope: baseScope }, table) : untestable(testNameOf(pred), `no rows have ${names.map((n) => `'${n}'`).join(' and ')} to split by for each`);
      items.push({ pred, text: pred.text, group: {}, decision: why });
      continue;
    }
    for (const g of groups) {
      const group: Record<string, Value> = {};
      names.forEach((n, i) => (group[n] = g.key[i]!));
      const groupText = names.map((n, i) => `${n} = ${formatValue(g.key[i]!)}`);
      items.push({
        pred,
        text: `${pred.text} [${groupText.join(', ')}]`,
        group,
        decision: safeDecide(pred, g.rows, { exp, seeded, scope: [...baseScope, ...groupText] }, table),
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

  return items.map((it, i): Verdict => {
    const d = it.decision;
    const base = {
      prediction: it.pred,
      text: it.text,
      line: it.pred.loc.line,
      group: it.group,
      test: d.test,
      statistic: d.statistic,
      effect: d.effect,
      n: d.n,
      correction: exp.correction,
      alpha,
    };
    if (d.kind === 'fixed') return { ...base, outcome: d.outcome, p: null, pAdjusted: null, reason: d.reason };
    const pAdj = adjOf.get(i)!;
    const significant = pAdj <= alpha;
    const outcome: Outcome = significant ? (d.side === 'confirm' ? 'confirmed' : 'refuted') : 'inconclusive';
    const pText = formatPClause(pAdj, pName);
    let reason: string;
    if (outcome === 'confirmed') reason = `${d.summary}; ${pText} ≤ alpha = ${alpha}, so ${d.confirmText}.`;
    else if (outcome === 'refuted') reason = `${d.summary}; ${pText} ≤ alpha = ${alpha} against the prediction: ${d.refuteText}.`;
    else reason = `${d.summary}; ${pText} > alpha = ${alpha}: the data support neither the prediction nor its opposite.`;
    return { ...base, outcome, p: d.p, pAdjusted: pAdj, reason };
  });
}
