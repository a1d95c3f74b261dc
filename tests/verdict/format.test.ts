import { describe, expect, it } from 'vitest';
import { describeVerdict, formatDf, formatNumber, formatP, formatPClause } from '../../src/verdict/format.ts';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import type { Verdict } from '../../src/verdict/types.ts';
import { compare, experiment, konst, metric, predict, table, trend, sweepRows } from './helpers.ts';

describe('formatNumber / formatP', () => {
  it('significant digits without trailing zeros', () => {
    expect(formatNumber(-3.0987)).toBe('-3.1');
    expect(formatNumber(-0.04213)).toBe('-0.0421');
    expect(formatNumber(-0.0701)).toBe('-0.0701');
    expect(formatNumber(24)).toBe('24');
    expect(formatNumber(1234.5)).toBe('1235');
    expect(formatNumber(0.00031)).toBe('0.00031');
    expect(formatNumber(0.000031)).toBe('3.1e-5');
    expect(formatNumber(3e-5, 1)).toBe('3e-5');
    expect(formatNumber(2.5e6)).toBe('2.5e6');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-0.00001, 2)).toBe('-1e-5');
    expect(formatNumber(0.123456, 4)).toBe('0.1235');
    expect(formatNumber(Infinity)).toBe('inf');
  });
  it('p-values', () => {
    expect(formatP(0.00491)).toBe('0.0049');
    expect(formatP(0.0009)).toBe('< 0.001');
    expect(formatP(0.001)).toBe('0.001');
    expect(formatP(0.4321)).toBe('0.43');
    expect(formatP(1)).toBe('1');
    expect(formatP(null)).toBe('n/a');
    expect(formatPClause(0.0049)).toBe('p = 0.0049');
    expect(formatPClause(1e-9)).toBe('p < 0.001');
    expect(formatDf(24)).toBe('24');
    expect(formatDf(17.348)).toBe('17.3');
  });
});

describe('describeVerdict', () => {
  const base: Omit<Verdict, 'outcome' | 'test' | 'statistic' | 'effect' | 'p' | 'pAdjusted' | 'n' | 'reason'> = {
    prediction: predict(compare(metric('a'), '>', metric('b'))),
    predictionIndex: 0,
    text: 'predict a > b',
    line: 3,
    group: {},
    correction: 'holm',
  };
  it('the one-line form with the numbers', () => {
    const v: Verdict = {
      ...base,
      outcome: 'refuted',
      test: 'paired t',
      statistic: { name: 't', value: -3.1, df: 24 },
      effect: { name: 'mean diff', value: -0.042, ci: [-0.07, -0.014] },
      p: 0.0049,
      pAdjusted: 0.0098,
      n: 25,
      reason: '',
    };
    expect(describeVerdict(v)).toBe('refuted: paired t(24) = -3.1, mean diff -0.042 [95% CI -0.07, -0.014], p = 0.0049 (Holm 0.0098), n = 25');
    expect(describeVerdict({ ...v, correction: 'none' })).toBe('refuted: paired t(24) = -3.1, mean diff -0.042 [95% CI -0.07, -0.014], p = 0.0049, n = 25');
  });
  it('untested and exact verdicts print their reason', () => {
    const v: Verdict = { ...base, outcome: 'inconclusive', test: 'paired t', statistic: null, effect: null, p: null, pAdjusted: null, n: 1, reason: 'only 1 row at weight_decay = 0; a paired t needs ≥ 2 seeds' };
    expect(describeVerdict(v)).toBe('inconclusive: only 1 row at weight_decay = 0; a paired t needs ≥ 2 seeds');
  });
  it('real verdicts: Spearman merges statistic and effect; one-sample names its test', () => {
    // Seeds differ between sweep points (100·point + s), so the trend is the pooled Spearman rho.
    const rows = sweepRows('x', [1, 2, 3, 4, 5], 'y', [[1, 1.1], [2, 2.2], [3, 3.1], [4, 4.3], [5, 5.2]]).map((r) => ({ ...r, seed: 100 * r.point! + r.seed! }));
    const [tr, os] = judgeExperiment(experiment([predict(trend('y', 'increases', 'x')), predict(compare(metric('y'), '>', konst(0)))], { correction: 'bonferroni' }), table(rows));
    expect(describeVerdict(tr!)).toMatch(/^confirmed: Spearman rho = 0\.9\d+ \[95% CI 0\.\d+, [\d.]+\], p < 0\.001 \(Bonferroni < 0\.001\), n = 10 \(2 per point; seeds 0, 1, 100, 101, 200, 201, 300, 301, 400, 401\)$/);
    // y > 0 is tested at each of the 5 sweep points (2 seeds each); the weakest point (x = 1) decides
    // dz beside the raw mean; n per point and seeds; what would decide it (MDE at alpha / 2 / 2 predictions).
    expect(describeVerdict(os!)).toMatch(/^inconclusive: one-sample t\(1\) = 21, mean 1.05 \[95% CI 0.415, 1.69\], dz 14.8, p = 0.03 \(Bonferroni 0.061\), n = 10 \(2 per point; seeds 0, 1, 100, 101, 200, 201, 300, 301, 400, 401\) · MDE [\d.]+ \(dz [\d.]+\), ~\d+ seeds per point needed$/);
  });
});
