// The statistical tests behind verdicts. simple-statistics supplies the arithmetic (mean, sample
// variance, rank correlation); what it lacks (t distribution, Welch df, exact Spearman, Fisher-z,
// Holm, TOST) is written here and tested against published values in tests/verdict/stats.test.ts.
//
// Note: simple-statistics' `tTest` divides by the *population* SD (n, not n - 1) and its
// `tTestTwoSample` is the pooled-variance Student test, so neither is the textbook one-sample or
// Welch t; both are computed here from `mean` and `sampleVariance` instead.
import { mean, sampleRankCorrelation, sampleVariance } from 'simple-statistics';
import { studentTCdf, studentTQuantile, studentTTwoSided, studentTUpper, Z_975 } from './distributions.ts';
import { spearmanPermutationP } from './permutation.ts';

/**
 * Thrown by a test when the data cannot support it (too few values, no variance). A form runs its
 * tests through `attempt` and words the reason with its context; one that escapes a form is worded
 * by the judge.
 */
export class Untestable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Untestable';
  }
}

/** The test's result, or the Untestable it threw (anything else is a bug and propagates). */
export function attempt<T>(test: () => T): T | Untestable {
  try {
    return test();
  } catch (e) {
    if (e instanceof Untestable) return e;
    throw e;
  }
}

export interface TTestResult {
  t: number;
  df: number;
  /** Mean (one-sample), mean difference (paired), or difference of means (Welch). */
  estimate: number;
  se: number;
  /** 95% CI of `estimate`. */
  ci: [number, number];
  /** P(T >= t) under H0: the alternative "estimate > null value". */
  pGreater: number;
  /** P(T <= t). */
  pLess: number;
  pTwoSided: number;
  n: number;
}

function tResult(estimate: number, nullValue: number, se: number, df: number, n: number): TTestResult {
  const t = (estimate - nullValue) / se;
  const q = studentTQuantile(0.975, df);
  return {
    t,
    df,
    estimate,
    se,
    ci: [estimate - q * se, estimate + q * se],
    pGreater: studentTUpper(t, df),
    pLess: studentTCdf(t, df),
    pTwoSided: studentTTwoSided(t, df),
    n,
  };
}

/** One-sample t of H0: mean(x) = mu, with n - 1 df. */
export function oneSampleT(x: readonly number[], mu = 0): TTestResult {
  const n = x.length;
  if (n < 2) throw new Untestable(`${n} value${n === 1 ? '' : 's'}; a t test needs at least 2`);
  const m = mean(x as number[]);
  const v = sampleVariance(x as number[]);
  if (!(v > 0)) throw new Untestable(`all ${n} values are equal (${m}); a t test needs some variance`);
  return tResult(m, mu, Math.sqrt(v / n), n - 1, n);
}

/** Paired t: one-sample t on the differences a[i] - b[i]. */
export function pairedT(a: readonly number[], b: readonly number[]): TTestResult {
  if (a.length !== b.length) throw new RangeError('paired t needs equal-length samples');
  const d = a.map((ai, i) => ai - b[i]!);
  const n = d.length;
  if (n < 2) throw new Untestable(`${n} pair${n === 1 ? '' : 's'}; a paired t needs at least 2`);
  const m = mean(d);
  const v = sampleVariance(d);
  if (!(v > 0)) throw new Untestable(`all ${n} differences are equal (${m}); a paired t needs some variance`);
  return tResult(m, 0, Math.sqrt(v / n), n - 1, n);
}

/** Welch–Satterthwaite degrees of freedom for two sample variances and sizes. */
export function welchDf(vx: number, nx: number, vy: number, ny: number): number {
  const a = vx / nx;
  const b = vy / ny;
  return (a + b) ** 2 / ((a * a) / (nx - 1) + (b * b) / (ny - 1));
}

