// Every formula against a published or independently computed value. Reference values: textbook
// tables (t quantiles), Wikipedia's worked examples (Welch, Holm), and SciPy 1.17
// (scipy.stats.ttest_1samp / ttest_rel / spearmanr / permutation_test, scipy.special.betainc).
import { describe, expect, it } from 'vitest';
import { tTest } from 'simple-statistics';
import {
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  studentTTwoSided,
  studentTUpper,
} from '../../src/verdict/distributions.ts';
import {
  bonferroniAdjust,
  fisherZCi,
  holmAdjust,
  midranks,
  oneSampleT,
  pairedT,
  spearman,
  tost,
  Untestable,
  welchDf,
  welchT,
} from '../../src/verdict/stats.ts';
import { Rng } from '../../src/util/random.ts';

describe('incomplete beta and Student t', () => {
  it('regularized incomplete beta matches closed forms and SciPy', () => {
    expect(regularizedIncompleteBeta(0.5, 2, 3)).toBeCloseTo(0.6875, 12); // 11/16 exactly
    expect(regularizedIncompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(regularizedIncompleteBeta(0.2, 0.5, 7.5)).toBeCloseTo(0.9281204024988001, 10);
    expect(regularizedIncompleteBeta(0.45, 30, 40)).toBeCloseTo(0.6447480085585666, 10);
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });

  it('t CDF and tails', () => {
    expect(studentTCdf(2.0, 10)).toBeCloseTo(0.963306, 6);
    expect(studentTCdf(-2.0, 10)).toBeCloseTo(1 - 0.963306, 6);
    expect(studentTCdf(0, 7)).toBeCloseTo(0.5, 12);
    expect(studentTUpper(3.5, 7.3)).toBeCloseTo(0.004671569264242777, 10); // fractional df
    expect(studentTTwoSided(-2.0, 10)).toBeCloseTo(2 * (1 - 0.963306), 6);
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12); // Cauchy
  });

  it('t quantiles match the table', () => {
    expect(studentTQuantile(0.975, 24)).toBeCloseTo(2.063899, 6);
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 4);
    expect(studentTQuantile(0.95, 5)).toBeCloseTo(2.015048, 6);
    expect(studentTQuantile(0.995, 3)).toBeCloseTo(5.840909, 6);
    expect(studentTQuantile(0.025, 24)).toBeCloseTo(-2.063899, 6);
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.959964, 5);
  });
});

