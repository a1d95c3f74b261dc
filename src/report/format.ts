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

/**
 * A duration for reports and write-ups: "251 ms", "3.87 s" (3 significant digits under 10 s, where
 * a run's time is told apart), then whole units: "45 s", "32 min 23 s", "2 h 5 min"; "—" when unknown.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Number(formatNumber(ms / 1000)) < 10) return `${formatNumber(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** `[lo, hi]` with formatNumber. */
export function formatCi(ci: readonly [number, number] | null | undefined): string {
  if (!ci) return '—';
  return `[${formatNumber(ci[0])}, ${formatNumber(ci[1])}]`;
}
