// "What would decide it" before anything runs: the smallest p each prediction can reach with the
// planned rows, and the warnings `sublab check` and `sublab plan` print.
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { undecidablePredictions } from '../../src/verdict/decidable.ts';

function warnings(body: string): string[] {
  const r = compileFile('t.exp', { source: `experiment "t" {\n  runner command\n  set command = "node x.mjs"\n${body}\n}\n` });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const exp = r.experiments[0]!;
  return undecidablePredictions(exp, planExperiment(exp).runs).map((d) => `${d.line}: ${d.message}`);
}

describe('undecidable predictions', () => {
  it('a trend over 3 rows: smallest exact p 1/3, and how many seeds would do', () => {
    expect(warnings('  sweep x in [1, 2, 3]\n  seeds 1\n  measure y\n  predict y increases with x')).toEqual([
      '7: prediction can never be decided: the smallest p Spearman rho over 3 rows (3 values of x) can reach is 0.33 > alpha = 0.05; with ≥ 3 seeds per point the smallest p is 0.0093',
    ]);
  });
  it('a trend over 4 rows: 1/12', () => {
    expect(warnings('  sweep x in [1, 2, 3, 4]\n  seeds 1\n  measure y\n  predict y increases with x')[0]).toMatch(/can reach is 0.083 > alpha/);
  });
  it('n = 5 under Holm over 4 predictions: 2/120 × 4 = 0.067, nothing survives', () => {
    const w = warnings('  sweep x in [1, 2, 3, 4, 5]\n  seeds 1\n  measure a, b, c, d\n  predict a increases with x\n  predict b increases with x\n  predict c increases with x\n  predict d increases with x');
    expect(w).toHaveLength(4);
    expect(w[0]).toMatch(/0.017, × 4 predictions under Holm = 0.067 > alpha = 0.05, so it can never be decided \(no prediction of this experiment can pass Holm's first step\)/);
  });
  it('a single seed where a t test compares', () => {
    expect(warnings('  sweep x in [1, 2]\n  seeds 1\n  measure y\n  predict y > 0')).toEqual([
      '7: prediction can never be decided: only 1 seed where it compares, and a t test needs ≥ 2; with ≥ 2 seeds per point it can be tested',
    ]);
  });
  it("enough seeds: no warning (Page's L over 10 seeds × 4 values reaches 2 / 24^10)", () => {
    expect(warnings('  sweep x in [1, 2, 3, 4]\n  seeds 10\n  measure y\n  predict y increases with x\n  predict y > 0\n  predict y peaks in x')).toEqual([]);
  });
  it('2 seeds × 3 values: the blocked trend floor is 2 / 6² = 0.056', () => {
    expect(warnings('  sweep x in [1, 2, 3]\n  seeds 2\n  measure y\n  predict y increases with x')[0]).toMatch(/Page's L over 2 seeds × 3 values of x can reach is 0.056 > alpha = 0.05; with ≥ 3 seeds the smallest p is 0.0093/);
  });
});
