import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { decode } from '@jridgewell/sourcemap-codec';
import { describe, expect, it } from 'vitest';
import { generateTestModule } from '../../src/vitest/plugin.ts';
import { judgeVerdicts } from '../../src/vitest/runtime.ts';
import type { Verdict } from '../../src/verdict/types.ts';
import type { Prediction } from '../../src/language/ast.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const fixture = 'tests/vitest/fixtures/exp/refuted.exp';
const golden = path.join(here, 'golden/refuted.exp.js');

/** Generated line (0-based) → original line (1-based) of its first segment. */
function lineMap(mappings: string): Map<number, number> {
  const m = new Map<number, number>();
  decode(mappings).forEach((segs, i) => {
    const s = segs[0];
    if (s && s.length >= 4) m.set(i, s[2]! + 1);
  });
  return m;
}

describe('generated test module', () => {
  it('matches the golden file', async () => {
    const source = fs.readFileSync(path.join(root, fixture), 'utf8');
    const out = await generateTestModule(fixture, source, { runtime: 'sublab/vitest/runtime' });
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(golden, out.code);
    expect(out.code).toBe(fs.readFileSync(golden, 'utf8'));
    expect(out.map.sources).toEqual([fixture]);
    expect(out.map.sourcesContent).toEqual([source]);
  });

  it("maps each prediction's it(...) line to the prediction's line and column", async () => {
    const source = fs.readFileSync(path.join(root, fixture), 'utf8');
    const out = await generateTestModule(fixture, source, { runtime: 'x' });
    const lines = out.code.split('\n');
    const map = lineMap(out.map.mappings);
    const its = lines.flatMap((l, i) => (l.trimStart().startsWith('it(') ? [i] : []));
    expect(its.map((i) => map.get(i))).toEqual([12, 13]);
    // The name gets its registration status when the module runs (exp.title), not at transform.
    expect(lines[its[1]!]).toContain('it(exp.title(0, 1, "predict teacher_loss < 0"),');
    const seg = decode(out.map.mappings)[its[1]!]![0]!;
    expect(seg[3]).toBe(2); // column 3, 0-based 2: where `predict` starts
    const describeLine = lines.findIndex((l) => l.startsWith('describe('));
    expect(map.get(describeLine)).toBe(2);
  });

  it('turns a language error into one failing test named after the file, with the diagnostics', async () => {
    const source = 'experiment "bad" {\n  runner superposition\n  set sparsty = 0.5\n  predict teacher_loss > 0\n}\n';
    const out = await generateTestModule('tests/vitest/fixtures/bad.exp', source, { runtime: 'x' });
    const lines = out.code.split('\n');
    const i = lines.findIndex((l) => l.startsWith('it('));
    expect(lines[i]).toMatch(/^it\("tests\/vitest\/fixtures\/bad\.exp", /);
    expect(lines[i]).toContain('tests/vitest/fixtures/bad.exp:3:7: error:');
    expect(lines[i]).toContain('SublabLanguageError');
    expect(lineMap(out.map.mappings).get(i)).toBe(3);
    expect(out.code).not.toContain('expFile');
  });

  it('gives each `for each` group over a swept parameter its own test, minus groups a `where` removes', async () => {
    const source = [
      'experiment "groups" {',
      '  runner superposition',
      '  sweep sparsity in [0.5, 0.9, 0.99]',
      '  sweep variant in [ablated, auxiliary]',
      '  predict teacher_loss > 0 for each sparsity where sparsity != 0.5',
      '  predict teacher_loss > 0 for each variant, sparsity where variant = ablated',
      '}',
      '',
    ].join('\n');
    const out = await generateTestModule('tests/vitest/fixtures/groups.exp', source, { runtime: 'x' });
    const lines = out.code.split('\n');
    const its = lines.filter((l) => l.trimStart().startsWith('it('));
    expect(its.map((l) => /^ {2}it\(exp\.title\(\d+, \d+, ("(?:[^"\\]|\\.)*")\)/.exec(l)![1]).map((n) => JSON.parse(n))).toEqual([
      'predict teacher_loss > 0 for each sparsity where sparsity != 0.5 [sparsity = 0.9]',
      'predict teacher_loss > 0 for each sparsity where sparsity != 0.5 [sparsity = 0.99]',
      'predict teacher_loss > 0 for each variant, sparsity where variant = ablated [variant = ablated, sparsity = 0.5]',
      'predict teacher_loss > 0 for each variant, sparsity where variant = ablated [variant = ablated, sparsity = 0.9]',
      'predict teacher_loss > 0 for each variant, sparsity where variant = ablated [variant = ablated, sparsity = 0.99]',
    ]);
    expect(its[0]).toContain('exp.judge(0, 0, {"sparsity":0.9})');
    const map = lineMap(out.map.mappings);
    expect(lines.flatMap((l, i) => (l.trimStart().startsWith('it(') ? [map.get(i)] : []))).toEqual([5, 5, 6, 6, 6]);
  });

  it('encodes at most one segment per generated line, each pointing into the source', async () => {
    const source = fs.readFileSync(path.join(root, fixture), 'utf8');
    const out = await generateTestModule(fixture, source, { runtime: 'x' });
    const lines = source.split('\n');
    const decoded = decode(out.map.mappings);
    expect(decoded.length).toBeLessThanOrEqual(out.code.split('\n').length);
    expect(decoded.filter((segs) => segs.length > 0).length).toBeGreaterThan(0);
    for (const segs of decoded) {
      expect(segs.length).toBeLessThanOrEqual(1);
      for (const s of segs) {
        expect(s).toHaveLength(4);
        expect(s[1]).toBe(0);
        expect(lines[s[2]!]).toBeDefined();
        expect(s[3]!).toBeLessThanOrEqual(lines[s[2]!]!.length);
      }
    }
  });
});

describe('judging in a test', () => {
  const pred = { text: 'predict a > 0' } as Prediction;
  const v = (outcome: Verdict['outcome'], text = 'predict a > 0'): Verdict => ({
    prediction: pred,
    predictionIndex: 0,
    text,
    line: 3,
    group: {},
    outcome,
    test: 'one-sample t',
    statistic: { name: 't', value: 2.5 },
    effect: { name: 'mean', value: 0.3, ci: [0.1, 0.5] },
    p: 0.01,
    pAdjusted: 0.02,
    n: 5,
    reason: '',
  });

  it('passes confirmed, fails refuted and inconclusive with distinct names, skips inconclusive on request', () => {
    expect(judgeVerdicts('predict a > 0', [v('confirmed')], 'fail')).toEqual({ kind: 'pass' });
    const r = judgeVerdicts('predict a > 0', [v('refuted')], 'fail');
    expect(r).toMatchObject({ kind: 'fail', name: 'Refuted' });
    expect((r as { message: string }).message).toMatch(/^prediction refuted: predict a > 0\n {2}refuted: .*0\.3.*n = 5/);
    const inc = judgeVerdicts('predict a > 0', [v('inconclusive')], 'fail');
    expect(inc).toMatchObject({ kind: 'fail', name: 'Inconclusive' });
    expect((inc as { message: string }).message).toMatch(/^prediction inconclusive: the data cannot decide/);
    expect(judgeVerdicts('predict a > 0', [v('inconclusive')], 'skip')).toMatchObject({ kind: 'skip' });
    expect(judgeVerdicts('predict a > 0', [], 'fail')).toMatchObject({ kind: 'fail', name: 'SublabError' });
  });

  it('reports every failing `for each` group; one refuted group fails the test as refuted', () => {
    const r = judgeVerdicts('predict a > 0 for each k', [v('confirmed', 'predict a > 0 [k = 1]'), v('inconclusive', 'predict a > 0 [k = 2]'), v('refuted', 'predict a > 0 [k = 3]')], 'skip');
    expect(r).toMatchObject({ kind: 'fail', name: 'Refuted' });
    const msg = (r as { message: string }).message;
    expect(msg).toContain('(2 of 3 groups)');
    expect(msg).toContain('predict a > 0 [k = 2]: inconclusive');
    expect(msg).toContain('predict a > 0 [k = 3]: refuted');
    expect(msg).not.toContain('[k = 1]');
  });
});

describe('Vitest end to end', () => {
  it('runs an .exp file as a test file: counts, refuted message and the .exp line of the failure', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-vitest-'));
    const report = path.join(cache, 'report.json');
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.config.ts', '--reporter=json', `--outputFile=${report}`], {
        cwd: path.join(here, 'fixtures'),
        env: { ...process.env, SUBLAB_CACHE: cache, CI: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(1);
      const j = JSON.parse(fs.readFileSync(report, 'utf8'));
      expect([j.numTotalTests, j.numPassedTests, j.numFailedTests]).toEqual([2, 1, 1]);
      const tests = j.testResults[0].assertionResults;
      expect(tests.map((t: { ancestorTitles: string[]; title: string; status: string }) => [t.ancestorTitles[0], t.title, t.status])).toEqual([
        // The fixture has no sublab.lock: nothing is registered, and the names say so.
        ['tiny superposition', 'predict teacher_loss > 0 [not registered]', 'passed'],
        ['tiny superposition', 'predict teacher_loss < 0 [not registered]', 'failed'],
      ]);
      const msg: string = tests[1].failureMessages[0];
      expect(msg).toMatch(/^Refuted: prediction refuted: predict teacher_loss < 0 because "deliberately wrong/);
      expect(msg).toMatch(/one-sample t/);
      // The first stack frame is the prediction's line in the .exp file.
      expect(msg.split('\n').find((l) => l.trim().startsWith('at '))).toMatch(/fixtures\/exp\/refuted\.exp:13:3$/);
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }, 120_000);
});
