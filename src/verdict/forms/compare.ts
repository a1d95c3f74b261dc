// `A > B`, `A > 0.2`, `Y at X = a > Y at X = b`: t tests. Two metrics on the same rows are paired
// by row and `A > c` is a one-sample t, each tested at every selected sweep point; two row sets
// (`at` clauses) are paired on matched seeds when they share seeds, else compared by Welch's t.
import type { CstNode, IToken } from 'chevrotain';
import type { CompareFormCstNode } from '../../../grammar/cst.d.ts';
import type { CompareForm, Operand } from '../../language/ast.ts';
import { compareOps, locOf, opToken, operand, tokenEnd } from '../../language/cst-build.ts';
import { tTestFloor } from '../floors.ts';
import type { ResultRow } from '../../results/types.ts';
import { formatNumber, formatPClause } from '../format.ts';
import { mdeStandardized, nNeeded } from '../power.ts';
import { conditionText, groupBy, rowMatches } from '../rows.ts';
import { attempt, oneSampleT, pairedT, Untestable, welchT, type TTestResult } from '../stats.ts';
import type { PowerInfo, TestName } from '../types.ts';
import { appendAll } from '../../util/arrays.ts';
import {
  accountRows,
  at,
  completeBlocks,
  exact,
  hedgesCorrection,
  missingColumn,
  num,
  pointLabel,
  rowsWord,
  sdOf,
  seedsWord,
  untestable,
  usability,
  type Ctx,
  type Decision,
  type Side,
} from '../common.ts';
import type { FormModule } from './module.ts';

type MetricOperand = Extract<Operand, { kind: 'metric' }>;

function opText(sign: 1 | -1, strict: boolean): string {
  return sign > 0 ? (strict ? '>' : '>=') : strict ? '<' : '<=';
}

export function operandText(o: Operand): string {
  if (o.kind === 'const') return o.value.text;
  return o.at.length ? `${o.metric.name} at ${o.at.map(conditionText).join(' and ')}` : o.metric.name;
}

/** MDE and seeds needed for a one-sample / paired t with n values whose SD is sd. */
function oneSamplePower(n: number, sd: number, observed: number, ctx: Ctx, perPoint: boolean) {
  return (level: number): PowerInfo | null => {
    if (n < 2 || !(sd > 0)) return null;
    const dzMde = mdeStandardized('one-sample', n, level);
    const dz = observed / sd;
    const need = nNeeded('one-sample', dz, level);
    const unit = ctx.seeded ? (perPoint ? 'seeds per point' : 'seeds') : 'rows';
    return {
      mde: dzMde * sd,
      mdeStandardized: dzMde,
      level,
      nNeeded: need,
      unit,
      text:
        `MDE at 80% power with n = ${n}: ${formatNumber(dzMde * sd)} (dz = ${formatNumber(dzMde)}); ` +
        (need === null ? 'the observed effect is 0, so no n would decide it' : `the observed ${formatNumber(observed)} (dz = ${formatNumber(dz)}) would need about ${need} ${unit}`),
    };
  };
}

function holds(d: number, sign: 1 | -1, strict: boolean): boolean {
  return sign > 0 ? (strict ? d > 0 : d >= 0) : strict ? d < 0 : d <= 0;
}

