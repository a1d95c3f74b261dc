// One way of writing numbers and verdicts, shared by the CLI, the Vitest plugin and reports.
import type { CorrectionMethod, Prediction, Value } from '../language/ast.ts';
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

function ciLabel(level: number | undefined): string {
  return `${formatNumber(100 * (level ?? 0.95), 3)}% CI`;
}

/** "seeds 0–9", "seeds 0, 2, 5", "seeds 0–3, 7–9". */
export function formatSeeds(seeds: readonly number[]): string {
  const runs: string[] = [];
  let i = 0;
  while (i < seeds.length) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1) j++;
    runs.push(j > i + 1 ? `${seeds[i]}–${seeds[j]}` : j === i + 1 ? `${seeds[i]}, ${seeds[j]}` : String(seeds[i]));
    i = j + 1;
  }
  const text = runs.length > 6 ? `${runs.slice(0, 6).join(', ')}, …` : runs.join(', ');
  return `seed${seeds.length === 1 ? '' : 's'} ${text}`;
}

/** "10 per point" or "x = 0: 10, x = 1: 9", for verdicts over several sweep points. */
export function formatPerPoint(v: Verdict): string {
  const pts = (v.rows?.points ?? []).filter((p) => p.used > 0);
  if (pts.length < 2) return '';
  const u = pts[0]!.used;
  return pts.every((p) => p.used === u) ? `${u} per point` : pts.map((p) => `${p.label}: ${p.used}`).join(', ');
}

/** "MDE 0.71 (dz 0.996), ~281 seeds needed": what would decide an inconclusive verdict. */
export function formatPower(v: Verdict): string {
  const pw = v.power;
  if (!pw) return '';
  const std = pw.mdeStandardized !== null ? ` (${v.standardized?.name === "Hedges' g" ? 'd' : 'dz'} ${formatNumber(pw.mdeStandardized)})` : '';
  const need = pw.nNeeded === null ? 'no n decides the observed effect of 0' : `~${pw.nNeeded === Infinity ? '> 1e6' : pw.nNeeded} ${pw.unit} needed`;
  const what = pw.mdeStandardized === null && v.effect ? `${v.effect.name} ` : '';
  return `MDE ${what}${formatNumber(pw.mde)}${std}, ${need}`;
}

/**
 * One line with the numbers, e.g.
 * `refuted: paired t(24) = -3.1, mean diff -0.042 [95% CI -0.07, -0.014], dz -0.62, p = 0.0049 (Holm 0.0098), n = 25`.
 * Untested and exact verdicts print their reason instead of the numbers they do not have. Rows
 * that could not be used, and for inconclusive verdicts the MDE and seeds needed, follow.
 */
export function describeVerdict(v: Verdict): string {
  const extra: string[] = [];
  if (v.rowsNote) extra.push(v.rowsNote);
  const powerText = formatPower(v);
  if (powerText) extra.push(powerText);
  if (v.p === null || v.statistic === null) return `${v.outcome}: ${v.reason}`;
  const parts: string[] = [];
  const st = v.statistic;
  const df = st.df !== undefined ? `(${formatDf(st.df)})` : '';
  const merged = v.effect !== null && v.effect.name === st.name;
  if (merged) {
    const e = v.effect!;
    const head = v.test.endsWith(` ${st.name}`) ? v.test : `${v.test} ${st.name}`;
    parts.push(`${head}${df} = ${formatNumber(e.value)} [${ciLabel(e.level)} ${formatNumber(e.ci[0])}, ${formatNumber(e.ci[1])}]`);
  } else {
    const head = st.name === 't' && / t$/.test(v.test) ? `${v.test}${df}` : `${v.test}, ${st.name}${df}`;
    parts.push(`${head} = ${formatNumber(st.value)}`);
    if (v.effect) {
      const e = v.effect;
      parts.push(`${e.name} ${formatNumber(e.value)} [${ciLabel(e.level)} ${formatNumber(e.ci[0])}, ${formatNumber(e.ci[1])}]`);
    }
  }
  const sd = v.standardized;
  if (sd && sd.name !== 'rho' && Number.isFinite(sd.value)) parts.push(`${sd.name === "Cohen's dz" ? 'dz' : sd.name === "Hedges' g" ? 'g' : sd.name} ${formatNumber(sd.value)}`);
  let pText = formatPClause(v.p);
  if (v.mcError) pText += ` (± ${formatNumber(v.mcError, 2)} Monte Carlo)`;
  if (v.pAdjusted !== null && v.correction !== undefined && v.correction !== 'none') {
    pText += ` (${correctionName(v.correction)} ${formatP(v.pAdjusted)})`;
  }
  parts.push(pText);
  const per = formatPerPoint(v);
  const seeds = v.rows && v.rows.seeds.length > 1 && v.test !== 'exact' ? formatSeeds(v.rows.seeds) : '';
  const nNote = [per, seeds].filter(Boolean).join('; ');
  parts.push(`n = ${v.n}${nNote ? ` (${nNote})` : ''}`);
  return `${v.outcome}: ${parts.join(', ')}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
}

/** " [animal = owls, lr = 0.1]" for a `for each` group's values; '' without a group. */
export function groupSuffix(group: Readonly<Record<string, Value>>): string {
  const kv = Object.entries(group);
  return kv.length ? ` [${kv.map(([k, x]) => `${k} = ${String(x)}`).join(', ')}]` : '';
}

/**
 * A verdict's label in test names and tables: the prediction's claim (its `because` rationale is
 * shown apart) and its `for each` group. `Verdict.text` is the same with the rationale.
 */
export function claimLabel(p: Pick<Prediction, 'claim'>, group: Readonly<Record<string, Value>> = {}): string {
  return p.claim + groupSuffix(group);
}
