// `Y peaks in X`: an interior value of X whose mean is above both ends. Each side (peak confirmed,
// peak refuted by an end above every interior value) is tested at alpha / 2, so that the chance of
// any wrong verdict is at most alpha whatever the means (docs/verdicts.md, "Peak").
import type { CstNode } from 'chevrotain';
import type { PeakFormCstNode } from '../../../grammar/cst.d.ts';
import * as T from '../../../grammar/tokens.ts';
import type { PeakForm } from '../../language/ast.ts';
import { ident, locOf, tokensOf } from '../../language/cst-build.ts';
import { tTestFloor } from '../floors.ts';
import { formatNumber, formatPClause } from '../format.ts';
import { formatValue, groupByColumn } from '../rows.ts';
import type { TTestResult } from '../stats.ts';
import type { PowerInfo, TestName } from '../types.ts';
import { at, exact, hedgesCorrection, sdOf, untestable } from '../common.ts';
import type { FormModule } from './module.ts';
import { allSingle, checkLevels, comparer, detectable, seedBlocks, tooFew } from './levels.ts';

function standardized(r: TTestResult, paired: boolean, a: number[], b: number[]) {
  if (paired) return { name: "Cohen's dz", value: r.estimate / (r.se * Math.sqrt(r.n)) };
  const sp = Math.sqrt(((a.length - 1) * sdOf(a) ** 2 + (b.length - 1) * sdOf(b) ** 2) / (a.length + b.length - 2));
  return { name: "Hedges' g", value: (r.estimate / sp) * hedgesCorrection(a.length + b.length - 2) };
}

/** A peak needs an interior value: both ends and one between. */
const PEAK = { min: 3, noun: 'a peak' };

/**
 * Power of a one-sided t at `alphaSide` (the level split over the candidates and sides), in seeds
 * per point: the smallest effect detectable at 80% power, and the seeds the observed one would need.
 */
function seedsPower(r: { se: number; df: number; estimate: number }, alphaSide: number, level: number, perPoint: number, effect: (mde: number) => string, notAbove: string): PowerInfo {
  const mde = detectable(r.se, r.df, alphaSide);
  const obs = r.estimate;
  const need = obs > 0 ? Math.max(2, Math.ceil(perPoint * (mde / obs) ** 2)) : null;
  return { mde, mdeStandardized: null, level, nNeeded: need, unit: 'seeds per point', text: `MDE at 80% power with ${perPoint} seeds per point: ${effect(mde)}; ${need === null ? notAbove : `the observed ${formatNumber(obs)} would need about ${need} seeds per point`}` };
}