interface PointTest {
  label: string;
  res: TTestResult;
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
  test: 'paired t' | 'one-sample t',
  names: string[],
  run: (values: number[][]) => TTestResult,
  exactText: (values: number[][]) => string,
  nullValue: number,
  effectName: string,
): Decision {
  const points = groupBy(rows, (r) => [r.point]);
  const tested: PointTest[] = [];
  const exactHeld: string[] = [];
  const used: ResultRow[] = [];
  let total = 0;
  for (const pt of points) {
    const label = points.length > 1 ? pointLabel(ctx.exp, pt.rows[0]!) : '';
    const sc = label ? [...scope, label] : scope;
    const ok = pt.rows.filter((r) => usability(r, names) === 'ok');
    appendAll(used, ok);
    const values = names.map((m) => ok.map((r) => num(r, m)));
    const n = ok.length;
    total += n;
    if (n === 1 && !ctx.seeded) {
      const d = values.length === 2 ? values[0]![0]! - values[1]![0]! : values[0]![0]! - nullValue;
      const text = `${exactText(values)}${at(sc)}`;
      if (!holds(d, sign, strict)) {
        return { ...exact(false, 1, `exact, n = 1: ${text}, so not ${claim}`), used };
      }
      exactHeld.push(text);
      continue;
    }
    if (n < 2) {
      const need = test === 'paired t' ? `a paired t needs ≥ 2 ${seedsWord(ctx)}` : `a one-sample t needs ≥ 2 ${seedsWord(ctx)}`;
      return { ...untestable(test, `only ${rowsWord(n)}${at(sc)}; ${need}`, total), used };
    }
    const res = attempt(() => run(values));
    if (res instanceof Untestable) return { ...untestable(test, `${res.message}${at(sc)}`, total), used };
    tested.push({ label, res });
  }
  if (tested.length === 0) {
    return { ...exact(true, exactHeld.length, `exact, n = 1: ${exactHeld.join('; ')}, so ${claim}`), used };
  }
  const k = tested.length;
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
  const sd = r.se * Math.sqrt(r.n);
  const dz = (r.estimate - nullValue) / sd;
  const where = k > 1 ? ` at ${k} sweep points (${side === 'confirm' ? 'weakest' : 'strongest against'} at ${pick.label}; ${side === 'confirm' ? 'p is the largest of the points' : `p ×${k} for the points`})` : at(scope);
  const exactNote = exactHeld.length ? `; exact at ${exactHeld.length} single-row point(s)` : '';
  return {
    kind: 'tested',
    side,
    p,
    test,
    statistic: { name: 't', value: r.t, df: r.df },
    effect: { name: effectName, value: r.estimate, ci: r.ci },
    standardized: { name: "Cohen's dz", value: dz },
    n: tested.reduce((a, t) => a + t.res.n, 0),
    used,
    power: oneSamplePower(r.n, sd, r.estimate - nullValue, ctx, k > 1 || points.length > 1),
    summary: `${effectName} ${formatNumber(r.estimate)} [95% CI ${formatNumber(r.ci[0])}, ${formatNumber(r.ci[1])}], dz = ${formatNumber(dz)}, over ${r.n} ${test === 'paired t' ? 'pairs' : 'rows'}${where}${exactNote}`,
    confirmText: claim,
    refuteText: opposite,
  };
}

