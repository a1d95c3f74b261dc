import { describe, expect, it } from 'vitest';
import { formatCi, formatDuration, formatMeanCi, formatNumber, formatP } from '../../src/report/format.ts';
import { summarize } from '../../src/exec/summary.ts';
import { slugify } from '../../src/report/model.ts';
import { claimLabel } from '../../src/verdict/format.ts';
import { parseSource } from '../../src/language/parse.ts';

describe('report number formatting', () => {
  it('mean ± CI rounds the mean to the half-width’s second significant digit', () => {
    expect(formatMeanCi(0.87341, 0.01234)).toBe('0.873 ± 0.012');
    expect(formatMeanCi(12.345, 1.5)).toBe('12.3 ± 1.5');
    expect(formatMeanCi(1234.5, 250)).toBe('1235 ± 250');
    expect(formatMeanCi(0.5, null)).toBe('0.5');
    expect(formatMeanCi(0.5, 0)).toBe('0.5 ± 0');
  });

  it('shares the verdict formatter for plain numbers and p-values', () => {
    expect(formatP(0.0004)).toBe('< 0.001');
    expect(formatP(0.0491)).toBe('0.049');
    expect(formatNumber(0.00012345)).toBe('0.000123');
    expect(formatCi([0.5912, 0.9655])).toBe('[0.591, 0.966]');
  });

  it('t-based 95% CI half-width matches a hand computation', () => {
    // [1,2,3,4]: mean 2.5, sd 1.2910, t(0.975, 3) = 3.182446 → half = 3.182446 · 1.2910 / 2 = 2.05426
    const s = summarize([1, 2, 3, 4]);
    expect(s.mean).toBe(2.5);
    expect(s.n).toBe(4);
    expect(s.half!).toBeCloseTo(2.05426, 4);
    expect(summarize([3]).half).toBeNull();
    expect(summarize([NaN, 2, 4]).n).toBe(2);
  });

  it('durations: one format for reports and write-ups (the committed reports print these)', () => {
    expect([251, 4, 3870, 3013, 45_234, 1_943_400].map(formatDuration)).toEqual(['251 ms', '4 ms', '3.87 s', '3.01 s', '45 s', '32 min 23 s']);
    expect([999.7, 9_996, 59_600, 7_530_000].map(formatDuration)).toEqual(['1 s', '10 s', '1 min 0 s', '2 h 5 min']);
    expect([NaN, Infinity, -1].map(formatDuration)).toEqual(['—', '—', '—']);
  });

  it('slugs and because-stripped prediction text', () => {
    // ß has no a-z spelling: the slug gets a short hash of the name (two such names never collide).
    expect(slugify('Weight decay: 1e-3 | <ß> & Co.')).toMatch(/^weight-decay-1e-3-co-[0-9a-f]{8}$/);
    expect(slugify('***')).toBe('experiment');
    const src = [
      'experiment "e" {',
      '  runner superposition',
      '  predict child_loss < 1 for each sparsity because "why"',
      '  predict child_loss < 2 // a comment\n    because "a \\"because\\" inside"',
      '  predict child_loss < 3 where sparsity = 0.5',
      '}',
      '',
    ].join('\n');
    const [p, q, r] = parseSource(src, 'x.exp').ast.experiments[0]!.predictions;
    // The claim comes from the AST (the `because` clause is a node), not from the text.
    expect(claimLabel(p!)).toBe('predict child_loss < 1 for each sparsity');
    expect(claimLabel(p!, { sparsity: 0.5 })).toBe('predict child_loss < 1 for each sparsity [sparsity = 0.5]');
    expect(q!.text).toBe('predict child_loss < 2 because "a \\"because\\" inside"');
    expect(claimLabel(q!)).toBe('predict child_loss < 2');
    expect(r!.claim).toBe(r!.text);
  });
});

