// `Y increases/decreases with X` and `Y correlates [positively|negatively] with Z`: rank tests.
// A trend over seeded rows that share seeds across the values of X is tested within seed (Page's
// L), since seed s starts from the same initialisation at every sweep point; otherwise, and for
// correlations, Spearman's rho over the rows (permutation p conditional on ties).
import type { CstNode, IToken } from 'chevrotain';
import type { CorrelationFormCstNode, TrendFormCstNode } from '../../../grammar/cst.d.ts';
import * as T from '../../../grammar/tokens.ts';
import type { CorrelationForm, TrendForm } from '../../language/ast.ts';
import { first, ident, locOf, opToken, tokensOf } from '../../language/cst-build.ts';
import { pooledFloor, type Floor } from '../floors.ts';
import { EXACT_SPEARMAN_MAX_N } from '../stats.ts';
import { pageMinP } from '../permutation.ts';
import { maxOf } from '../../util/arrays.ts';
import type { ResultRow } from '../../results/types.ts';
import { formatNumber, formatPClause } from '../format.ts';
import { pageBlocksNeeded, pageMde, rhoMde, rhoRowsNeeded } from '../power.ts';
import { pageL } from '../permutation.ts';
import { groupByColumn } from '../rows.ts';
import { attempt, hoeffdingHalfWidth, spearman, Untestable } from '../stats.ts';
import { studentTQuantile } from '../distributions.ts';
import type { PowerInfo } from '../types.ts';
import { at, completeBlocks, missingColumn, num, rowsWord, untestable, usability, type Ctx, type Decision, type Side } from '../common.ts';
import type { FloorCtx, FormModule } from './module.ts';

function pooledSpearman(
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
  const usable = rows.filter((r) => usability(r, [xName, yName]) === 'ok');
  const xs = usable.map((r) => num(r, xName));
  const ys = usable.map((r) => num(r, yName));
  const s = attempt(() => spearman(xs, ys));
  if (s instanceof Untestable) {
    let why = s.message.replace('the first variable', `'${xName}'`).replace('the second variable', `'${yName}'`);
    if (xs.length < 3) why = `only ${rowsWord(xs.length)}${at(ctx.scope)}; Spearman's rho needs ≥ 3`;
    else why += at(ctx.scope);
    return { ...untestable(test, why, xs.length), used: usable };
  }
  const side: Side = direction === 0 || Math.sign(s.rho) === direction || s.rho === 0 ? 'confirm' : 'refute';
  const nx = new Set(xs).size;
  const mc = s.method === 'Monte Carlo permutation' ? ` (${formatNumber(s.mcError, 2)} Monte Carlo SE, 10,000 permutations)` : '';
  const levels = showLevels && nx < s.n ? nx : 0;
  const power = (level: number): PowerInfo => {
    const mde = rhoMde(s.n, level);
    const rowsNeeded = rhoRowsNeeded(s.rho, level);
    const perPoint = levels > 1 && ctx.seeded;
    const needed = rowsNeeded === null ? null : perPoint ? Math.ceil(rowsNeeded / levels) : rowsNeeded;
    const unit = perPoint ? 'seeds per point' : 'rows';
    return {
      mde,
      mdeStandardized: null,
      level,
      nNeeded: needed,
      unit,
      text:
        `MDE at 80% power over ${rowsWord(s.n)}: |rho| = ${formatNumber(mde)}; ` +
        (needed === null ? 'the observed rho is 0, so no number of rows would decide it' : `the observed rho ${formatNumber(s.rho)} would need about ${needed} ${unit}`),
    };
  };
  return {
    kind: 'tested',
    side,
    p: s.pTwoSided,
    test,
    statistic: { name: 'rho', value: s.rho },
    effect: { name: 'rho', value: s.rho, ci: s.ci },
    standardized: { name: 'rho', value: s.rho },
    n: s.n,
    used: usable,
    mcError: s.mcError || undefined,
    power,
    summary:
      `rho = ${formatNumber(s.rho)} between ${xName} and ${yName} over ${rowsWord(s.n)}` +
      `${levels ? ` (${nx} distinct values of ${xName})` : ''}${at(ctx.scope)}, ${s.method} ${formatPClause(s.pTwoSided)}${mc}`,
    confirmText,
    refuteText,
  };
}

