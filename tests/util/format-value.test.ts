// One text for a parameter value wherever it is shown: the run table, override lines, failure lines,
// verdict texts and charts (each of which once had its own, and `sublab run` rounded).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatValue } from '../../src/util/format-value.ts';
import { formatExperiment, formatResultTable } from '../../src/cli/run.ts';
import { chartData } from '../../src/report/charts.ts';
import { formatValue as verdictFormat } from '../../src/verdict/rows.ts';
import { describeRun } from '../../src/results/types.ts';
import { planFile } from '../../src/exec/session.ts';
import type { ExperimentResult } from '../../src/exec/run-file.ts';

describe('formatValue', () => {
  it('numbers exactly (no rounding), strings as they are, booleans as words', () => {
    expect(formatValue(0.125)).toBe('0.125');
    expect(formatValue(0.12)).toBe('0.12');
    expect(formatValue(0.1234)).not.toBe(formatValue(0.1236));
    expect(formatValue(0.12345678)).toBe('0.12345678');
    expect(formatValue(1e-7)).toBe('1e-7');
    expect(formatValue(1234567)).toBe('1234567');
    expect(formatValue(-2.5)).toBe('-2.5');
    expect(formatValue(3)).toBe('3');
    expect(formatValue('ablated')).toBe('ablated');
    expect(formatValue('two words')).toBe('two words');
    expect(formatValue(true)).toBe('true');
    expect(formatValue(false)).toBe('false');
  });

  it('the run table, override line, failure line, verdict texts and charts all show the same text', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-fmtvalue-'));
    try {
      fs.writeFileSync(path.join(dir, 'p.mjs'), 'process.stdout.write("{}\\n");\n');
      fs.writeFileSync(
        path.join(dir, 'v.exp'),
        'experiment "values" {\n  runner command\n  set command = "node p.mjs"\n  set variant = "a b"\n  sweep lr in [0.1234, 0.1236]\n  seeds 1\n  measure score\n}\n',
      );
      const plan = planFile(path.join(dir, 'v.exp'), { overrides: { variant: 'c d' } }).plans[0]!;
      const r: ExperimentResult = { experiment: plan.experiment, plan, table: { experiment: 'values', file: plan.experiment.file, rows: [], failed: [], extras: {} }, verdicts: [], wallMs: 1, cacheHits: 0 };
      const lines = formatResultTable(r).split('\n');
      expect(lines.filter((l) => /^ +0\.1234 /.test(l))).toHaveLength(1);
      expect(lines.filter((l) => /^ +0\.1236 /.test(l))).toHaveLength(1);
      expect(formatExperiment(r, 'v.exp')).toContain('override: variant = c d (from --set)');
      expect(describeRun(plan.runs[1]!, ['lr'])).toContain('(lr = 0.1236, seed 0)');
      expect(verdictFormat(0.1236)).toBe('0.1236');
      const rows = [0.1234, 0.1236].map((lr, point) => ({ runId: String(point), point, seed: 0, params: { lr }, metrics: { score: 1 }, keys: {}, backend: 't', wallMs: 1, cached: false, finishedAt: '', firstAt: '' }));
      expect(chartData([{ name: 'lr', values: [0.1234, 0.1236] }], ['score'], rows)[0]!.points.map((p) => p.x)).toEqual(['0.1234', '0.1236']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
