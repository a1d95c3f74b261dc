// The one mean ± 95% CI: pinned to the last bit (the committed reports' chart coordinates are
// computed from it), and the same value from the CLI's route (per sweep point) and the report's.
import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/exec/summary.ts';

describe('summarize', () => {
  it('mean and t-based half-width of the finite values, as pinned', () => {
    expect(summarize([0.905, 0.9, 0.91, 0.899, 0.902, 0.9071, NaN, 0.33333])).toEqual({ n: 7, mean: 0.8223471428571428, half: 0.19946299840809573 });
    expect(summarize([Infinity, 1])).toEqual({ n: 1, mean: 1, half: null });
    expect(summarize([])).toEqual({ n: 0, mean: NaN, half: null });
  });
});
