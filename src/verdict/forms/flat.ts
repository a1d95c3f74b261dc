// `Y is flat in X within d`: TOST on every pair of values of X. Each side (flat confirmed; a
// difference beyond d) is tested at alpha / 2, so the chance of any wrong verdict is at most alpha
// at the boundary (a difference of exactly d); the interval reported is the 1 − alpha interval
// the equivalence test uses (docs/verdicts.md, "Flat within d").
import type { CstNode } from 'chevrotain';
import type { FlatFormCstNode } from '../../../grammar/cst.d.ts';
import * as T from '../../../grammar/tokens.ts';
import type { FlatForm } from '../../language/ast.ts';
import { ident, locOf, numberLit, tokensOf } from '../../language/cst-build.ts';
import { tTestFloor } from '../floors.ts';
import { formatNumber, formatP, formatPClause } from '../format.ts';
import { formatValue, groupByColumn } from '../rows.ts';
import { attempt, pairedTost, tost, Untestable, type TostResult } from '../stats.ts';
import type { PowerInfo, TestName } from '../types.ts';
import { at, exact, hedgesCorrection, sdOf, untestable } from '../common.ts';
import type { FormModule } from './module.ts';
import { allSingle, checkLevels, comparer, detectable, seedBlocks, tooFew } from './levels.ts';
import { maxOf, minOf } from '../../util/arrays.ts';

/** Flatness compares at least one pair of values. */
const FLAT = { min: 2, noun: 'flatness' };