describe('t tests', () => {
  it('one-sample t equals SciPy ttest_1samp (and differs from simple-statistics tTest, which uses the population SD)', () => {
    const x = [5.1, 4.9, 5.6, 5.8, 6.0, 5.2, 5.5];
    const r = oneSampleT(x, 5);
    expect(r.t).toBeCloseTo(2.964731715744525, 10);
    expect(r.df).toBe(6);
    expect(r.pTwoSided).toBeCloseTo(0.025128393368049288, 8);
    expect(r.ci[0]).toBeCloseTo(5.0773494021510945, 8);
    expect(r.ci[1]).toBeCloseTo(5.808364883563192, 8);
    expect(r.pGreater).toBeCloseTo(0.025128393368049288 / 2, 8);
    expect(Math.abs(tTest(x, 5) - r.t)).toBeGreaterThan(0.1);
  });

  it('paired t equals SciPy ttest_rel', () => {
    const a = [0.91, 0.88, 0.93, 0.9, 0.87, 0.92];
    const b = [0.85, 0.86, 0.9, 0.84, 0.88, 0.83];
    const r = pairedT(a, b);
    expect(r.t).toBeCloseTo(2.879083998155492, 9);
    expect(r.pTwoSided).toBeCloseTo(0.03462510826382518, 8);
    expect(r.ci[0]).toBeCloseTo(0.004464703627913458, 8);
    expect(r.ci[1]).toBeCloseTo(0.07886862970541995, 8);
  });

  it("Welch t and Welch–Satterthwaite df: Wikipedia's worked example (t = -2.46, df = 24.99, p = 0.021)", () => {
    const x = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const y = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const r = welchT(x, y);
    expect(r.t).toBeCloseTo(-2.455356398286006, 9);
    expect(r.df).toBeCloseTo(24.988529290231416, 8);
    expect(r.pTwoSided).toBeCloseTo(0.021378001462866992, 8);
    expect(r.ci[0]).toBeCloseTo(-3.984096267140929, 7);
    expect(r.ci[1]).toBeCloseTo(-0.3492370661924069, 7);
    expect(welchDf(4, 10, 4, 10)).toBeCloseTo(18, 12); // equal variances and sizes: n1 + n2 - 2
  });

  it('untestable inputs throw Untestable, never NaN', () => {
    expect(() => oneSampleT([1], 0)).toThrow(Untestable);
    expect(() => oneSampleT([2, 2, 2], 0)).toThrow(/variance/);
    expect(() => pairedT([1, 2], [0, 1])).toThrow(/differences are equal/);
    expect(() => welchT([1], [1, 2])).toThrow(Untestable);
  });

  it('TOST: two one-sided Welch tests (recomputed with SciPy t)', () => {
    const x = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const y = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const r = tost(x, y, 4.5);
    expect(r.diff).toBeCloseTo(-2.166666666666668, 10);
    expect(r.pLower).toBeCloseTo(0.006971575358312961, 8);
    expect(r.pUpper).toBeCloseTo(3.2918981736549036e-8, 12);
    expect(r.pEquivalent).toBeCloseTo(0.006971575358312961, 8);
    expect(tost(x, y, 1).pBeyond).toBeCloseTo(0.19810518032291138, 8);
  });
});