describe('report model', () => {
  it('groups failed runs by error and says when no results exist', async () => {
    const { buildExperimentReport } = await import('../../src/report/model.ts');
    const { renderReport } = await import('../../src/report/render.ts');
    const { fixtureInput } = await import('./fixture.ts');
    const { input } = fixtureInput();
    const params = (s: number) => ({ ...input.experiment.params, sparsity: s });
    const table = {
      ...input.table,
      rows: [],
      // Failed runs keep the runner's raw error; the report names the runs itself.
      failed: [
        { runId: 'a', point: 0, seed: 0, params: params(0), error: 'out of memory' },
        { runId: 'b', point: 1, seed: 0, params: params(0.5), error: 'out of memory' },
        { runId: 'c', point: 2, seed: 1, params: params(0.9), error: 'NaN loss' },
      ],
    };
    const rep = await buildExperimentReport({ ...input, table, verdicts: [] }, {
      statuses: () => [],
      sublabVersion: '0',
      git: { commit: null, dirty: null },
      machine: { os: 'x', cpu: 'y', cores: 1 },
      date: 'd',
    });
    expect(rep.failed).toEqual([
      { params: 'sparsity = 0, seed 0; sparsity = 0.5, seed 0', error: 'out of memory' },
      { params: 'sparsity = 0.9, seed 1', error: 'NaN loss' },
    ]);
    expect(rep.provenance.gitCommit).toBe('not a git repository');
    expect(rep.exploratory.map((r) => r.outcome)).toEqual(['not judged', 'not judged', 'not judged']);
    const md = [...renderReport({ sublabVersion: '0', generatedAt: 'd', experiments: [rep] }, 'md').values()][0]!;
    expect(md).toContain('No results: every run failed');
    expect(md).toContain('- sparsity = 0, seed 0; sparsity = 0.5, seed 0: out of memory');
  });
  it('a metric no run computed is said to be not computed, never shown as an empty column, and gets no chart', async () => {
    const { buildExperimentReport, NOT_COMPUTED } = await import('../../src/report/model.ts');
    const { renderReport } = await import('../../src/report/render.ts');
    const { fixtureInput } = await import('./fixture.ts');
    const { input } = fixtureInput();
    // The runs computed transfer_ratio and init_ratio only (a runner asked for part of its metrics).
    const rows = input.table.rows.map((r) => ({ ...r, metrics: { transfer_ratio: r.metrics.transfer_ratio!, init_ratio: r.metrics.init_ratio! } }));
    const rep = await buildExperimentReport({ ...input, table: { ...input.table, rows } }, {
      statuses: () => [], sublabVersion: '0', git: { commit: null, dirty: null }, machine: { os: 'x', cpu: 'y', cores: 1 }, date: 'd',
    });
    expect(rep.notComputed).toEqual(['child_loss']);
    const col = rep.sweepTable.metrics.indexOf('child_loss');
    expect(rep.sweepTable.rows.map((r) => r.cells[col])).toEqual([NOT_COMPUTED, NOT_COMPUTED, NOT_COMPUTED]);
    expect(rep.charts.map((c) => c.metric)).not.toContain('child_loss');
    for (const format of ['md', 'html', 'tex'] as const) {
      const text = [...renderReport({ sublabVersion: '0', generatedAt: 'd', experiments: [rep] }, format).values()][0]!;
      expect(text, format).toMatch(/Not computed in these runs: (`|<code>|\\texttt\{)child/);
    }
    // A value that is there but NaN is a result (unusable), not "not computed".
    const nan = input.table.rows.map((r) => ({ ...r, metrics: { ...r.metrics, child_loss: NaN } }));
    const rep2 = await buildExperimentReport({ ...input, table: { ...input.table, rows: nan } }, {
      statuses: () => [], sublabVersion: '0', git: { commit: null, dirty: null }, machine: { os: 'x', cpu: 'y', cores: 1 }, date: 'd',
    });
    expect(rep2.notComputed).toEqual([]);
  });
});