/** Welch t of H0: mean(x) - mean(y) = delta (unequal variances). */
export function welchT(x: readonly number[], y: readonly number[], delta = 0): TTestResult {
  if (x.length < 2 || y.length < 2) {
    throw new Untestable(`${x.length} and ${y.length} values; a Welch t needs at least 2 on each side`);
  }
  const vx = sampleVariance(x as number[]);
  const vy = sampleVariance(y as number[]);
  const se = Math.sqrt(vx / x.length + vy / y.length);
  if (!(se > 0)) throw new Untestable('both samples have zero variance; a Welch t needs some');
  const df = welchDf(vx, x.length, vy, y.length);
  return tResult(mean(x as number[]) - mean(y as number[]), delta, se, df, x.length + y.length);
}

/** Midranks: tied values share the average of the ranks they span (1-based). */
export function midranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = r;
    i = j + 1;
  }
  return ranks;
}

export interface SpearmanResult {
  rho: number;
  n: number;
  /**
   * "exact permutation" (every distinct arrangement, conditional on the ties) when there are at
   * most EXACT_ARRANGEMENTS_MAX of them (every n ≤ 9, and tied sweeps such as 2 × 5, 3 × 4, 4 × 3);
   * "Monte Carlo permutation" (seeded, conditional on the ties) above that when x or y has ties;
   * "t approximation" for n ≥ 10 without ties.
   */
  method: 'exact permutation' | 'Monte Carlo permutation' | 't approximation';
  /** t = rho sqrt((n-2)/(1-rho^2)) (reported for every method), df = n - 2. */
  t: number;
  df: number;
  pGreater: number;
  pLess: number;
  pTwoSided: number;
  /** Monte Carlo SE of pTwoSided (0 for exact and t approximation). */
  mcError: number;
  /** Fisher-z 95% CI with the Fieller–Hartley–Pearson variance 1.06 / (n - 3); [-1, 1] when n <= 3. */
  ci: [number, number];
}

/** Up to this n, Spearman's p is always an exact permutation p (9! = 362,880 arrangements). */
export const EXACT_SPEARMAN_MAX_N = 9;

/** Fisher-z 95% CI for a rank correlation. */
export function fisherZCi(rho: number, n: number, varianceFactor = 1.06): [number, number] {
  if (n <= 3) return [-1, 1];
  const r = Math.max(-1 + 1e-15, Math.min(1 - 1e-15, rho));
  const z = Math.atanh(r);
  const half = Z_975 * Math.sqrt(varianceFactor / (n - 3));
  return [Math.tanh(z - half), Math.tanh(z + half)];
}

function hasTies(r: readonly number[]): boolean {
  return new Set(r).size < r.length;
}

/**
 * Hoeffding's two-sided (1 − alpha) half-width for the mean of n independent values in an interval
 * of length `range`: valid for any distribution there. Used where a t interval degenerates (every
 * value the same gives zero width, claiming a certainty n rows cannot give).
 */
export function hoeffdingHalfWidth(n: number, range: number, alpha = 0.05): number {
  return range * Math.sqrt(Math.log(2 / alpha) / (2 * n));
}

/** Spearman's rank correlation with average ranks for ties, its p and Fisher-z CI. */
export function spearman(x: readonly number[], y: readonly number[]): SpearmanResult {
  const n = x.length;
  if (n !== y.length) throw new RangeError('Spearman needs equal-length samples');
  if (n < 3) throw new Untestable(`${n} row${n === 1 ? '' : 's'}; Spearman's rho needs at least 3`);
  const rx = midranks(x);
  const ry = midranks(y);
  if (rx.every((r) => r === rx[0])) throw new Untestable('the first variable does not vary; rho is undefined');
  if (ry.every((r) => r === ry[0])) throw new Untestable('the second variable does not vary; rho is undefined');
  const rho = sampleRankCorrelation(x as number[], y as number[]);
  const df = n - 2;
  const oneMinus = 1 - rho * rho;
  const t = oneMinus <= 0 ? Math.sign(rho) * Infinity : rho * Math.sqrt(df / oneMinus);
  if (n <= EXACT_SPEARMAN_MAX_N || hasTies(rx) || hasTies(ry)) {
    const pp = spearmanPermutationP(rx, ry);
    return { rho, n, method: pp.method, t, df, pGreater: pp.pGreater, pLess: pp.pLess, pTwoSided: pp.pTwoSided, mcError: pp.mcError, ci: fisherZCi(rho, n) };
  }
  return {
    rho,
    n,
    method: 't approximation',
    t,
    df,
    pGreater: studentTUpper(t, df),
    pLess: studentTCdf(t, df),
    pTwoSided: studentTTwoSided(t, df),
    mcError: 0,
    ci: fisherZCi(rho, n),
  };
}