export const peakForm: FormModule<PeakForm> = {
  kind: 'peak',
  syntax: '`Y peaks in X`',
  noun: PEAK.noun,
  grammar: {
    rule: 'peakForm',
    define(g) {
      g.consume(0, T.Name, 'metric');
      g.consume(0, T.Peaks);
      g.consume(0, T.In);
      g.consume(2, T.Name, 'param');
    },
  },
  build(node: CstNode, ctx) {
    const [metric, param] = tokensOf((node as PeakFormCstNode).children, 'metric', 'param') ?? [];
    return metric && param && { kind: 'peak', metric: ident(ctx, metric), param: ident(ctx, param), loc: locOf(ctx, metric, param) };
  },
  check(f, c) {
    c.metric(f.metric);
    c.sweptNumeric(f.param, 'peaks in', PEAK.min);
  },
  normalise: (f) => `${f.metric.name} peaks in ${f.param.name}`,
  floor: (f, rows, ctx) => (ctx.seeded ? tTestFloor(groupByColumn(rows, f.param.name).map((g) => g.rows)) : null),
  tests: ['paired t (peak)', 'Welch t (peak)', 'exact'],
  rule:
    'one-sided t of the interior candidates against both ends (confirm) or of an end against every interior value (refute), each side at alpha / 2; paired on matched seeds when the rows share seeds across every value of X, else Welch',
  defaultTest: () => 'Welch t (peak)',
  metrics: (f) => [f.metric.name],
  decide(f, rows, ctx) {
    const x = f.param.name;
    const y = f.metric.name;
    const lv0 = checkLevels(f, rows, ctx, 'Welch t (peak)', PEAK);
    if (!Array.isArray(lv0)) return lv0;
    const lv = lv0;
    const k = lv.length;
    const valueText = (i: number) => `${x} = ${formatValue(lv[i]!.value)}`;
    if (!ctx.seeded && allSingle(lv)) {
      const means = lv.map((l) => l.values[0]!);
      const argmax = means.reduce((bi, m, i) => (m > means[bi]! ? i : bi), 0);
      const interior = argmax > 0 && argmax < k - 1;
      const peakOk = interior && means[argmax]! > means[0]! && means[argmax]! > means[k - 1]!;
      return exact(peakOk, k, `exact, n = 1 per value: the maximum of ${y} (${formatNumber(means[argmax]!, 4)}) is at ${valueText(argmax)}, ${interior ? 'an interior value' : 'an end of the sweep'}${at(ctx.scope)}`);
    }
    const blocks = seedBlocks(lv, x, ctx);
    const paired = blocks !== null;
    const test: TestName = paired ? 'paired t (peak)' : 'Welch t (peak)';
    if (!paired) {
      const few = tooFew(lv, x, ctx, test);
      if (few) return few;
    }
    const { vals, means, greater, used } = comparer(lv, y, blocks);
    const n = used.length;
    const perPoint = paired ? blocks!.length : Math.round(n / k);
    const argmax = means.reduce((bi, m, i) => (m > means[bi]! ? i : bi), 0);
    const interior = argmax > 0 && argmax < k - 1;
    const how = paired ? `paired within seed over ${blocks!.length} matched seeds` : 'Welch';
    if (interior) {
      // Intersection–union at each interior candidate j (p_j = max of the two one-sided tests);
      // Bonferroni over the k − 2 candidates (the peak is chosen from the same data); × 2 for
      // the side (alpha / 2 each side).
      let best = { j: -1, p: Infinity, lo: null as TTestResult | null, hi: null as TTestResult | null };
      for (let j = 1; j < k - 1; j++) {
        const a = greater(j, 0);
        const b = greater(j, k - 1);
        const pj = Math.max(a.p, b.p);
        if (pj < best.p) best = { j, p: pj, lo: a.res, hi: b.res };
      }
      if (!best.lo || !best.hi) return { ...untestable(test, `no spread in ${y} at ${valueText(argmax)} or the ends; a t test needs some variance`, n), used };
      const loLim = best.lo.pGreater >= best.hi.pGreater;
      const limiting = loLim ? best.lo : best.hi;
      const endIdx = loLim ? 0 : k - 1;
      const p = Math.min(1, 2 * (k - 2) * best.p);
      const cand = best.j === argmax ? '' : ` (the strongest candidate is ${valueText(best.j)}, mean ${formatNumber(means[best.j]!, 3)})`;
      const power = (level: number): PowerInfo | null =>
        seedsPower(limiting, level / (k - 2), level, perPoint, (mde) => `a peak ${formatNumber(mde)} above the nearer end`, 'the observed peak is not above that end');
      return {
        kind: 'tested',
        side: 'confirm',
        p,
        test,
        statistic: { name: 't', value: limiting.t, df: limiting.df },
        effect: { name: 'peak minus end', value: limiting.estimate, ci: limiting.ci },
        standardized: standardized(limiting, paired, vals[best.j]!, vals[endIdx]!),
        n,
        used,
        power,
        summary: `${y} is highest at ${valueText(argmax)} (mean ${formatNumber(means[argmax]!, 3)})${cand}, ${formatNumber(limiting.estimate)} above the nearer end ${valueText(endIdx)}; ${formatPClause(best.p, `one-sided ${how} p vs both ends`)}, ×${k - 2} interior candidate${k - 2 === 1 ? '' : 's'} ×2 sides${at(ctx.scope)}`,
        confirmText: `${y} peaks inside the sweep of ${x}`,
        refuteText: '',
      };
    }
    // Maximum at an end: refutation side. The end must beat every interior value (IUT: p = max over
    // interior values); ×2 because the end is chosen from the data, ×2 for the side.
    let best = { e: -1, p: Infinity, res: null as TTestResult | null, j: -1 };
    for (const e of [0, k - 1]) {
      let pe = -Infinity;
      let lim: TTestResult | null = null;
      let lj = -1;
      for (let j = 1; j < k - 1; j++) {
        const r = greater(e, j);
        if (r.p > pe) {
          pe = r.p;
          lim = r.res;
          lj = j;
        }
      }
      if (pe < best.p) best = { e, p: pe, res: lim, j: lj };
    }
    if (!best.res) return { ...untestable(test, `no spread in ${y}${at(ctx.scope)}; a t test needs some variance`, n), used };
    const r = best.res;
    const power = (level: number): PowerInfo | null =>
      seedsPower(r, level / 2, level, perPoint, (mde) => `an end ${formatNumber(mde)} above every interior value`, 'the observed end is not above them');
    return {
      kind: 'tested',
      side: 'refute',
      p: Math.min(1, 4 * best.p),
      test,
      statistic: { name: 't', value: r.t, df: r.df },
      effect: { name: 'end minus best interior', value: r.estimate, ci: r.ci },
      standardized: standardized(r, paired, vals[best.e]!, vals[best.j]!),
      n,
      used,
      power,
      summary: `${y} is highest at the end ${valueText(argmax)} (mean ${formatNumber(means[argmax]!, 3)}), ${formatNumber(r.estimate)} above the closest interior value; ${formatPClause(best.p, `one-sided ${how} p vs every interior value`)}, ×2 ends ×2 sides${at(ctx.scope)}`,
      confirmText: '',
      refuteText: `${y} is highest at an end of the sweep of ${x}, not inside it`,
    };
  },
};
