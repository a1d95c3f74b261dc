// Page's L, noncentral-t power, MDE and seeds needed, against SciPy 1.10 (values computed with
// scipy.stats.page_trend_test, scipy.stats.nct and scipy.optimize.brentq).
import { describe, expect, it } from 'vitest';
import { pageL, pageMinP, spearmanArrangements } from '../../src/verdict/permutation.ts';
import { mdeStandardized, nNeeded, noncentralTUpper, pageBlocksNeeded, pageMde, rhoMde } from '../../src/verdict/power.ts';
import { midranks } from '../../src/verdict/stats.ts';

describe("Page's L", () => {
  it('exact p equals scipy.stats.page_trend_test(method="exact")', () => {
    const a = pageL([
      [1, 2, 4, 3],
      [2, 1, 3, 5],
      [0.5, 1.5, 2.5, 2],
      [3, 4, 3.5, 6],
    ]);
    expect(a.L).toBe(116);
    expect(a.method).toBe('exact');
    expect(a.pGreater).toBeCloseTo(0.0017421392746913577, 14);
    const b = pageL([
      [1, 3, 2],
      [2, 1, 3],
      [1, 2, 3],
      [3, 1, 2],
      [1, 2, 3],
    ]);
    expect(b.L).toBe(65);
    expect(b.pGreater).toBeCloseTo(0.0794753086419753, 14);
    // Symmetric null without ties: the two-sided p is twice the smaller tail.
    expect(b.pTwoSided).toBeCloseTo(2 * Math.min(b.pGreater, b.pLess), 14);
  });
  it('mean within-block rho; every block in order gives the smallest p, 1 / k!^n per tail', () => {
    const r = pageL(Array.from({ length: 10 }, () => [0.1, 0.2, 0.3, 0.4]));
    expect(r.meanRho).toBeCloseTo(1, 12);
    expect(r.pGreater).toBeCloseTo(24 ** -10, 25);
    expect(r.pTwoSided).toBeCloseTo(pageMinP(4, 10), 25);
    expect(pageMinP(3, 1)).toBeCloseTo(1 / 3, 14);
  });
  it('above 8 values per block: normal approximation, as scipy (method="asymptotic")', () => {
    // scipy.stats.page_trend_test(data, method='asymptotic'): L = 564, p = 7.234804392511998e-05
    const d = [
      [1, 3, 2, 4, 6, 5, 7, 9, 8],
      [2, 1, 3, 5, 4, 6, 8, 7, 9],
    ];
    const r = pageL(d);
    expect(r.method).toBe('normal approximation');
    expect(r.L).toBe(564);
    expect(r.pGreater).toBeCloseTo(7.234804392511998e-5, 10);
  });
});

describe('permutation arrangements', () => {
  it('counts distinct arrangements of the tied ranks (the fewer of x and y)', () => {
    expect(spearmanArrangements(midranks([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]), midranks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))).toBe(252);
    expect(spearmanArrangements(midranks([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]), midranks([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))).toBe(34650);
  });
});

describe('power', () => {
  it('noncentral t upper tail equals scipy.stats.nct.sf', () => {
    expect(noncentralTUpper(2.262157, 9, 3.162278)).toBeCloseTo(0.8030963337208801, 6);
    expect(noncentralTUpper(1.7, 5, 1.0)).toBeCloseTo(0.2935053090943448, 6);
    expect(noncentralTUpper(2.0, 30, 2.5)).toBeCloseTo(0.6916655463524851, 6);
  });
  it('MDE at 80% power (two-sided alpha 0.05, i.e. one side at 0.025) equals brentq on scipy nct', () => {
    expect(mdeStandardized('one-sample', 10, 0.025)).toBeCloseTo(0.9960022542877369, 5);
    expect(mdeStandardized('one-sample', 25, 0.025)).toBeCloseTo(0.5840273570058541, 5);
    expect(mdeStandardized('two-sample', 10, 0.025)).toBeCloseTo(1.3249488954667994, 5);
  });
  it('seeds needed for d = 0.5: 34 (one-sample), 64 per side (two-sample), as scipy', () => {
    expect(nNeeded('one-sample', 0.5, 0.025)).toBe(34);
    expect(nNeeded('two-sample', 0.5, 0.025)).toBe(64);
    expect(nNeeded('one-sample', 0, 0.025)).toBeNull();
  });
  it('rank-correlation and Page MDEs follow their normal approximations', () => {
    // (z_0.975 + z_0.8) = 2.8016; Fisher z with variance 1.06 / (n - 3).
    expect(rhoMde(50, 0.025)).toBeCloseTo(Math.tanh(2.801585 * Math.sqrt(1.06 / 47)), 5);
    // Null SD of a block's rho over k untied values is 1 / sqrt(k - 1).
    expect(pageMde(4, 10, 0.025)).toBeCloseTo(2.801585 / Math.sqrt(3) / Math.sqrt(10), 5);
    expect(pageBlocksNeeded(4, 0.2, 0.025)).toBe(Math.ceil((2.801585 / (0.2 * Math.sqrt(3))) ** 2));
  });
});
