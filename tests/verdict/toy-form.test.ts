// A new prediction form needs its module and nothing else: a toy form, `Y within d` ("the mean of Y
// lies within ±d of 0"), is registered on the forms table from this test alone, with existing
// tokens (Name, Within, NumberLit), and is parsed, checked, locked, warned about, run for real,
// judged, shown in the run table and in the report. What it does not prove: that a form needs no
// new token (a form with new words adds them to grammar/tokens.ts), nor the compile-time half of
// completeness (FORMS `satisfies` a record over PredictionForm['kind'], which a test cannot edit).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CstNode, IToken } from 'chevrotain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../../grammar/tokens.ts';
import type { Ident, NumberLit, Node, PredictionForm } from '../../src/language/ast.ts';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { first, ident, locOf, numberLit } from '../../src/language/cst-build.ts';
import { runFile } from '../../src/exec/run-file.ts';
import { displayedMetrics, predictedMetrics } from '../../src/exec/summary.ts';
import { formatResultTable } from '../../src/cli/run.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { normalisePrediction } from '../../src/prereg/normalise.ts';
import { parseLock } from '../../src/prereg/lock.ts';
import { predictionStatuses } from '../../src/prereg/status.ts';
import { buildReportModel } from '../../src/report/model.ts';
import { renderReport } from '../../src/report/render.ts';
import { exact, meanOf, num, usability } from '../../src/verdict/common.ts';
import { undecidablePredictions } from '../../src/verdict/decidable.ts';
import { formModules, registerForm } from '../../src/verdict/forms/index.ts';
import type { FormModule } from '../../src/verdict/forms/module.ts';

interface NearForm extends Node {
  kind: 'near';
  metric: Ident;
  tolerance: NumberLit;
}

const near: FormModule<NearForm> = {
  kind: 'near',
  syntax: '`Y within d`',
  tests: ['exact'],
  rule: 'the mean of Y against ±d (a toy)',
  noun: 'nearness',
  grammar: {
    rule: 'nearForm',
    define(g) {
      g.consume(0, T.Name, 'metric');
      g.consume(0, T.Within);
      g.consume(0, T.NumberLit);
    },
  },
  build(node: CstNode, ctx) {
    const c = node.children as Record<string, IToken[] | undefined>;
    const metric = first(c.metric);
    const tol = first(c.NumberLit);
    if (!metric || !tol) return undefined;
    return { kind: 'near', metric: ident(ctx, metric), tolerance: numberLit(ctx, tol), loc: locOf(ctx, metric, tol) };
  },
  check(f, c) {
    c.metric(f.metric);
    if (!(f.tolerance.value > 0)) c.error(f.tolerance.loc, `the tolerance of "within" must be > 0 but is ${f.tolerance.text}`, 'bad-tolerance');
  },
  normalise: (f, canon) => `${f.metric.name} within ${canon.number(f.tolerance.value)}`,
  metrics: (f) => [f.metric.name],
  floor: (f, rows) => (rows.length < 3 ? { minP: 1, test: `nearness over ${rows.length} rows`, change: 'with ≥ 3 rows it can be decided' } : null),
  defaultTest: () => 'exact',
  decide(f, rows) {
    const values = rows.filter((r) => usability(r, [f.metric.name]) === 'ok').map((r) => num(r, f.metric.name));
    const m = meanOf(values);
    return exact(Math.abs(m) < f.tolerance.value, values.length, `toy: mean ${f.metric.name} = ${m.toFixed(3)}, within ±${f.tolerance.text}: ${Math.abs(m) < f.tolerance.value}`);
  },
};

const asForm = (f: PredictionForm | NearForm) => f as NearForm;
const src = (pred: string, seeds = 3) => `experiment "toy" {\n  runner command\n  set command = "${process.execPath} x.mjs"\n  seeds ${seeds}\n  measure bias, other\n  predict ${pred}\n}\n`;

