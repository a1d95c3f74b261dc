// A verdict names its prediction by index, assigned once in judgeExperiment; the Vitest runtime and
// the report find a prediction's verdicts by that index. Hand-built predictions all have offset 0
// (and here the same line), so matching by source location would mix these two up.
import { describe, expect, it } from 'vitest';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import { verdictsOf } from '../../src/vitest/runtime.ts';
import { buildExperimentReport } from '../../src/report/model.ts';
import { compare, experiment, konst, metric, predict, table } from './helpers.ts';

function twoAtOneSpot() {
  // Same line, same offset: only their position in the experiment tells them apart.
  const above = predict(compare(metric('y'), '>', konst(0)), { text: 'predict y > 0', line: 7 });
  const below = predict(compare(metric('y'), '<', konst(0)), { text: 'predict y < 0', line: 7 });
  expect([above.loc.offset, above.loc.line]).toEqual([below.loc.offset, below.loc.line]);
  const exp = experiment([above, below]);
  const t = table([1.1, 0.9, 1.3, 1.0, 1.2].map((y, seed) => ({ seed, metrics: { y } })));
  return { exp, t, verdicts: judgeExperiment(exp, t) };
}

describe('which prediction a verdict belongs to', () => {
  it('judgeExperiment gives each verdict the index of its prediction', () => {
    const { verdicts } = twoAtOneSpot();
    expect(verdicts.map((v) => [v.predictionIndex, v.text, v.outcome])).toEqual([
      [0, 'predict y > 0', 'confirmed'],
      [1, 'predict y < 0', 'refuted'],
    ]);
  });

  it('the Vitest runtime takes each prediction its own verdict', () => {
    const { verdicts } = twoAtOneSpot();
    expect(verdictsOf(verdicts, 0).map((v) => v.outcome)).toEqual(['confirmed']);
    expect(verdictsOf(verdicts, 1).map((v) => v.outcome)).toEqual(['refuted']);
    expect(verdictsOf(verdicts, 2)).toEqual([]);
  });

  it('the report gives each prediction one row, with its own verdict', async () => {
    const { exp, t, verdicts } = twoAtOneSpot();
    const rep = await buildExperimentReport(
      { experiment: exp, table: t, verdicts, wallMs: 1, cacheHits: 0 },
      { statuses: () => [], sublabVersion: '0', git: { commit: null, dirty: null }, machine: { os: 'x', cpu: 'x', cores: 1 }, date: '2026-01-01T00:00:00.000Z' },
    );
    const rows = [...rep.confirmatory, ...rep.exploratory];
    expect(rows.map((r) => [r.text, r.outcome])).toEqual([
      ['predict y > 0', 'confirmed'],
      ['predict y < 0', 'refuted'],
    ]);
  });
});
