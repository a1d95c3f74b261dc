import type { Prediction } from '../language/ast.ts';

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
  statistic: { name: string; value: number } | null;
  /** Effect size with its 95% CI (e.g. mean difference, rho). */
  effect: { name: string; value: number; ci: [number, number] } | null;
  p: number | null;
  pAdjusted: number | null;
  n: number;
  /** One sentence a researcher can read: why this outcome, or why it could not be tested. */
  reason: string;
}
