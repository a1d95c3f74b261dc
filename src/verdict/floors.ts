// The smallest p a test can reach on planned rows, before anything runs: what the forms'
// `floor` handlers are made of (src/verdict/decidable.ts turns floors into warnings).
import type { ResultRow } from '../results/types.ts';
import { EXACT_ARRANGEMENTS_MAX, MONTE_CARLO_PERMUTATIONS, logArrangements } from './permutation.ts';
import { EXACT_SPEARMAN_MAX_N } from './stats.ts';

export interface Floor {
  /** Smallest two-sided p the prediction's test can reach with these rows (0: no floor). */
  minP: number;
  /** The test that sets the floor, in words. */
  test: string;
  /** What would lower it, e.g. "with ≥ 3 seeds per point the smallest p is 0.0022". */
  change: string;
}

/** Smallest two-sided p of a pooled Spearman rho over rows whose X has these tie-group sizes. */
export function pooledFloor(sizes: number[], untiedAbove9: boolean): number {
  const n = sizes.reduce((a, b) => a + b, 0);
  if (n > EXACT_SPEARMAN_MAX_N && untiedAbove9) return 0; // t approximation: no floor
  const logCount = logArrangements(sizes);
  if (logCount > Math.log(EXACT_ARRANGEMENTS_MAX)) return 2 / (MONTE_CARLO_PERMUTATIONS + 1);
  return Math.min(1, 2 / Math.round(Math.exp(logCount)));
}

/** The floor of a t test on seeded rows: none can be computed when a cell it compares has one row. */
export const ONE_SEED_TEST = 'a t test with 1 seed where it compares';

/** A t test comparing these cells of rows (seeded runners only): a cell of one row can never be tested. */
export function tTestFloor(cells: readonly (readonly ResultRow[])[]): Floor | null {
  const few = cells.filter((c) => c.length > 0).reduce((a, c) => Math.min(a, c.length), Infinity);
  return few < 2 ? { minP: 1, test: ONE_SEED_TEST, change: 'with ≥ 2 seeds per point it can be tested' } : null;
}