/** Within-seed trend: Page's L over complete seed blocks; null when the rows do not form ≥ 2 blocks. */
function blockedTrend(f: TrendForm, rows: readonly ResultRow[], ctx: Ctx): Decision | null {
  if (!ctx.seeded) return null;
  const x = f.param.name;
  const y = f.metric.name;
  const usable = rows.filter((r) => usability(r, [x, y]) === 'ok');
  const levels = groupByColumn(usable, x);
  if (levels.length < 2) return null;
  const { blocks, duplicates } = completeBlocks(levels.map((l) => l.rows), [x]);
  if (duplicates || blocks.length < 2) return null;
  const k = levels.length;
  const res = pageL(blocks.map((b) => b.map((r) => num(r, y))));
  const up = f.direction === 'increases';
  const dir = up ? 1 : -1;
  const est = res.meanRho !== 0 ? res.meanRho : res.z;
  const side: Side = est === 0 || Math.sign(est) === dir ? 'confirm' : 'refute';
  const n = blocks.length;
  const sd = Math.sqrt(res.rhos.reduce((a, r) => a + (r - res.meanRho) ** 2, 0) / (n - 1));
  // Every seed's rho the same (all 1 when each seed rises monotonically): the t interval has zero
  // width; a rho lies in [−1, 1], so Hoeffding's interval holds whatever the distribution.
  const half = sd > 0 ? studentTQuantile(0.975, n - 1) * (sd / Math.sqrt(n)) : hoeffdingHalfWidth(n, 2);
  const ci: [number, number] = [Math.max(-1, res.meanRho - half), Math.min(1, res.meanRho + half)];
  const used = blocks.flat();
  const power = (level: number): PowerInfo => {
    const mde = pageMde(k, n, level);
    const needed = pageBlocksNeeded(k, res.meanRho, level);
    return {
      mde,
      mdeStandardized: null,
      level,
      nNeeded: needed,
      unit: 'seeds',
      text:
        `MDE at 80% power with ${n} seeds: mean within-seed rho = ${formatNumber(mde)}; ` +
        (needed === null ? 'the observed mean rho is 0, so no number of seeds would decide it' : `the observed ${formatNumber(res.meanRho)} would need about ${needed} seeds`),
    };
  };
  return {
    kind: 'tested',
    side,
    p: res.pTwoSided,
    test: "Page's L",
    statistic: { name: 'L', value: res.L },
    effect: { name: 'mean within-seed rho', value: res.meanRho, ci },
    standardized: { name: 'rho', value: res.meanRho },
    n: used.length,
    used,
    power,
    summary:
      `within-seed trend: Page's L = ${formatNumber(res.L, 6)} over ${n} seeds matched at ${k} values of ${x} ` +
      `(mean within-seed rho = ${formatNumber(res.meanRho)})${at(ctx.scope)}, ${res.method} ${formatPClause(res.pTwoSided)}`,
    confirmText: `${y} ${f.direction} with ${x}`,
    refuteText: `${y} ${up ? 'decreases' : 'increases'} with ${x} instead`,
  };
}

function checkColumns(xName: string, yName: string, rows: readonly ResultRow[], ctx: Ctx, xWhat: 'column' | 'metric'): Decision | null {
  for (const [name, what] of [
    [xName, xWhat],
    [yName, 'metric'],
  ] as const) {
    const miss = missingColumn(rows, name, what);
    if (miss) return untestable('Spearman rho', miss + at(ctx.scope));
  }
  return null;
}

/**
 * The trend's floor: Page's L over complete seed blocks, else the pooled Spearman rho over the
 * rows, with what would bring it under the target.
 */
