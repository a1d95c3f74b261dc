// `Y increases/decreases with X` and `Y correlates [positively|negatively] with Z`: rank tests.
// A trend over seeded rows that share seeds across the values of X is tested within seed (Page's
// L), since seed s starts from the same initialisation at every sweep point; otherwise, and for
// correlations, Spearman's rho over the rows (permutation p conditional on ties).
import type { CorrelationForm, TrendForm } from '../../language/ast.ts';
import type { ResultRow } from '../../results/types.ts';
import { formatNumber, formatPClause } from '../format.ts';
import { pageBlocksNeeded, pageMde, rhoMde, rhoRowsNeeded } from '../power.ts';
import { pageL } from '../permutation.ts';
import { groupByColumn } from '../rows.ts';
import { spearman, Untestable } from '../stats.ts';
import { studentTQuantile } from '../distributions.ts';
import type { PowerInfo } from '../types.ts';
import { at, completeBlocks, missingColumn, num, rowsWord, untestable, usability, type Ctx, type Decision, type FormModule, type Side } from '../common.ts';

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
  let s;
  try {
    s = spearman(xs, ys);
  } catch (e) {
    if (!(e instanceof Untestable)) throw e;
    let why = e.message.replace('the first variable', `'${xName}'`).replace('the second variable', `'${yName}'`);
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
  const half = studentTQuantile(0.975, n - 1) * (sd / Math.sqrt(n));
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

export const trendForm: FormModule<TrendForm> = {
  kind: 'trend',
  syntax: '`Y increases with X` / `Y decreases with X`',
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
