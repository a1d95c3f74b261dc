// Calibration and power of every prediction form, through the real judgeExperiment.
// Null data (no effect): the rate of non-inconclusive verdicts (confirmed + refuted) must stay at
// or below alpha within Monte-Carlo error. Planted effects: confirmed at about the analytic power.
// The rates are printed so they can be quoted; the seeded RNG makes them identical on every run.
import { afterAll, describe, expect, it } from 'vitest';
import { errorFunction, gammaln } from 'simple-statistics';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import { seededRng, type Rng } from '../../src/verdict/random.ts';
import { studentTQuantile } from '../../src/verdict/distributions.ts';
import type { Prediction, Value } from '../../src/language/ast.ts';
import type { Outcome } from '../../src/verdict/types.ts';
import { compare, cond, correlates, experiment, flat, konst, metric, peak, predict, table, trend, type RowSpec } from './helpers.ts';

const ALPHA = 0.05;
const SIMS = 2000;
const XS = [1, 2, 3, 4, 5];
const SEEDS = 10;
const report: string[] = [];

/** Monte-Carlo bound: alpha + 3 standard errors of a proportion at alpha. */
const bound = (sims: number) => ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / sims);

function simulate(pred: Prediction, sims: number, seed: number, rows: (rng: Rng) => RowSpec[], sweeps = [{ name: 'x', values: XS as Value[] }]) {
  const rng = seededRng(seed);
  const exp = experiment([pred], { correction: 'none', alpha: ALPHA, sweeps });
  const count: Record<Outcome, number> = { confirmed: 0, refuted: 0, inconclusive: 0 };
  for (let i = 0; i < sims; i++) {
    const v = judgeExperiment(exp, table(rows(rng)));
    expect(v).toHaveLength(1);
    count[v[0]!.outcome]++;
  }
  return { confirmed: count.confirmed / sims, refuted: count.refuted / sims, decided: (count.confirmed + count.refuted) / sims };
}

/** 5 sweep points × 10 seeds; mean(x) gives the expected value of y at each point. */
function grid(rng: Rng, mean: (x: number) => number = () => 0, extra?: (x: number) => Record<string, number>): RowSpec[] {
  const rows: RowSpec[] = [];
  XS.forEach((x, p) => {
    for (let s = 0; s < SEEDS; s++) rows.push({ point: p, seed: s, params: { x }, metrics: { y: mean(x) + rng.normal(), ...(extra ? extra(x) : {}) } });
  });
  return rows;
}

function nullCase(name: string, pred: Prediction, rows: (rng: Rng) => RowSpec[], seed: number, sims = SIMS) {
  it(`${name}: false verdicts ≤ alpha`, () => {
    const r = simulate(pred, sims, seed, rows);
    report.push(`| ${name} | ${sims} | ${r.confirmed.toFixed(4)} | ${r.refuted.toFixed(4)} | ${r.decided.toFixed(4)} | ≤ ${bound(sims).toFixed(4)} |`);
    expect(r.decided).toBeLessThanOrEqual(bound(sims));
  });
}

describe('calibration under the null (alpha = 0.05, no correction)', () => {
  nullCase('trend (Spearman, 5 × 10 rows)', predict(trend('y', 'increases', 'x')), (r) => grid(r), 1);
  nullCase('trend, small n (exact Spearman, 5 × 1 rows)', predict(trend('y', 'increases', 'x')), (rng) => XS.map((x, p) => ({ point: p, params: { x }, metrics: { y: rng.normal() } })), 2, 1000);
  nullCase('correlates positively (30 rows)', predict(correlates('y', 'z', 'positively')), (rng) => Array.from({ length: 30 }, () => ({ metrics: { y: rng.normal(), z: rng.normal() } })), 3);
  nullCase('correlates (any direction, 30 rows)', predict(correlates('y', 'z', 'any')), (rng) => Array.from({ length: 30 }, () => ({ metrics: { y: rng.normal(), z: rng.normal() } })), 4);
  nullCase('A > B paired, one point (n = 25)', predict(compare(metric('a'), '>', metric('b'))), (rng) => Array.from({ length: 25 }, () => ({ metrics: { a: rng.normal(), b: rng.normal() } })), 5);
  nullCase('A > B paired at each of 5 points (5 × 10)', predict(compare(metric('y'), '>', metric('w'))), (r) => grid(r, () => 0, () => ({ w: r.normal() })), 6);
  nullCase('A > 0.2 one-sample (n = 10)', predict(compare(metric('a'), '>', konst(0.2))), (rng) => Array.from({ length: 10 }, () => ({ metrics: { a: 0.2 + rng.normal() } })), 7);
  nullCase('Y at x=1 > Y at x=5 (Welch, 10 vs 10)', predict(compare(metric('y', cond('x', '=', 1)), '>', metric('y', cond('x', '=', 5)))), (r) => grid(r), 8);
  nullCase('peaks in (5 × 10, all means equal)', predict(peak('y', 'x')), (r) => grid(r), 9);
  nullCase('peaks in (least favourable: one interior point level with both ends, others far below)', predict(peak('y', 'x')), (r) => grid(r, (x) => (x === 1 || x === 3 || x === 5 ? 0 : -3)), 10);
  // Flat within d = 0.5: the null of "flat" is the boundary, a difference of exactly d.
  nullCase('flat within 0.5 (boundary: one point shifted by d)', predict(flat('y', 'x', 0.5)), (r) => grid(r, (x) => (x === 3 ? 0.5 : 0)), 11);
  nullCase('flat within 0.5 (boundary: linear 0 → d)', predict(flat('y', 'x', 0.5)), (r) => grid(r, (x) => (0.5 * (x - 1)) / 4), 12);
});