function trendFloor(f: TrendForm, rows: readonly ResultRow[], { seeded, target }: FloorCtx): Floor | null {
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

/** A correlation's floor: the exact Spearman rho over untied rows (none past the exact range). */
function correlationFloor(rows: readonly ResultRow[], target: number): Floor | null {
  const n = rows.length;
  if (n > EXACT_SPEARMAN_MAX_N || n < 3) return null;
  const untied = (m: number) => pooledFloor(Array.from({ length: m }, () => 1), true);
  let m = n;
  while (untied(m) > target && m <= EXACT_SPEARMAN_MAX_N) m++;
  return { minP: untied(n), test: `Spearman rho over ${n} rows`, change: `with ≥ ${m} rows the smallest p is ${formatNumber(untied(m), 2)}` };
}

function direction(node: CstNode | undefined): IToken | undefined {
  return opToken((node?.children ?? {}) as Record<string, IToken[]>);
}

export const trendForm: FormModule<TrendForm> = {
  kind: 'trend',
  syntax: '`Y increases with X` / `Y decreases with X`',
  noun: 'a trend',
  grammar: {
    rule: 'trendForm',
    define(g) {
      g.consume(0, T.Name, 'metric');
      g.subrule(0, 'trendDirection');
      g.consume(0, T.With);
      g.consume(2, T.Name, 'param');
    },
  },
  build(node: CstNode, ctx) {
    const t = (node as TrendFormCstNode).children;
    const [metric, param] = tokensOf(t, 'metric', 'param') ?? [];
    const dir = direction(t.trendDirection?.[0]);
    if (!metric || !param || !dir) return undefined;
    return {
      kind: 'trend', metric: ident(ctx, metric), param: ident(ctx, param),
      direction: dir.image === 'increases' ? 'increases' : 'decreases', loc: locOf(ctx, metric, param),
    };
  },
  check(f, c) {
    c.metric(f.metric);
    c.sweptNumeric(f.param, `${f.direction} with`, 2);
  },
  normalise: (f) => `${f.metric.name} ${f.direction} with ${f.param.name}`,
  floor: trendFloor,
  tests: ["Page's L", 'Spearman rho'],
  rule:
    "Page's L within seed when the rows share seeds across the values of X (≥ 2 seeds with one row at every value); otherwise Spearman rho over the rows",
  defaultTest: () => 'Spearman rho',
  metrics: (f) => [f.metric.name],
  decide(f, rows, ctx) {
    const y = f.metric.name;
    const x = f.param.name;
    const bad = checkColumns(x, y, rows, ctx, 'column');
    if (bad) return bad;
    const blocked = blockedTrend(f, rows, ctx);
    if (blocked) return blocked;
    const up = f.direction === 'increases';
    return pooledSpearman(x, y, rows, ctx, up ? 1 : -1, `${y} ${f.direction} with ${x}`, `${y} ${up ? 'decreases' : 'increases'} with ${x} instead`, true);
  },
};

export const correlatesForm: FormModule<CorrelationForm> = {
  kind: 'correlates',
  syntax: '`Y correlates [positively\\|negatively] with Z`',
  noun: 'a correlation',
  grammar: {
    rule: 'correlationForm',
    define(g) {
      g.consume(0, T.Name, 'metric');
      g.consume(0, T.Correlates);
      g.option(0, () => g.subrule(0, 'correlationDirection'));
      g.consume(0, T.With);
      g.consume(2, T.Name, 'other');
    },
  },
  build(node: CstNode, ctx) {
    const t = (node as CorrelationFormCstNode).children;
    const [metric, other] = tokensOf(t, 'metric', 'other') ?? [];
    if (!metric || !other) return undefined;
    const dir = direction(t.correlationDirection?.[0]);
    return {
      kind: 'correlates', metric: ident(ctx, metric), other: ident(ctx, other),
      direction: dir ? (dir.image === 'positively' ? 'positively' : 'negatively') : 'any',
      loc: locOf(ctx, metric, other),
    };
  },
  check(f, c) {
    c.metric(f.metric);
    c.metric(f.other);
    if (f.metric.name === f.other.name) c.error(f.other.loc, `"${f.metric.name}" correlates with itself: name two different metrics`, 'self-correlation');
  },
  normalise: (f) => `${f.metric.name} correlates ${f.direction === 'any' ? '' : f.direction + ' '}with ${f.other.name}`,
  floor: (_f, rows, ctx) => correlationFloor(rows, ctx.target),
  tests: ['Spearman rho'],
  rule: 'Spearman rho across the rows (never refuted when no direction is given)',
  defaultTest: () => 'Spearman rho',
  metrics: (f) => [f.metric.name, f.other.name],
  decide(f, rows, ctx) {
    const y = f.metric.name;
    const z = f.other.name;
    const bad = checkColumns(y, z, rows, ctx, 'metric');
    if (bad) return bad;
    const dir = f.direction === 'positively' ? 1 : f.direction === 'negatively' ? -1 : 0;
    const what = f.direction === 'any' ? 'correlates' : `correlates ${f.direction}`;
    return pooledSpearman(y, z, rows, ctx, dir, `${y} ${what} with ${z}`, `${y} correlates ${dir > 0 ? 'negatively' : 'positively'} with ${z} instead`, false);
  },
};
