// Blocking by seed, honest row counts, what would decide an inconclusive verdict, and the numbers
// verdicts report (argmax of a peak, flat's interval, standardised effects, n per point, seeds).
import { describe, expect, it } from 'vitest';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import { describeVerdict } from '../../src/verdict/format.ts';
import { pageL } from '../../src/verdict/permutation.ts';
import { hoeffdingHalfWidth, pairedT, welchT } from '../../src/verdict/stats.ts';
import type { Verdict } from '../../src/verdict/types.ts';
import type { Prediction } from '../../src/language/ast.ts';
import type { ResultTable } from '../../src/results/types.ts';
import { compare, cond, experiment, flat, konst, metric, peak, predict, table, trend, type RowSpec } from './helpers.ts';

const X = [0, 1, 2, 3];
const SWEEP = [{ name: 'x', values: X }];
/** Seed effects far larger than the within-seed step (0.1 per x, tiny fixed noise). */
const SEED = [1.3, -0.8, 0.2, 2.1, -1.5, 0.6, -0.3, 0.9, -1.1, 0.4];
const NOISE = (p: number, s: number) => 0.03 * Math.sin(7 * p + 13 * s);

function seededGrid(f: (x: number, s: number) => number, seeds = SEED.length): RowSpec[] {
  return X.flatMap((x, p) => Array.from({ length: seeds }, (_, s) => ({ point: p, seed: s, params: { x }, metrics: { y: f(x, s) } })));
}

function judge1(pred: Prediction, rows: RowSpec[] | ResultTable, opts: Parameters<typeof experiment>[1] = { sweeps: SWEEP }): Verdict {
  const v = judgeExperiment(experiment([pred], opts), Array.isArray(rows) ? table(rows) : rows);
  expect(v).toHaveLength(1);
  return v[0]!;
}

const small = (x: number, s: number) => SEED[s]! + 0.1 * x + NOISE(x, s);

