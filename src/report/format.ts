// Number formatting for reports, the same in markdown, HTML, LaTeX and the terminal.

// Plain numbers and p-values come from the verdict module's shared formatter (2 significant digits,
// `< 0.001`); this file adds what only reports print: mean ± CI, intervals.
import { formatNumber, formatP, formatPClause } from '../verdict/format.ts';
export { formatNumber, formatP, formatPClause };

/**
 * `mean ± half`, the half-width to 2 significant digits and the mean to the same decimal place
 * (so the mean shows no digits the interval cannot support). No interval (n = 1): the mean alone.
 */
export function formatMeanCi(mean: number, half: number | null): string {
  if (!Number.isFinite(mean)) return formatNumber(mean);
  if (half === null || !Number.isFinite(half)) return formatNumber(mean);
  if (half === 0) return `${formatNumber(mean)} ± 0`;
  const decimals = Math.max(0, 1 - Math.floor(Math.log10(Math.abs(half))));
  if (decimals > 8 || Math.abs(mean) >= 1e6) return `${formatNumber(mean)} ± ${formatNumber(half, 2)}`;
  return `${mean.toFixed(decimals)} ± ${half.toFixed(decimals)}`;
}

/** `[lo, hi]` with formatNumber. */
export function formatCi(ci: readonly [number, number] | null | undefined): string {
  if (!ci) return '—';
  return `[${formatNumber(ci[0])}, ${formatNumber(ci[1])}]`;
}