/** Holm step-down adjusted p-values (same order as the input), capped at 1. */
export function holmAdjust(p: readonly number[]): number[] {
  const m = p.length;
  const order = p.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(([v, idx], k) => {
    running = Math.max(running, Math.min(1, (m - k) * v));
    out[idx] = running;
  });
  return out;
}

/** Bonferroni adjusted p-values, capped at 1. */
export function bonferroniAdjust(p: readonly number[]): number[] {
  return p.map((v) => Math.min(1, v * p.length));
}

export function adjustP(p: readonly number[], method: 'holm' | 'bonferroni' | 'none'): number[] {
  if (method === 'holm') return holmAdjust(p);
  if (method === 'bonferroni') return bonferroniAdjust(p);
  return p.slice();
}

export interface TostResult {
  diff: number;
  se: number;
  df: number;
  /** CI of the difference at ciLevel. */
  ci: [number, number];
  ciLevel: number;
  /** H0: diff <= -d, rejected for large (diff + d)/se. */
  tLower: number;
  pLower: number;
  /** H0: diff >= d, rejected for small (diff - d)/se. */
  tUpper: number;
  pUpper: number;
  /** Equivalence p: max(pLower, pUpper). Small means |diff| < d. */
  pEquivalent: number;
  /**
   * p for "|diff| > d": 2 * min of the two one-sided tests of diff > d and diff < -d (doubled
   * because the side is chosen from the data), capped at 1. Small means the difference exceeds d.
   */
  pBeyond: number;
}

/** TOST numbers from a difference, its SE and df; `ciLevel` is the level of the reported interval. */
function tostFrom(diff: number, se: number, df: number, d: number, ciLevel: number): TostResult {
  const tLower = (diff + d) / se;
  const tUpper = (diff - d) / se;
  const pLower = studentTUpper(tLower, df);
  const pUpper = studentTCdf(tUpper, df);
  const pAbove = studentTUpper(tUpper, df); // diff > d
  const pBelow = studentTCdf(tLower, df); // diff < -d
  const q = studentTQuantile(1 - (1 - ciLevel) / 2, df);
  return {
    diff,
    se,
    df,
    ci: [diff - q * se, diff + q * se],
    ciLevel,
    tLower,
    pLower,
    tUpper,
    pUpper,
    pEquivalent: Math.max(pLower, pUpper),
    pBeyond: Math.min(1, 2 * Math.min(pAbove, pBelow)),
  };
}

/**
 * Two one-sided Welch t tests for equivalence of two means within ±d, plus the opposite test.
 * The interval is at `ciLevel` (default 0.95): the TOST at one-sided level a corresponds to the
 * 1 − 2a interval lying inside ±d.
 */
export function tost(x: readonly number[], y: readonly number[], d: number, ciLevel = 0.95): TostResult {
  if (!(d > 0)) throw new Untestable(`the tolerance must be positive (got ${d})`);
  const w = welchT(x, y);
  return tostFrom(w.estimate, w.se, w.df, d, ciLevel);
}

/** Paired TOST: the two one-sided tests on the within-pair differences a[i] − b[i] (n − 1 df). */
export function pairedTost(a: readonly number[], b: readonly number[], d: number, ciLevel = 0.95): TostResult {
  if (!(d > 0)) throw new Untestable(`the tolerance must be positive (got ${d})`);
  const w = pairedT(a, b);
  return tostFrom(w.estimate, w.se, w.df, d, ciLevel);
}