describe('blocking by seed', () => {
  it('`y at x = 3 > y at x = 0` with matched seeds: paired t on the within-seed differences', () => {
    const rows = seededGrid(small);
    const v = judge1(predict(compare(metric('y', cond('x', '=', 3)), '>', metric('y', cond('x', '=', 0)))), rows);
    expect(v.test).toBe('paired t');
    expect(v.outcome).toBe('confirmed');
    const a = SEED.map((_, s) => small(3, s));
    const b = SEED.map((_, s) => small(0, s));
    const ref = pairedT(a, b);
    expect(v.p).toBeCloseTo(ref.pTwoSided, 14);
    expect(v.statistic).toEqual({ name: 't', value: ref.t, df: 9 });
    expect(v.standardized!.name).toBe("Cohen's dz");
    expect(v.reason).toMatch(/paired within seed over 10 matched seeds/);
    expect(v.rows!.seeds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The same rows unpaired (Welch) cannot see the 0.3 difference under the seed effect.
    expect(welchT(a, b).pTwoSided).toBeGreaterThan(0.3);
  });

  it('falls back to Welch when the two points share no seeds, and says so', () => {
    const rows = seededGrid(small).map((r) => ({ ...r, seed: r.point === 0 ? r.seed! + 100 : r.seed }));
    const v = judge1(predict(compare(metric('y', cond('x', '=', 3)), '>', metric('y', cond('x', '=', 0)))), rows);
    expect(v.test).toBe('Welch t');
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toMatch(/no matched seeds, so unpaired/);
    expect(v.standardized!.name).toBe("Hedges' g");
  });

  it("`y increases with x` with matched seeds: Page's L within seed, exact p", () => {
    const rows = seededGrid(small);
    const v = judge1(predict(trend('y', 'increases', 'x')), rows);
    expect(v.test).toBe("Page's L");
    expect(v.outcome).toBe('confirmed');
    const ref = pageL(SEED.map((_, s) => X.map((x) => small(x, s))));
    expect(v.p).toBeCloseTo(ref.pTwoSided, 20);
    expect(v.effect!.name).toBe('mean within-seed rho');
    expect(v.reason).toMatch(/within-seed trend: Page's L = \d+ over 10 seeds matched at 4 values of x/);
    // Every seed rises monotonically (rho 1 in all 10): not a zero-width t interval but Hoeffding's,
    // 2·sqrt(ln 40 / 20) = 0.858940 wide below 1.
    expect(ref.rhos.every((r) => r === 1)).toBe(true);
    expect(v.effect!.ci![0]).toBeCloseTo(1 - 0.85894, 5);
    expect(v.effect!.ci![1]).toBe(1);
    expect(hoeffdingHalfWidth(8, 2)).toBeCloseTo(0.960323, 5); // 2·sqrt(ln 40 / 16)
    // Rhos that differ keep the t interval: mean ± t(0.975, n − 1) · sd / sqrt(n).
    const mixed = seededGrid((x, s) => (s < 3 ? small(3 - x, s) : small(x, s)));
    const vm = judge1(predict(trend('y', 'increases', 'x')), mixed);
    const rhos = pageL(SEED.map((_, s) => X.map((x) => (s < 3 ? small(3 - x, s) : small(x, s))))).rhos;
    const m = rhos.reduce((a, b) => a + b, 0) / rhos.length, sd = Math.sqrt(rhos.reduce((a, r) => a + (r - m) ** 2, 0) / (rhos.length - 1));
    expect(vm.effect!.ci![0]).toBeCloseTo(m - 2.262157 * sd / Math.sqrt(10), 5);
    // Pooled over seeds, Spearman is swamped by the seed effect.
    const pooled = judge1(predict(trend('y', 'increases', 'x')), rows.map((r) => ({ ...r, seed: r.seed! + 100 * r.point! })));
    expect(pooled.test).toBe('Spearman rho');
    expect(pooled.outcome).toBe('inconclusive');
  });

  it('a seed missing at one point leaves the blocked test, counted as "without a matching seed"', () => {
    const rows = seededGrid(small).filter((r) => !(r.point === 2 && r.seed === 4));
    const v = judge1(predict(trend('y', 'increases', 'x')), rows);
    expect(v.test).toBe("Page's L");
    expect(v.n).toBe(36);
    expect(v.rows!.seeds).not.toContain(4);
    expect(v.rowsNote).toBe('1 of 10 rows without a matching seed at x = 0; 1 of 10 rows without a matching seed at x = 1; 1 of 10 rows without a matching seed at x = 3');
  });

  it('peak and flat are paired on matched seeds', () => {
    const bump = (x: number, s: number) => SEED[s]! + (x === 1 ? 0.3 : x === 2 ? 0.2 : 0) + NOISE(x, s);
    const pk = judge1(predict(peak('y', 'x')), seededGrid(bump));
    expect(pk.test).toBe('paired t (peak)');
    expect(pk.outcome).toBe('confirmed');
    const fl = judge1(predict(flat('y', 'x', 0.5)), seededGrid(bump));
    expect(fl.test).toBe('paired TOST');
    expect(fl.outcome).toBe('confirmed');
  });
});

describe('reported numbers', () => {
  it('peak names the argmax, not the candidate with the smallest p', () => {
    // x = 1 has the highest mean (2.5) but is noisy; x = 2 (1.51) is tight and decides the p.
    const ys = [[0, 0.1, -0.1, 0.05], [0.5, 4.5, 0.5, 4.5], [1.5, 1.52, 1.5, 1.52], [0, -0.05, 0.1, 0]];
    const rows = X.flatMap((x, p) => ys[p]!.map((y, s) => ({ point: p, seed: 10 * p + s, params: { x }, metrics: { y } })));
    const v = judge1(predict(peak('y', 'x')), rows);
    expect(v.reason).toMatch(/y is highest at x = 1 \(mean 2.5\) \(the strongest candidate is x = 2, mean 1.51\)/);
  });

  it("flat's interval is the 1 − alpha interval its TOST (each side at alpha / 2) uses", () => {
    const rows = X.flatMap((x, p) => [0.01, -0.02, 0.03].map((w, s) => ({ point: p, seed: 10 * p + s, params: { x }, metrics: { y: w * (p + 1) } })));
    const v = judge1(predict(flat('y', 'x', 0.5)), rows);
    expect(v.effect!.level).toBe(0.95);
    expect(v.reason).toMatch(/95% CI/);
    const v01 = judge1(predict(flat('y', 'x', 0.5)), rows, { sweeps: SWEEP, alpha: 0.01 });
    expect(v01.effect!.level).toBe(0.99);
    expect(describeVerdict(v01)).toMatch(/\[99% CI /);
  });
});

describe('honest rows', () => {
  it('counts NaN, infinite and missing rows per sweep point, in the reason and the printed line', () => {
    const rows = X.flatMap((x, p) =>
      Array.from({ length: 10 }, (_, s): RowSpec => {
        let y = 1 + 0.01 * s + 0.001 * p;
        if (p === 1 && s < 3) y = NaN;
        if (p === 2 && s === 0) y = Infinity;
        return { point: p, seed: s, params: { x }, metrics: p === 3 && s === 9 ? { other: 1 } : { y } };
      }),
    );
    const v = judge1(predict(compare(metric('y'), '>', konst(0))), rows);
    expect(v.outcome).toBe('confirmed');
    expect(v.rowsNote).toBe('3 of 10 rows NaN at x = 1; 1 of 10 rows infinite at x = 2; 1 of 10 rows missing y at x = 3');
    expect(v.reason).toContain('Rows not used: 3 of 10 rows NaN at x = 1;');
    expect(describeVerdict(v)).toContain('3 of 10 rows NaN at x = 1');
    expect(v.rows!.points.map((p) => [p.label, p.total, p.used])).toEqual([['x = 0', 10, 10], ['x = 1', 10, 7], ['x = 2', 10, 9], ['x = 3', 10, 9]]);
  });

  it('counts failed runs at the points the prediction looks at', () => {
    const t = table(seededGrid(small));
    t.failed.push({ runId: 'r-f', point: 1, seed: 11, params: { x: 1 }, error: 'boom' });
    const v = judge1(predict(trend('y', 'increases', 'x')), t);
    expect(v.rowsNote).toBe('1 run failed at x = 1');
    const w = judge1(predict(compare(metric('y'), '>', konst(0)), { where: [cond('x', '=', 0)] }), t);
    expect(w.rowsNote).toBe('');
  });
});

describe('what would decide it', () => {
  it('an inconclusive verdict states its MDE at 80% power and the seeds the observed effect needs', () => {
    const rows = Array.from({ length: 10 }, (_, s) => ({ seed: s, metrics: { a: 0.1 + [1, -1, 0.5, -0.5, 0.8, -0.9, 0.3, -0.2, 0.6, -0.4][s]! } }));
    const v = judge1(predict(compare(metric('a'), '>', konst(0))), rows, {});
    expect(v.outcome).toBe('inconclusive');
    expect(v.power).not.toBeNull();
    // One prediction, alpha 0.05: one side at 0.025; n = 10 → dz = 0.996 (scipy nct).
    expect(v.power!.mdeStandardized).toBeCloseTo(0.9960022542877369, 4);
    expect(v.power!.nNeeded).toBeGreaterThan(10);
    expect(v.reason).toMatch(/MDE at 80% power with n = 10: [\d.]+ \(dz = 0.996\); the observed 0.12 \(dz = 0.168\) would need about \d+ seeds/);
    expect(describeVerdict(v)).toMatch(/MDE [\d.]+ \(dz 0.996\), ~\d+ seeds needed/);
  });
  it('under Holm the MDE is computed at alpha / 2 / m (the first step of the family)', () => {
    const rows = Array.from({ length: 10 }, (_, s) => ({ seed: s, metrics: { a: 0.1 + [1, -1, 0.5, -0.5, 0.8, -0.9, 0.3, -0.2, 0.6, -0.4][s]!, b: 5 + s } }));
    const vs = judgeExperiment(experiment([predict(compare(metric('a'), '>', konst(0))), predict(compare(metric('b'), '>', konst(0)))]), table(rows));
    expect(vs[0]!.power!.level).toBeCloseTo(0.0125, 12);
  });
});
