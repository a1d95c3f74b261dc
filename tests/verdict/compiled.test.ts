// The judge on experiments produced by the real compiler (parser + checker), so the AST shapes the
// judge relies on (where, at, for each, source lines and text) are the ones .exp files produce.
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import { describeVerdict } from '../../src/verdict/format.ts';
import { table, type RowSpec } from './helpers.ts';

const SOURCE = `experiment "superposition transfer" {
  runner superposition
  sweep sparsity in [0, 0.5, 0.9]
  seeds 4
  predict transfer_ratio increases with sparsity
  predict transfer_ratio > init_ratio where sparsity >= 0.5
  predict transfer_ratio at sparsity = 0.9 > transfer_ratio at sparsity = 0
  predict child_loss is flat in sparsity within 0.5
  predict transfer_ratio peaks in sparsity
  predict teacher_loss < 1 for each sparsity
}
`;

describe('verdicts for a compiled .exp file', () => {
  it('judges every prediction with its line and text', () => {
    const compiled = compileFile('superposition.exp', { source: SOURCE });
    expect(compiled.diagnostics).toEqual([]);
    const exp = compiled.experiments[0]!;
    const wobble = [-0.03, 0.01, 0.02, 0];
    const rows: RowSpec[] = [];
    [0, 0.5, 0.9].forEach((sparsity, p) =>
      wobble.forEach((w, s) =>
        rows.push({
          point: p,
          seed: 10 * p + s, // a different seed at each point: the unpaired tests (blocked ones: blocked.test.ts)
          params: { ...exp.params, sparsity },
          metrics: { transfer_ratio: [0.1, 0.5, 0.9][p]! + w, init_ratio: 0.05 - w, child_loss: 0.2 + w, teacher_loss: 0.1 + w },
        }),
      ),
    );
    const verdicts = judgeExperiment(exp, table(rows));
    expect(verdicts.map((v) => [v.line, v.outcome, v.test])).toEqual([
      [5, 'confirmed', 'Spearman rho'],
      [6, 'confirmed', 'paired t'],
      [7, 'confirmed', 'Welch t'],
      [8, 'confirmed', 'TOST'],
      [9, 'refuted', 'Welch t (peak)'],
      [10, 'confirmed', 'one-sample t'],
      [10, 'confirmed', 'one-sample t'],
      [10, 'confirmed', 'one-sample t'],
    ]);
    expect(verdicts[5]!.text).toBe('predict teacher_loss < 1 for each sparsity [sparsity = 0]');
    expect(verdicts[1]!.n).toBe(8); // two sweep points × 4 seeds
    expect(verdicts[1]!.reason).toMatch(/at 2 sweep points/);
    for (const v of verdicts) expect(describeVerdict(v)).toMatch(/^(confirmed|refuted): .*n = \d+( \((\d+ per point; )?seeds [\d–, ]+\))?$/);
  });
});
