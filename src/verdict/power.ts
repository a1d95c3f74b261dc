// Power of t-based decisions: minimum detectable effect (MDE) at 80% power for the n a verdict had,
// and the n that the observed effect would need. Noncentral t by quadrature over the chi
// distribution: P(T' > c) = E[Φ(δ − c·W/√df)], W ~ chi(df). Checked against SciPy's nct in
// tests/verdict/power.test.ts.
import { gammaln } from 'simple-statistics';
import { normalUpper, studentTQuantile } from './distributions.ts';

export const TARGET_POWER = 0.8;

/** P(T' > c) for a noncentral t with df degrees of freedom and noncentrality delta. */
export function noncentralTUpper(c: number, df: number, delta: number): number {
  if (df === Infinity || df > 1e6) return normalUpper(c - delta);
  const root = Math.sqrt(df);
  // chi(df) has sd < 0.75 around sqrt(df): ±9 covers it to below 1e-15.
  const lo = Math.max(0, root - 9);
  const hi = root + 9;
  const steps = 160; // Simpson, even
  const h = (hi - lo) / steps;
  // chi(df) density: w^(df-1) e^(-w²/2) / (2^(df/2 - 1) Γ(df/2)).
  const lnC = -(df / 2 - 1) * Math.LN2 - gammaln(df / 2);
  let sum = 0;
  for (let i = 0; i <= steps; i++) {
    const w = lo + i * h;
    if (w <= 0) continue;
    const dens = Math.exp(lnC + (df - 1) * Math.log(w) - (w * w) / 2);
    const f = dens * normalUpper(c * (w / root) - delta);
    sum += f * (i === 0 || i === steps ? 1 : i % 2 === 0 ? 2 : 4);
  }
  return Math.min(1, Math.max(0, (sum * h) / 3));
}

/**
 * Power of a t test that is significant in the predicted direction when t ≥ t_{1−side, df}
 * (side = the one-sided level: alpha / 2 for a two-sided test at alpha).
 */
export function tPower(delta: number, df: number, side: number): number {
  return noncentralTUpper(criticalT(side, df), df, delta);
}

const critCache = new Map<string, number>();
/** t_{1−side, df}, cached (power searches ask for the same few many times). */
function criticalT(side: number, df: number): number {
  const key = `${side}|${df}`;
  let c = critCache.get(key);
  if (c === undefined) {
    c = studentTQuantile(1 - side, df);
    if (critCache.size > 4096) critCache.clear();
    critCache.set(key, c);
  }
  return c;
}

/** Noncentrality at which tPower reaches `power`: secant from the normal-theory guess, bracketed. */
export function detectableNoncentrality(df: number, side: number, power = TARGET_POWER): number {
  const f = (d: number) => tPower(d, df, side) - power;
  let a = zUpper(side) + zUpper(1 - power); // normal theory: a little below the t answer
  let fa = f(a);
  let b = a * 1.05 + 0.05;
  let fb = f(b);
  for (let i = 0; i < 30 && Math.abs(fb) > 1e-10; i++) {
    const next = fb === fa ? b + 0.01 : b - (fb * (b - a)) / (fb - fa);
    a = b;
    fa = fb;
    b = Math.max(1e-6, next);
    fb = f(b);
  }
  if (Math.abs(fb) <= 1e-7) return b;
  // Fallback: bisection on a bracket.
  let lo = 0;
  let hi = 1;
  while (f(hi) < 0) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) return Infinity;
  }
  for (let i = 0; i < 60 && hi - lo > 1e-10 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export type Design = 'one-sample' | 'two-sample';

/** Standardised MDE (Cohen's d or dz) at 80% power: n pairs/values (one-sample), or n per side (two-sample). */
export function mdeStandardized(design: Design, n: number, side: number, df?: number): number {
  const dof = df ?? (design === 'one-sample' ? n - 1 : 2 * n - 2);
  const delta = detectableNoncentrality(dof, side);
  return design === 'one-sample' ? delta / Math.sqrt(n) : delta / Math.sqrt(n / 2);
}

/**
 * Smallest n (per point / per side) at which a true standardised effect d gives 80% power; null
 * when d is 0 or not finite, and capped at 1e6 (returned as Infinity beyond).
 */
export function nNeeded(design: Design, d: number, side: number): number | null {
  const a = Math.abs(d);
  if (!(a > 0) || !Number.isFinite(a)) return null;
  const power = (n: number) =>
    design === 'one-sample' ? tPower(a * Math.sqrt(n), n - 1, side) : tPower(a * Math.sqrt(n / 2), 2 * n - 2, side);
  // Normal theory gives n within a few of the answer; walk from there.
  const z = zUpper(side) + zUpper(1 - TARGET_POWER);
  const guess = (design === 'one-sample' ? 1 : 2) * (z / a) ** 2;
  if (guess > 1e6) return Infinity;
  let n = Math.max(2, Math.floor(guess));
  while (n > 2 && power(n - 1) >= TARGET_POWER) n--;
  while (power(n) < TARGET_POWER) n++;
  return n;
}

/** Normal quantile z_{1−q}. */
export function zUpper(q: number): number {
  return criticalT(q, Infinity);
}

/**
 * For rank correlations (Fisher z with variance 1.06/(n − 3)): the smallest |rho| detected with
 * 80% power over n rows, and the rows a true rho would need.
 */
export function rhoMde(n: number, side: number): number {
  if (n <= 3) return 1;
  return Math.tanh((zUpper(side) + zUpper(1 - TARGET_POWER)) * Math.sqrt(1.06 / (n - 3)));
}
export function rhoRowsNeeded(rho: number, side: number): number | null {
  const a = Math.abs(rho);
  if (!(a > 0) || a >= 1) return a >= 1 ? 4 : null;
  return Math.ceil(3 + 1.06 * ((zUpper(side) + zUpper(1 - TARGET_POWER)) / Math.atanh(a)) ** 2);
}

/**
 * Page's L (normal approximation; under the null a block's Spearman rho over k untied values has
 * variance 1/(k − 1)): smallest mean within-block rho detected with 80% power over n blocks, and
 * the blocks a true mean rho would need.
 */
export function pageMde(k: number, blocks: number, side: number): number {
  return Math.min(1, ((zUpper(side) + zUpper(1 - TARGET_POWER)) / Math.sqrt(k - 1)) / Math.sqrt(blocks));
}
export function pageBlocksNeeded(k: number, meanRho: number, side: number): number | null {
  const a = Math.abs(meanRho);
  if (!(a > 0)) return null;
  return Math.max(2, Math.ceil(((zUpper(side) + zUpper(1 - TARGET_POWER)) / (a * Math.sqrt(k - 1))) ** 2));
}