export const flatForm: FormModule<FlatForm> = {
  kind: 'flat',
  syntax: '`Y is flat in X within d`',
  noun: FLAT.noun,
  grammar: {
    rule: 'flatForm',
    define(g) {
      g.consume(0, T.Name, 'metric');
      g.consume(0, T.Is);
      g.consume(0, T.Flat);
      g.consume(0, T.In);
      g.consume(2, T.Name, 'param');
      g.consume(0, T.Within);
      g.consume(0, T.NumberLit);
    },
  },
  build(node: CstNode, ctx) {
    const [metric, param, tol] = tokensOf((node as FlatFormCstNode).children, 'metric', 'param', 'NumberLit') ?? [];
    return metric && param && tol && { kind: 'flat', metric: ident(ctx, metric), param: ident(ctx, param), tolerance: numberLit(ctx, tol), loc: locOf(ctx, metric, tol) };
  },
  check(f, c) {
    c.metric(f.metric);
    c.sweptNumeric(f.param, 'is flat in', FLAT.min);
    if (!(f.tolerance.value >= 0)) c.error(f.tolerance.loc, `the tolerance of "is flat" must be >= 0 but is ${f.tolerance.text}`, 'bad-tolerance');
  },
  normalise: (f, canon) => `${f.metric.name} is flat in ${f.param.name} within ${canon.number(f.tolerance.value)}`,
  floor: (f, rows, ctx) => (ctx.seeded ? tTestFloor(groupByColumn(rows, f.param.name).map((g) => g.rows)) : null),
  tests: ['paired TOST', 'TOST', 'exact'],
  rule:
    'TOST on every pair of values of X (confirm: every pair equivalent; refute: some pair beyond d), each side at alpha / 2; paired on matched seeds when the rows share seeds across every value of X, else Welch',
  defaultTest: () => 'TOST',
  metrics: (f) => [f.metric.name],
  decide(f, rows, ctx) {
    const x = f.param.name;
    const y = f.metric.name;
    const d = f.tolerance.value;
    const lv0 = checkLevels(f, rows, ctx, 'TOST', FLAT);
    if (!Array.isArray(lv0)) return lv0;
    const lv = lv0;
    const k = lv.length;
    const nAll = lv.reduce((a, l) => a + l.values.length, 0);
    if (!(d > 0)) return untestable('TOST', `the tolerance ${f.tolerance.text} must be positive`, nAll);
    if (!ctx.seeded && allSingle(lv)) {
      const means = lv.map((l) => l.values[0]!);
      const spread = maxOf(means) - minOf(means);
      const ok = spread < d;
      return exact(ok, nAll, `exact, n = 1 per value: ${y} spans ${formatNumber(spread, 3)} over ${k} values of ${x} (${ok ? '<' : '≥'} ${f.tolerance.text})${at(ctx.scope)}`);
    }
    const blocks = seedBlocks(lv, x, ctx);
    const paired = blocks !== null;
    const test: TestName = paired ? 'paired TOST' : 'TOST';
    if (!paired) {
      const few = tooFew(lv, x, ctx, test);
      if (few) return few;
    }
    const { vals, means, used } = comparer(lv, y, blocks);
    const n = used.length;
    const perPoint = paired ? blocks!.length : Math.round(n / k);
    const alpha = ctx.exp.alpha;
    // The TOST at one-sided alpha / 2 is the 1 − alpha interval lying inside ±d.
    const level = 1 - alpha;
    const pairs: { i: number; j: number; r: TostResult }[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const r = attempt(() => (paired ? pairedTost(vals[i]!, vals[j]!, d, level) : tost(vals[i]!, vals[j]!, d, level)));
        if (!(r instanceof Untestable)) {
          pairs.push({ i, j, r });
          continue;
        }
        // No variance in the comparison: the difference is known exactly.
        const diff = means[i]! - means[j]!;
        const inside = Math.abs(diff) < d;
        const t = inside ? Infinity : -Infinity;
        pairs.push({ i, j, r: { diff, se: 0, df: 1, ci: [diff, diff], ciLevel: level, tLower: t, pLower: inside ? 0 : 1, tUpper: -t, pUpper: inside ? 0 : 1, pEquivalent: inside ? 0 : 1, pBeyond: inside ? 1 : 0 } });
      }
    }
    const largest = pairs.reduce((a, b) => (Math.abs(b.r.diff) > Math.abs(a.r.diff) ? b : a));
    const label = (q: (typeof pairs)[number]) => `${x} = ${formatValue(lv[q.j]!.value)} vs ${formatValue(lv[q.i]!.value)}`;
    const effect = { name: 'largest mean diff', value: -largest.r.diff, ci: [-largest.r.ci[1], -largest.r.ci[0]] as [number, number], level };
    const stdOf = (q: (typeof pairs)[number]) => {
      const a = vals[q.i]!;
      const b = vals[q.j]!;
      if (paired) {
        const dd = a.map((v, i) => v - b[i]!);
        const s = sdOf(dd);
        return { name: "Cohen's dz", value: s > 0 ? -q.r.diff / s : 0 };
      }
      const sp = Math.sqrt(((a.length - 1) * sdOf(a) ** 2 + (b.length - 1) * sdOf(b) ** 2) / (a.length + b.length - 2));
      return { name: "Hedges' g", value: sp > 0 ? (-q.r.diff / sp) * hedgesCorrection(a.length + b.length - 2) : 0 };
    };
    const how = paired ? `paired within seed over ${blocks!.length} matched seeds` : 'Welch';
    const pct = `${formatNumber(100 * level, 3)}%`;
    if (pairs.every((q) => Math.abs(q.r.diff) < d)) {
      const lim = pairs.reduce((a, b) => (b.r.pEquivalent > a.r.pEquivalent ? b : a));
      const tLim = lim.r.pLower >= lim.r.pUpper ? lim.r.tLower : lim.r.tUpper;
      const power = (lvl: number): PowerInfo | null => {
        if (!(lim.r.se > 0)) return null;
        const mde = detectable(lim.r.se, lim.r.df, lvl);
        const gap = d - Math.abs(lim.r.diff);
        const need = gap > 0 ? Math.max(2, Math.ceil(perPoint * (mde / gap) ** 2)) : null;
        return { mde, mdeStandardized: null, level: lvl, nNeeded: need, unit: 'seeds per point', text: `MDE at 80% power with ${perPoint} seeds per point: a difference ${formatNumber(mde)} inside ±${f.tolerance.text}; ${need === null ? 'the observed difference is at the margin' : `the observed ${formatNumber(Math.abs(lim.r.diff))} (${formatNumber(gap)} inside) would need about ${need} seeds per point`}` };
      };
      return {
        kind: 'tested',
        side: 'confirm',
        p: Math.min(1, 2 * lim.r.pEquivalent),
        test,
        statistic: { name: 't', value: tLim, df: lim.r.df },
        effect,
        standardized: stdOf(largest),
        n,
        used,
        power,
        summary: `largest difference of means ${formatNumber(Math.abs(largest.r.diff))} (${label(largest)}, ${pct} CI ${formatNumber(effect.ci[0])}, ${formatNumber(effect.ci[1])}) within ±${f.tolerance.text}; ${how} equivalence p is the largest over ${pairs.length} pair${pairs.length === 1 ? '' : 's'} (${label(lim)}: ${formatP(lim.r.pEquivalent)}), ×2 sides${at(ctx.scope)}`,
        confirmText: `${y} is flat in ${x} within ${f.tolerance.text}`,
        refuteText: '',
      };
    }
    const beyond = pairs.filter((q) => Math.abs(q.r.diff) >= d).reduce((a, b) => (b.r.pBeyond < a.r.pBeyond ? b : a));
    const tB = (Math.abs(beyond.r.diff) - d) / beyond.r.se;
    const np = pairs.length;
    const power = (lvl: number): PowerInfo | null => {
      if (!(beyond.r.se > 0)) return null;
      const mde = detectable(beyond.r.se, beyond.r.df, lvl / (2 * np));
      const gap = Math.abs(beyond.r.diff) - d;
      const need = gap > 0 ? Math.max(2, Math.ceil(perPoint * (mde / gap) ** 2)) : null;
      return { mde, mdeStandardized: null, level: lvl, nNeeded: need, unit: 'seeds per point', text: `MDE at 80% power with ${perPoint} seeds per point: a difference ${formatNumber(mde)} beyond ±${f.tolerance.text}; ${need === null ? 'the observed difference is at the margin' : `the observed ${formatNumber(Math.abs(beyond.r.diff))} (${formatNumber(gap)} beyond) would need about ${need} seeds per point`}` };
    };
    return {
      kind: 'tested',
      side: 'refute',
      p: Math.min(1, 2 * np * beyond.r.pBeyond),
      test,
      statistic: { name: 't', value: Number.isFinite(tB) ? tB : Infinity, df: beyond.r.df },
      effect,
      standardized: stdOf(largest),
      n,
      used,
      power,
      summary: `difference of means ${formatNumber(Math.abs(beyond.r.diff))} (${label(beyond)}) exceeds ±${f.tolerance.text}; ${formatPClause(beyond.r.pBeyond, `${how} p for |diff| > ${f.tolerance.text}`)}, ×${np} pair${np === 1 ? '' : 's'} ×2 sides${at(ctx.scope)}`,
      confirmText: '',
      refuteText: `${y} changes by more than ${f.tolerance.text} across ${x}`,
    };
  },
};