/** `Y at X = a` vs `Y at X = b`: paired on matched seeds when they share seeds, else Welch. */
function twoRowSets(lm: MetricOperand, rm: MetricOperand, lrows: ResultRow[], rrows: ResultRow[], ctx: Ctx, lScope: string[], rScope: string[], sign: 1 | -1, strict: boolean, claim: string, opposite: string): Decision {
  const lName = lm.metric.name;
  const rName = rm.metric.name;
  const lok = lrows.filter((r) => usability(r, [lName]) === 'ok');
  const rok = rrows.filter((r) => usability(r, [rName]) === 'ok');
  const considered = [...new Set([...lrows, ...rrows])];
  const account = (used: ResultRow[]) => {
    const a = accountRows(lrows, [lName], ctx, new Set(used));
    const b = accountRows(rrows.filter((r) => !lrows.includes(r)), [rName], ctx, new Set(used));
    return { points: [...a.points, ...b.points.filter((p) => !a.points.some((q) => q.label === p.label))], seeds: [...new Set([...a.seeds, ...b.seeds])].sort((x, y) => x - y) };
  };
  const x = lok.map((r) => num(r, lName));
  const y = rok.map((r) => num(r, rName));
  if (!ctx.seeded && x.length === 1 && y.length === 1) {
    const d = x[0]! - y[0]!;
    const ok = holds(d, sign, strict);
    return {
      ...exact(ok, 1, `exact, n = 1: ${operandText(lm)} = ${formatNumber(x[0]!, 4)}, ${operandText(rm)} = ${formatNumber(y[0]!, 4)}, so ${ok ? claim : `not ${claim}`}`),
      considered,
      rows: account([...lok, ...rok]),
    };
  }
  // Matched seeds: the parameters the two `at` clauses name vary; everything else must match.
  const varied = [...new Set([...lm.at, ...rm.at].map((c) => c.param.name))];
  const { blocks, duplicates } = ctx.seeded ? completeBlocks([lok, rok], varied) : { blocks: [], duplicates: true };
  if (!duplicates && blocks.length >= 2) {
    const a = blocks.map((b) => num(b[0]!, lName));
    const b = blocks.map((bl) => num(bl[1]!, rName));
    const used = blocks.flat();
    const res = attempt(() => pairedT(a, b));
    if (res instanceof Untestable) {
      return { ...untestable('paired t', `${res.message} (${operandText(lm)} vs ${operandText(rm)}, ${blocks.length} matched seeds)`, used.length), considered, rows: account(used) };
    }
    const sd = res.se * Math.sqrt(res.n);
    const dz = res.estimate / sd;
    return {
      kind: 'tested',
      side: Math.sign(res.estimate) === -sign ? 'refute' : 'confirm',
      p: res.pTwoSided,
      test: 'paired t',
      statistic: { name: 't', value: res.t, df: res.df },
      effect: { name: 'mean diff', value: res.estimate, ci: res.ci },
      standardized: { name: "Cohen's dz", value: dz },
      n: res.n,
      considered,
      rows: account(used),
      power: oneSamplePower(res.n, sd, res.estimate, ctx, false),
      summary: `mean diff ${formatNumber(res.estimate)} (${operandText(lm)} minus ${operandText(rm)}, paired within seed over ${blocks.length} matched seeds), dz = ${formatNumber(dz)}, paired t(${res.df}) = ${formatNumber(res.t)}, ${formatPClause(res.pTwoSided)}`,
      confirmText: claim,
      refuteText: opposite,
    };
  }
  const test: TestName = 'Welch t';
  if (x.length < 2 || y.length < 2) {
    const [few, sc] = x.length < 2 ? [x.length, lScope] : [y.length, rScope];
    return { ...untestable(test, `only ${rowsWord(few)}${at(sc)}; a Welch t needs ≥ 2 ${seedsWord(ctx)} on each side`, x.length + y.length), considered, rows: account([...lok, ...rok]) };
  }
  const res = attempt(() => welchT(x, y));
  if (res instanceof Untestable) {
    return { ...untestable(test, `${res.message} (${operandText(lm)} vs ${operandText(rm)})`, x.length + y.length), considered, rows: account([...lok, ...rok]) };
  }
  const sp = Math.sqrt(((x.length - 1) * sdOf(x) ** 2 + (y.length - 1) * sdOf(y) ** 2) / (x.length + y.length - 2));
  const dObs = res.estimate / sp;
  const g = dObs * hedgesCorrection(x.length + y.length - 2);
  const nh = (2 * x.length * y.length) / (x.length + y.length);
  const power = (level: number): PowerInfo | null => {
    if (!(sp > 0)) return null;
    const dMde = mdeStandardized('two-sample', nh, level, res.df);
    const need = nNeeded('two-sample', dObs, level);
    return {
      mde: dMde * sp,
      mdeStandardized: dMde,
      level,
      nNeeded: need,
      unit: 'seeds per point',
      text:
        `MDE at 80% power with ${x.length} and ${y.length} rows: ${formatNumber(dMde * sp)} (d = ${formatNumber(dMde)}); ` +
        (need === null ? 'the observed difference is 0, so no n would decide it' : `the observed ${formatNumber(res.estimate)} (d = ${formatNumber(dObs)}) would need about ${need} seeds per point`),
    };
  };
  const noMatch = ctx.seeded ? ' (no matched seeds, so unpaired)' : '';
  return {
    kind: 'tested',
    side: Math.sign(res.estimate) === -sign ? 'refute' : 'confirm',
    p: res.pTwoSided,
    test,
    statistic: { name: 't', value: res.t, df: res.df },
    effect: { name: 'mean diff', value: res.estimate, ci: res.ci },
    standardized: { name: "Hedges' g", value: g },
    n: res.n,
    considered,
    rows: account([...lok, ...rok]),
    power,
    summary: `mean diff ${formatNumber(res.estimate)} (${operandText(lm)} minus ${operandText(rm)}, ${x.length} and ${y.length} rows${noMatch}), g = ${formatNumber(g)}, Welch t(${formatNumber(res.df, 3)}) = ${formatNumber(res.t)}, ${formatPClause(res.pTwoSided)}`,
    confirmText: claim,
    refuteText: opposite,
  };
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
  const lm = left as MetricOperand;
  const lrows = rows.filter((r) => lm.at.every((c) => rowMatches(r, c)));
  const lScope = [...ctx.scope, ...lm.at.map(conditionText)];
  const claim = `${operandText(lm)} ${opText(sign, strict)} ${operandText(right)}`;
  const opposite = `${operandText(lm)} ${opText(sign > 0 ? -1 : 1, true)} ${operandText(right)}`;

  if (right.kind === 'const') {
    const c = right.value.value;
    const rtext = right.value.text;
    if (lrows.length === 0) return untestable('one-sample t', `no rows${at(lScope)}`);
    const miss = missingColumn(lrows, lm.metric.name, 'metric');
    if (miss) return untestable('one-sample t', miss + at(lScope));
    const d = perPoint(lrows, ctx, lScope, sign, strict, claim, opposite, 'one-sample t', [lm.metric.name], (v) => oneSampleT(v[0]!, c), (v) => `${lm.metric.name} = ${formatNumber(v[0]![0]!, 4)} vs ${rtext}`, c, 'mean');
    return { ...d, considered: lrows };
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
    const names = [lm.metric.name, rm.metric.name];
    const d = perPoint(lrows, ctx, lScope, sign, strict, claim, opposite, 'paired t', names, (v) => pairedT(v[0]!, v[1]!), (v) => `${names[0]} = ${formatNumber(v[0]![0]!, 4)}, ${names[1]} = ${formatNumber(v[1]![0]!, 4)}`, 0, 'mean diff');
    return { ...d, considered: lrows, accountMetrics: names };
  }
  return twoRowSets(lm, rm, lrows, rrows, ctx, lScope, rScope, sign, strict, claim, opposite);
}