describe('a toy form added through the forms table alone', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-toy-form-'));
  let unregister = () => {};
  beforeAll(() => {
    unregister = registerForm(near as unknown as FormModule);
  });
  afterAll(() => {
    unregister();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is parsed into its own AST node, checked by its own check, and locked in its own words', () => {
    const r = compileFile('t.exp', { source: src('bias within 0.5 where seed >= 0') });
    expect(formatDiagnostics(r)).toBe('');
    const pred = r.experiments[0]!.predictions[0]!;
    expect(asForm(pred.form)).toMatchObject({ kind: 'near', metric: { name: 'bias' }, tolerance: { value: 0.5 } });
    expect(normalisePrediction(pred)).toBe('predict bias within 0.5 where seed >= 0');
    expect(predictedMetrics([pred])).toEqual(['bias']);
    // A closed runner without `measure`: the run table's columns are the metrics the predictions read.
    const closed = compileFile('c.exp', { source: 'experiment "c" {\n  runner superposition\n  predict transfer_ratio within 0.5\n}\n' }).experiments[0]!;
    expect(closed.measures.length).toBeGreaterThan(1);
    expect(displayedMetrics(closed)).toEqual(['transfer_ratio']);
    expect(formatDiagnostics(compileFile('t.exp', { source: src('biass within 0.5') }))).toMatch(/t.exp:6:11: error: metric "biass" is not measured.*did you mean "bias"/);
    expect(formatDiagnostics(compileFile('t.exp', { source: src('bias within 0') }))).toMatch(/t.exp:6:23: error: the tolerance of "within" must be > 0/);
  });

  it('its floor feeds the "can never be decided" warning', () => {
    const exp = compileFile('t.exp', { source: src('bias within 0.5', 2) }).experiments[0]!;
    const w = undecidablePredictions(exp, planExperiment(exp).runs).map((d) => d.message);
    expect(w).toEqual(['prediction can never be decided: the smallest p nearness over 2 rows can reach is 1 > alpha = 0.05; with ≥ 3 rows it can be decided']);
  });

  it('runs for real, is judged by its own decide, and shows in the run table and the report', async () => {
    fs.writeFileSync(path.join(dir, 'x.mjs'), `let s=''; process.stdin.on('data',(d)=>(s+=d)); process.stdin.on('end',()=>{ const p=JSON.parse(s); console.log(JSON.stringify({ bias: 0.1 + p.seed / 100, other: 7 })); });\n`);
    const f = path.join(dir, 'x.exp');
    fs.writeFileSync(f, src('bias within 0.5\n  predict bias within 0.05'));
    const r = (await runFile(f, { cacheDir: path.join(dir, 'cache'), warn: () => {} })).experiments[0]!;
    expect(r.verdicts.map((v) => [v.text, v.outcome, v.test])).toEqual([
      ['predict bias within 0.5', 'confirmed', 'exact'],
      ['predict bias within 0.05', 'refuted', 'exact'],
    ]);
    expect(r.verdicts[0]!.reason).toMatch(/^toy: mean bias = 0\.1\d\d, within ±0\.5: true/);
    const table = formatResultTable(r);
    expect(table).toMatch(/bias/);
    expect(table).toMatch(/0\.11/);
    const model = await buildReportModel([r], {
      statuses: (e) => predictionStatuses(e, parseLock(''), null),
      sublabVersion: 'test',
      git: { commit: null, dirty: null },
      machine: { os: 'test', cpu: 'test', cores: 1 },
      date: '2026-01-01T00:00:00.000Z',
    });
    const md = [...renderReport(model, 'md').values()].join('\n');
    expect(md).toContain('bias within 0.5');
    expect(md).toContain('toy: mean bias');
  });

  it('removing one of its handlers fails at start-up, not silently', () => {
    for (const handler of ['build', 'check', 'normalise', 'metrics', 'floor', 'decide', 'grammar'] as const) {
      const broken = { ...near, kind: 'near2', grammar: { ...near.grammar, rule: 'near2Form' }, [handler]: undefined };
      expect(() => registerForm(broken as unknown as FormModule)).toThrow(new RegExp(`'near2' has no ${handler}`));
    }
    expect(formModules().map((m) => m.kind)).not.toContain('near2');
  });
});

describe('without the toy form', () => {
  it('its syntax is a parse error again: the grammar is the table', () => {
    expect(formModules().map((m) => m.kind)).not.toContain('near');
    expect(formatDiagnostics(compileFile('t.exp', { source: src('bias within 0.5') }))).toMatch(/t\.exp:6:11: error: expected a prediction form .* but found "bias"/);
  });
});