describe('Spearman rho', () => {
  it('midranks average ties', () => {
    expect(midranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('rho with ties equals SciPy spearmanr (n = 12); p is the seeded Monte Carlo permutation p conditional on the ties', () => {
    const s = spearman([1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10], [2, 1, 4, 3, 3, 6, 5, 8, 7, 9, 12, 11]);
    expect(s.rho).toBeCloseTo(0.942004969724113, 10);
    // 12! / (2! 2!) ≈ 1.2e8 distinct arrangements: above the exact range. SciPy's t approximation
    // gives 4.7e-6; one of the 10,000 seeded permutations reaches |rho|, so p = (1 + 1) / 10,001.
    expect(s.method).toBe('Monte Carlo permutation');
    expect(s.pTwoSided).toBe(2 / 10_001);
    expect(s.mcError).toBeCloseTo(Math.sqrt((2 / 10_001) * (1 - 2 / 10_001) / 10_000), 15);
    // Deterministic: the same data give the same p.
    expect(spearman([1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10], [2, 1, 4, 3, 3, 6, 5, 8, 7, 9, 12, 11]).pTwoSided).toBe(s.pTwoSided);
  });

  it('no ties, n ≥ 10: t approximation equals SciPy spearmanr', () => {
    const s = spearman([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [2, 1, 4, 3, 6, 5, 8, 7, 10, 9]);
    expect(s.method).toBe('t approximation');
    // scipy.stats.spearmanr: rho = 0.9393939393939394, p = 5.484052998513666e-05
    expect(s.rho).toBeCloseTo(0.9393939393939394, 12);
    expect(s.pTwoSided).toBeCloseTo(5.484052998513666e-5, 9);
  });

  it('tied sweeps above n = 9 get the exact permutation p conditional on the ties (brute force with itertools)', () => {
    // 2 values × 5 seeds: C(10, 5) = 252 arrangements.
    const s = spearman([1, 1, 1, 1, 1, 2, 2, 2, 2, 2], [0.3, -1.2, 0.5, 0.1, -0.4, 0.9, 1.4, -0.2, 0.8, 0.6]);
    expect(s.method).toBe('exact permutation');
    expect(s.rho).toBeCloseTo(0.6614950926316517, 12);
    expect(s.pGreater).toBeCloseTo(0.027777777777777776, 14);
    expect(s.pLess).toBeCloseTo(0.9841269841269841, 14);
    expect(s.pTwoSided).toBeCloseTo(0.05555555555555555, 14);
    // 3 values × 4 seeds: 12! / 4!³ = 34,650 arrangements.
    const t = spearman([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], [0.1, 0.5, -0.3, 0.2, 0.4, 0.9, 0.0, 0.6, 1.0, 0.3, 0.8, 1.2]);
    expect(t.method).toBe('exact permutation');
    expect(t.rho).toBeCloseTo(0.6504436355879909, 12);
    expect(t.pGreater).toBeCloseTo(0.015238095238095238, 14);
    expect(t.pTwoSided).toBeCloseTo(0.030476190476190476, 14);
  });

  it('exact permutation p for small n equals SciPy permutation_test (n = 7; and with ties, n = 6)', () => {
    const s = spearman([1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]);
    expect(s.rho).toBeCloseTo(0.8214285714285715, 12);
    expect(s.method).toBe('exact permutation');
    expect(s.pTwoSided).toBeCloseTo(0.034126984126984124, 12);
    expect(s.pGreater).toBeCloseTo(0.017063492063492062, 12);
    const t = spearman([1, 1, 2, 2, 3, 3], [1.0, 2.5, 2.0, 3.1, 2.9, 4.0]);
    expect(t.rho).toBeCloseTo(0.7171371656006363, 12);
    expect(t.pTwoSided).toBeCloseTo(0.17777777777777778, 12);
    // perfectly monotone, n = 5: one pairing of 120 is as extreme on each side
    expect(spearman([1, 2, 3, 4, 5], [3, 4, 8, 9, 10]).pTwoSided).toBeCloseTo(2 / 120, 12);
  });

  it('Fisher-z CI with variance 1.06/(n-3)', () => {
    const [lo, hi] = fisherZCi(0.5, 28);
    expect(lo).toBeCloseTo(0.1447020214446485, 10);
    expect(hi).toBeCloseTo(0.7410874615592803, 10);
    expect(fisherZCi(0.9, 3)).toEqual([-1, 1]);
    const [a, b] = fisherZCi(1, 20);
    expect(Number.isFinite(a) && Number.isFinite(b)).toBe(true);
  });

  it('no variation is untestable', () => {
    expect(() => spearman([1, 1, 1, 1], [1, 2, 3, 4])).toThrow(/does not vary/);
    expect(() => spearman([1, 2], [1, 2])).toThrow(/at least 3/);
  });
});

describe('multiple comparisons', () => {
  it("Holm: Wikipedia's example (p = .01, .04, .03, .005 at alpha .05 rejects H1 and H4)", () => {
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((v) => +v.toFixed(10))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(adj.map((v) => v <= 0.05)).toEqual([true, false, false, true]);
    // step-down monotonicity: 0.6 * 1 would be 0.6, but cannot fall below the earlier 0.5 * 2 = 1
    expect(holmAdjust([0.5, 0.6])).toEqual([1, 1]);
    expect(holmAdjust([0.02, 0.2])).toEqual([0.04, 0.2]);
  });

  it('Bonferroni multiplies by m and caps at 1', () => {
    const b = bonferroniAdjust([0.01, 0.04, 0.3]);
    [0.03, 0.12, 0.9].forEach((v, i) => expect(b[i]).toBeCloseTo(v, 12));
    expect(bonferroniAdjust([0.6, 0.01])).toEqual([1, 0.02]);
  });
});

describe('seeded random', () => {
  it('is reproducible and roughly standard normal', () => {
    const a = Rng.mulberry32(42);
    const b = Rng.mulberry32(42);
    const xs = Array.from({ length: 20000 }, () => a.normal());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b.normal()));
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.04);
  });
});