export const compareForm: FormModule<CompareForm> = {
  kind: 'compare',
  syntax: '`A > B`, `A < 0.2`, `Y at X = a > Y at X = b`',
  noun: 'a comparison',
  grammar: {
    rule: 'compareForm',
    define(g) {
      g.subrule(0, 'operand', 'left');
      g.subrule(0, 'compareOp');
      g.subrule(2, 'operand', 'right');
    },
  },
  build(node: CstNode, ctx) {
    const t = (node as CompareFormCstNode).children;
    const left = operand(ctx, t.left?.[0]);
    const right = operand(ctx, t.right?.[0]);
    const opTok = opToken((t.compareOp?.[0]?.children ?? {}) as Record<string, IToken[]>);
    const op = opTok ? compareOps[opTok.tokenType.name] : undefined;
    if (!left || !right || !op) return undefined;
    return { kind: 'compare', left, op, right, loc: locOf(ctx, tokenEnd(left.loc), tokenEnd(right.loc)) };
  },
  check(f, c) {
    if (f.left.kind === 'const' && f.right.kind === 'const') c.error(f.loc, `compares two numbers: at least one side must be a metric`, 'constant-comparison');
    for (const side of [f.left, f.right]) {
      if (side.kind !== 'metric') continue;
      c.metric(side.metric);
      for (const cond of side.at) c.atCondition(cond);
    }
  },
  normalise: (f, canon) => `${canon.operand(f.left)} ${f.op} ${canon.operand(f.right)}`,
  floor(f, rows, ctx) {
    if (!ctx.seeded) return null;
    // Two `at` row sets are compared with each other; otherwise each sweep point is tested.
    const sides = [f.left, f.right].flatMap((o) => (o.kind === 'metric' && o.at.length ? [rows.filter((r) => o.at.every((c) => rowMatches(r, c)))] : []));
    return tTestFloor(sides.length ? sides : groupBy(rows, (r) => [r.point]).map((g) => g.rows));
  },
  tests: ['paired t', 'one-sample t', 'Welch t', 'exact'],
  rule:
    'two metrics on the same rows: paired t at every selected sweep point; a metric against a constant: one-sample t at every point; two row sets (`at`): paired t on matched seeds when they share seeds, else Welch t',
  defaultTest(f) {
    if (f.right.kind === 'const' || f.left.kind === 'const') return 'one-sample t';
    return f.left.at.length || f.right.at.length ? 'Welch t' : 'paired t';
  },
  metrics(f) {
    return [f.left, f.right].flatMap((o) => (o.kind === 'metric' ? [o.metric.name] : []));
  },
  decide: decideCompare,
};

