// The one mean ± 95% CI: pinned to the last bit (the committed reports' chart coordinates are
// computed from it), and the same value on the CLI's route (`sublab run`'s table, per sweep point)
// and the report's (its sweep table), both computed here from the raw column.
import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/exec/summary.ts';
import { formatResultTable } from '../../src/cli/run.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { formatNumber } from '../../src/verdict/format.ts';
import { formatMeanCi } from '../../src/report/format.ts';
import { fixtureInput, fixtureModel } from '../report/fixture.ts';

describe('summarize', () => {
  it('mean and t-based half-width of the finite values, as pinned', () => {
    expect(summarize([0.905, 0.9, 0.91, 0.899, 0.902, 0.9071, NaN, 0.33333])).toEqual({ n: 7, mean: 0.8223471428571428, half: 0.19946299840809573 });
    expect(summarize([Infinity, 1])).toEqual({ n: 1, mean: 1, half: null });
    expect(summarize([])).toEqual({ n: 0, mean: NaN, half: null });
  });

  it("the CLI's run table and the report's sweep table both show summarize of each point's column", async () => {
    const { input } = fixtureInput();
    const e = input.experiment;
    const plan = planExperiment(e);
    const cli = formatResultTable({ ...input, plan }, true);
    const report = (await fixtureModel()).experiments[0]!.sweepTable;
    expect(report.metrics).toEqual(e.measures);
    plan.points.forEach((point, i) => {
      const rows = input.table.rows.filter((r) => r.point === point.index);
      e.measures.forEach((m, j) => {
        const s = summarize(rows.map((r) => r.metrics[m] ?? NaN));
        expect(s.n).toBe(4);
        expect(cli).toContain(`${formatNumber(s.mean)} ± ${formatNumber(s.half!)} (${s.n})`);
        expect(report.rows[i]!.cells[j]).toBe(formatMeanCi(s.mean, s.half));
      });
    });
  });
});
