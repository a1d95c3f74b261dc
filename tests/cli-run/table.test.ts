// The terminal table of `sublab run`: by default the metrics the predictions (and `measure` lines)
// use, every metric with --all-metrics. Results are made up (the write-up fixture's cache): nothing runs.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatResultTable, parseRunArgs } from '../../src/cli/run.ts';
import { cachedTable } from '../../src/cli/writeup.ts';
import { ResultCache } from '../../src/exec/cache.ts';
import type { ExperimentResult } from '../../src/exec/run-file.ts';
import { planFile } from '../../src/exec/session.ts';
import { displayedMetrics, predictedMetrics } from '../../src/exec/summary.ts';
import { makeWriteupFixture } from '../report/writeup-fixture.ts';

function result(file: string): ExperimentResult {
  const fx = makeWriteupFixture();
  const plan = planFile(path.join(fx.dir, file)).plans[0]!;
  const { table } = cachedTable(plan, new ResultCache(fx.cache), () => {});
  return { experiment: plan.experiment, plan, table, verdicts: [], wallMs: 1, cacheHits: table.rows.length };
}

describe('sublab run table', () => {
  it('shows the predicted metrics only, and says how many more there are', () => {
    const r = result('sparsity.exp');
    // sparsity.exp predicts transfer_ratio, transfer_cosine and teacher_features_per_dim; it inherits
    // base.exp's measures (all 7, no measure line) but not its predictions.
    expect(predictedMetrics(r.experiment.predictions)).toEqual(['transfer_ratio', 'transfer_cosine', 'teacher_features_per_dim']);
    expect(displayedMetrics(r.experiment)).toEqual(['teacher_features_per_dim', 'transfer_ratio', 'transfer_cosine']);
    const text = formatResultTable(r);
    const head = text.split('\n')[0]!;
    expect(head).toMatch(/sparsity +│ +teacher_features_per_dim +│ +transfer_ratio +│ +transfer_cosine/);
    expect(head).not.toContain('child_loss');
    expect(text).toContain('(4 more metrics not shown: --all-metrics, --json or sublab report)');
    expect(text.split('\n').filter((l) => /^ +0\.99 /.test(l))).toHaveLength(1);
  });

  it('--all-metrics: every measured metric', () => {
    expect(parseRunArgs([path.join(makeWriteupFixture().dir, 'base.exp'), '--all-metrics']).allMetrics).toBe(true);
    const text = formatResultTable(result('sparsity.exp'), true);
    for (const m of ['teacher_features_per_dim', 'child_features_per_dim', 'transfer_ratio', 'transfer_cosine', 'init_ratio', 'teacher_loss', 'child_loss']) expect(text.split('\n')[0]).toContain(m);
    expect(text).not.toContain('more metric');
  });
});
