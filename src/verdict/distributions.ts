// Distribution functions simple-statistics lacks: the regularized incomplete beta function and,
// through it, Student's t CDF, tail and quantile. simple-statistics' Lanczos `gammaln` is used.
import { gammaln } from 'simple-statistics';

/** Standard normal 0.975 quantile, for Fisher-z intervals. */
export const Z_975 = 1.959963984540054;

/** Continued fraction for the incomplete beta (modified Lentz; Numerical Recipes `betacf`). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const FPMIN = 1e-300;
  const EPS = 1e-15;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b), a, b > 0, x in [0, 1]. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new RangeError(`incomplete beta needs a, b > 0 (got a = ${a}, b = ${b})`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(lnFront);
  // The continued fraction converges fast only on this side of the mean; use symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Upper tail of the standard normal, P(Z >= z) (erfc, |rel err| < 1.2e-7). */
export function normalUpper(z: number): number {
  // df = Infinity (the normal limit), Page's L normal approximation, power calculations.
  return 0.5 * erfc(z / Math.SQRT2);
}

/** Complementary error function (Numerical Recipes erfcc, |rel err| < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Upper tail P(T >= t) of Student's t with df degrees of freedom (df > 0, may be fractional). */
export function studentTUpper(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) throw new RangeError(`Student t needs a number and df > 0 (got t = ${t}, df = ${df})`);
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  if (df === Infinity) return normalUpper(t);
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedIncompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/** CDF P(T <= t) of Student's t. */
export function studentTCdf(t: number, df: number): number {
  return studentTUpper(-t, df);
}

/** Two-sided p = P(|T| >= |t|). */
export function studentTTwoSided(t: number, df: number): number {
  return Math.min(1, 2 * studentTUpper(Math.abs(t), df));
}

/** Density of Student's t. */
export function studentTPdf(t: number, df: number): number {
  const ln = gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((t * t) / df);
  return Math.exp(ln);
}

/** Quantile: the t with P(T <= t) = p. Safeguarded Newton inside a bisection bracket. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile needs 0 < p < 1 (got ${p})`);
  if (!(df > 0)) throw new RangeError(`Student t needs df > 0 (got ${df})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  const q = 1 - p; // find t > 0 with upper tail q
  let lo = 0;
  let hi = 1;
  while (studentTUpper(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return Infinity;
  }
  let t = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const f = studentTUpper(t, df) - q; // decreasing in t
    if (f > 0) lo = t;
    else hi = t;
    if (Math.abs(f) < 1e-15 * q || hi - lo <= 1e-14 * hi) break;
    const step = f / studentTPdf(t, df);
    let next = t + step;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    t = next;
  }
  return t;
}
