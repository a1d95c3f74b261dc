import type { CorrectionMethod, Prediction } from '../language/ast.ts';

export type Outcome = 'confirmed' | 'refuted' | 'inconclusive';

/**
 * Every test a verdict can name. The prediction forms' modules (src/verdict/forms/) say which of
 * them each form uses and when; docs/verdicts.md lists them from the same table.
 */
export const TEST_NAMES = [
  'Spearman rho',
  "Page's L",
  'paired t',
  'one-sample t',
  'Welch t',
  'Welch t (peak)',
  'paired t (peak)',
  'TOST',
  'paired TOST',
  'exact',
  'none',
] as const;
export type TestName = (typeof TEST_NAMES)[number];

/** Rows at one sweep point: how many there were, how many the test used, and why not the rest. */
export interface PointRows {
  /** e.g. "lr = 0.01" (or "sweep point 0" without a sweep). */
  label: string;
  total: number;
  used: number;
  nan: number;
  infinite: number;
  /** Metric (or compared column) absent from the row, or not a number. */
  missing: number;
  /** Finite, but left out of a blocked (within-seed) test because its seed has no match. */
  unmatched: number;
  /** Runs at this point that failed (no rows at all). */
  failed: number;
}

/** What would decide an inconclusive verdict. */
export interface PowerInfo {
  /** Minimum detectable effect at 80% power with the n the verdict had, in the effect's units. */
  mde: number;
  /** The same as a standardised effect (Cohen's d / dz, or rho), when it differs from `mde`. */
  mdeStandardized: number | null;
  /** The one-sided level of the side the MDE is computed for (alpha / 2 over the family). */
  level: number;
  /** Seeds per point (or rows, see `unit`) the observed effect would need for 80% power; null when the observed effect is 0. */
  nNeeded: number | null;
  unit: 'seeds per point' | 'seeds' | 'rows';
  /** One sentence, e.g. "MDE at 80% power with 10 seeds: 0.42 (dz = 0.99); the observed 0.12 would need about 68 seeds per point". */
  text: string;
}

export interface Verdict {
  prediction: Prediction;
  /**
   * Index of `prediction` in its experiment's `predictions`: how runtime and reports find a
   * prediction's verdicts (source offsets repeat across files and in hand-built predictions).
   */
  predictionIndex: number;
  /** Prediction source text (plus " [animal = owls]" for a `for each` group). */
  text: string;
  line: number;
  /** Values of the `for each` columns for this group; empty otherwise. */
  group: Record<string, string | number | boolean>;
  outcome: Outcome;
  /** The test used; see TEST_NAMES. (A plain string in verdicts made by hand elsewhere.) */
  test: TestName;
  /** `df` (optional addition): degrees of freedom of a t statistic (fractional for Welch). */
  statistic: { name: string; value: number; df?: number } | null;
  /** Effect size with its CI (e.g. mean difference, rho); `level` of the CI, 0.95 when absent. */
  effect: { name: string; value: number; ci: [number, number]; level?: number } | null;
  p: number | null;
  pAdjusted: number | null;
  n: number;
  /** One sentence a researcher can read: why this outcome, or why it could not be tested. */
  reason: string;
  /** Optional addition: the correction the experiment used (for "p = 0.004 (Holm 0.008)"). */
  correction?: CorrectionMethod;
  /** Optional addition: the alpha the outcome was decided at. */
  alpha?: number;
  /** Standardised effect beside the raw one: Cohen's dz (paired, one-sample), Hedges' g (Welch), rho. */
  standardized?: { name: string; value: number } | null;
  /** Rows per sweep point (used, and why others were not) and the seeds used. */
  rows?: { points: PointRows[]; seeds: number[] };
  /** "3 of 10 rows NaN at lr = 0.01; …", '' when every row was used. */
  rowsNote?: string;
  /** Monte Carlo standard error of p (Monte Carlo permutation p's only). */
  mcError?: number | null;
  /** Inconclusive verdicts: MDE at 80% power and the seeds the observed effect would need. */
  power?: PowerInfo | null;
}
