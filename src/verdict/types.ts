import type { CorrectionMethod, Prediction } from '../language/ast.ts';

export type Outcome = 'confirmed' | 'refuted' | 'inconclusive';

export interface Verdict {
  prediction: Prediction;
  /** Prediction source text (plus " [animal = owls]" for a `for each` group). */
  text: string;
  line: number;
  /** Values of the `for each` columns for this group; empty otherwise. */
  group: Record<string, string | number | boolean>;
  outcome: Outcome;
  /** e.g. "Spearman rho", "paired t", "Welch t", "one-sample t", "TOST", "exact". */
  test: string;
  /** `df` (optional addition): degrees of freedom of a t statistic (fractional for Welch). */
  statistic: { name: string; value: number; df?: number } | null;
  /** Effect size with its 95% CI (e.g. mean difference, rho). */
  effect: { name: string; value: number; ci: [number, number] } | null;
  p: number | null;
  pAdjusted: number | null;
  n: number;
  /** One sentence a researcher can read: why this outcome, or why it could not be tested. */
  reason: string;
  /** Optional addition: the correction the experiment used (for "p = 0.004 (Holm 0.008)"). */
  correction?: CorrectionMethod;
  /** Optional addition: the alpha the outcome was decided at. */
  alpha?: number;
}
