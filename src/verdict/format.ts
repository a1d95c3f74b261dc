// One way of writing numbers and verdicts, shared by the CLI, the Vitest plugin and reports.
import type { CorrectionMethod } from '../language/ast.ts';
import type { Verdict } from './types.ts';

function trimMantissa(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/**
 * A number with `digits` significant digits (default 3), trailing zeros dropped: 0.042, -3.1, 24,
 * 1234 (never rounded to "1200" in exponent form), 3e-4 / 2.5e+6 outside [1e-4, 1e6).
 */
export function formatNumber(x: number, digits = 3): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) {
    const [m, e] = x.toExponential(digits - 1).split('e');
    return `${trimMantissa(m!)}e${e!.replace('+', '')}`;
  }
  if (a >= 10 ** digits) return String(Math.round(x));
  const s = String(Number(x.toPrecision(digits)));
  return s === '-0' ? '0' : s;
}

/** A p-value: "0.0049", "0.43", "1", "< 0.001", or "n/a" for null. */
export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return 'n/a';
  if (p < 0.001) return '< 0.001';
  return formatNumber(p, 2);
}

/** "p = 0.0049" or "p < 0.001". */
export function formatPClause(p: number | null | undefined, name = 'p'): string {
  const s = formatP(p);
  return s.startsWith('<') ? `${name} ${s}` : `${name} = ${s}`;
}

export function correctionName(method: CorrectionMethod): string {
  return method === 'holm' ? 'Holm' : method === 'bonferroni' ? 'Bonferroni' : 'uncorrected';
}

/** Degrees of freedom: integers as is, Welch's fractional df with one decimal. */
export function formatDf(df: number): string {
  return Number.isInteger(df) ? String(df) : String(Math.round(df * 10) / 10);
}

/**
 * One line with the numbers, e.g.
 * `refuted: paired t(24) = -3.1, mean diff -0.042 [95% CI -0.07, -0.014], p = 0.0049 (Holm 0.0098), n = 25`.
 * Untested and exact verdicts print their reason instead of the numbers they do not have.
 */
export function describeVerdict(v: Verdict): string {
  if (v.p === null || v.statistic === null) return `${v.outcome}: ${v.reason}`;
  const parts: string[] = [];
  const st = v.statistic;
  const df = st.df !== undefined ? `(${formatDf(st.df)})` : '';
  const merged = v.effect !== null && v.effect.name === st.name;
  if (merged) {
    const e = v.effect!;
    const head = v.test.endsWith(` ${st.name}`) ? v.test : `${v.test} ${st.name}`;
    parts.push(`${head}${df} = ${formatNumber(e.value)} [95% CI ${formatNumber(e.ci[0])}, ${formatNumber(e.ci[1])}]`);
  } else {
    const head = st.name === 't' && / t$/.test(v.test) ? `${v.test}${df}` : `${v.test}, ${st.name}${df}`;
    parts.push(`${head} = ${formatNumber(st.value)}`);
    if (v.effect) {
      const e = v.effect;
      parts.push(`${e.name} ${formatNumber(e.value)} [95% CI ${formatNumber(e.ci[0])}, ${formatNumber(e.ci[1])}]`);
    }
  }
  let pText = formatPClause(v.p);
  if (v.pAdjusted !== null && v.correction !== undefined && v.correction !== 'none') {
    pText += ` (${correctionName(v.correction)} ${formatP(v.pAdjusted)})`;
  }
  parts.push(pText);
  parts.push(`n = ${v.n}`);
  return `${v.outcome}: ${parts.join(', ')}`;
}