describe('family-wise error with the default Holm correction', () => {
  it('5 null predictions in one experiment: P(any non-inconclusive) ≤ alpha', () => {
    const rng = seededRng(13);
    const preds = ['a', 'b', 'c', 'd', 'e'].map((m) => predict(compare(metric(m), '>', konst(0))));
    const exp = experiment(preds, { alpha: ALPHA }); // correction defaults to holm
    const sims = 1000;
    let any = 0;
    for (let i = 0; i < sims; i++) {
      const rows = Array.from({ length: 10 }, () => ({ metrics: { a: rng.normal(), b: rng.normal(), c: rng.normal(), d: rng.normal(), e: rng.normal() } }));
      if (judgeExperiment(exp, table(rows)).some((v) => v.outcome !== 'inconclusive')) any++;
    }
    report.push(`| family of 5 nulls, Holm (P(any false verdict)) | ${sims} | | | ${(any / sims).toFixed(4)} | ≤ ${bound(sims).toFixed(4)} |`);
    expect(any / sims).toBeLessThanOrEqual(bound(sims));
  });
});

// ---------------------------------------------------------------------------------------------
// Power: analytic two-sided t-test power from the noncentral t, by quadrature over chi-square.

const phi = (z: number) => 0.5 * (1 + errorFunction(z / Math.SQRT2));

/** Power of a two-sided one-sample/paired t test at alpha with n observations and effect d (in SD). */
function analyticPower(n: number, d: number, alpha = ALPHA): number {
  const df = n - 1;
  const c = studentTQuantile(1 - alpha / 2, df);
  const delta = d * Math.sqrt(n);
  const logPdf = (v: number) => (df / 2 - 1) * Math.log(v) - v / 2 - (df / 2) * Math.LN2 - gammaln(df / 2);
  const upper = df + 40 * Math.sqrt(2 * df) + 40;
  const steps = 4000; // Simpson, even
  const h = upper / steps;
  let sum = 0;
  for (let i = 1; i <= steps; i++) {
    const v = i * h;
    const s = Math.sqrt(v / df);
    const f = Math.exp(logPdf(v)) * (phi(delta - c * s) + phi(-delta - c * s));
    sum += f * (i === steps ? 1 : i % 2 === 0 ? 2 : 4);
  }
  return (sum * h) / 3;
}

describe('power with planted effects', () => {
  it('the analytic power helper matches SciPy (nct): n = 25, d = 0.8 → 0.9696; n = 10, d = 1 → 0.8031', () => {
    expect(analyticPower(25, 0.8)).toBeCloseTo(0.9696310510130085, 3);
    expect(analyticPower(10, 1.0)).toBeCloseTo(0.8030968566327219, 3);
  });

  it('paired A > B, mean difference 0.8 SD, n = 25: confirmed at the analytic power', () => {
    const r = simulate(predict(compare(metric('a'), '>', metric('b'))), 1000, 21, (rng) =>
      Array.from({ length: 25 }, () => {
        const b = rng.normal();
        return { metrics: { a: b + 0.8 + rng.normal(), b } }; // difference ~ N(0.8, 1)
      }),
    );
    const want = analyticPower(25, 0.8);
    report.push(`| power: paired t, diff 0.8 SD, n = 25 | 1000 | confirmed ${r.confirmed.toFixed(4)} | analytic ${want.toFixed(4)} | | |`);
    expect(Math.abs(r.confirmed - want)).toBeLessThan(0.07);
    expect(r.refuted).toBe(0);
  });

  it('one-sample A > 0.2, effect 1 SD, n = 10: confirmed at the analytic power', () => {
    const r = simulate(predict(compare(metric('a'), '>', konst(0.2))), 1000, 22, (rng) =>
      Array.from({ length: 10 }, () => ({ metrics: { a: 1.2 + rng.normal() } })),
    );
    const want = analyticPower(10, 1);
    report.push(`| power: one-sample t, 1 SD, n = 10 | 1000 | confirmed ${r.confirmed.toFixed(4)} | analytic ${want.toFixed(4)} | | |`);
    expect(Math.abs(r.confirmed - want)).toBeLessThan(0.07);
  });

  it('trend, a planted slope (0.35 SD per step over 5 × 10 rows), is confirmed most of the time', () => {
    const r = simulate(predict(trend('y', 'increases', 'x')), 500, 23, (rng) => grid(rng, (x) => 0.35 * x));
    report.push(`| power: trend, slope 0.35 SD/step, 5 × 10 | 500 | confirmed ${r.confirmed.toFixed(4)} | (no closed form) | | |`);
    expect(r.confirmed).toBeGreaterThan(0.8);
    expect(r.refuted).toBe(0);
  });

  it('peak, interior point 2 SD above the others (5 × 10 rows), is confirmed most of the time', () => {
    const r = simulate(predict(peak('y', 'x')), 500, 24, (rng) => grid(rng, (x) => (x === 3 ? 2 : 0)));
    report.push(`| power: peak, +2 SD at the middle, 5 × 10 | 500 | confirmed ${r.confirmed.toFixed(4)} | (no closed form) | | |`);
    expect(r.confirmed).toBeGreaterThan(0.8);
  });

  it('flat within 2 SD, truly flat (5 × 10 rows), is confirmed most of the time', () => {
    const r = simulate(predict(flat('y', 'x', 2)), 500, 25, (rng) => grid(rng));
    report.push(`| power: flat within 2 SD, truly flat, 5 × 10 | 500 | confirmed ${r.confirmed.toFixed(4)} | (no closed form) | | |`);
    expect(r.confirmed).toBeGreaterThan(0.8);
  });
});

afterAll(() => {
  console.log(
    ['', '| case | sims | confirmed | refuted | decided (false) | bound |', '| --- | --- | --- | --- | --- | --- |', ...report].join('\n'),
  );
});
