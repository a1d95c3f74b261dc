// One form, one module: the table in src/verdict/forms/ is what the parser, builder, checker, lock,
// run table, decidability warnings and judge dispatch on, what docs/verdicts.md shows (generated),
// and where every test name comes from.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMS, formModules, formTests, formsTableMarkdown, validateForms } from '../../src/verdict/forms/index.ts';
import { verdictsDoc, verdictsDocPath } from '../../scripts/generate-reference.ts';
import { TEST_NAMES } from '../../src/verdict/types.ts';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import type { PredictionForm } from '../../src/language/ast.ts';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { predictedMetrics } from '../../src/exec/summary.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { normalisePrediction } from '../../src/prereg/normalise.ts';
import { predictionFloor } from '../../src/verdict/decidable.ts';
import type { PeakForm } from '../../src/language/ast.ts';
import type { FormModule } from '../../src/verdict/forms/module.ts';
import { peakForm } from '../../src/verdict/forms/peak.ts';
import { buildFileAst } from '../../src/language/build-ast.ts';
import type { FileCstNode } from '../../grammar/cst.d.ts';
import { compare, cond, correlates, experiment, flat, konst, metric, peak, predict, sweepRows, table, trend } from './helpers.ts';

const docs = fs.readFileSync(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../docs/verdicts.md'), 'utf8');

describe('the table of prediction forms', () => {
  it('docs/verdicts.md holds the generated table of forms (npm run gen:docs writes it)', () => {
    expect(docs).toBe(verdictsDoc(fs.readFileSync(verdictsDocPath, 'utf8')));
    expect(docs).toContain(formsTableMarkdown());
  });
  it('a module without one of its handlers does not compile (checked by tsc --noEmit)', () => {
    // @ts-expect-error: a form module without its floor is not a FormModule
    const noFloor: FormModule<PeakForm> = { ...peakForm, floor: undefined };
    // @ts-expect-error: the table must have a module for every kind of PredictionForm
    const noPeak: { [K in PredictionForm['kind']]: FormModule<Extract<PredictionForm, { kind: K }>> } = { trend: FORMS.trend, flat: FORMS.flat, correlates: FORMS.correlates, compare: FORMS.compare };
    expect([noFloor.floor, 'peak' in noPeak]).toEqual([undefined, false]);
  });
  it('a CST form that no module claims stops the build loudly, not dropped', () => {
    const token = { image: 'x', startOffset: 0, endOffset: 0, startLine: 1, startColumn: 1, endLine: 1, endColumn: 1, tokenType: { name: 'Experiment' } };
    const mystery = { name: 'mysteryForm', children: {} };
    const predict = { name: 'predictStmt', children: { Predict: [token], predictionForm: [{ name: 'predictionForm', children: { mysteryForm: [mystery] } }] } };
    const cst = { name: 'file', children: { experiment: [{ name: 'experiment', children: { Experiment: [token], statement: [{ name: 'statement', children: { predictStmt: [predict] } }] } }] } };
    const ctx = { file: 't.exp', text: 'x', comments: [], unterminated: new WeakSet<never>(), diagnostics: [] };
    expect(() => buildFileAst(ctx, cst as unknown as FileCstNode)).toThrow(/the grammar's prediction form 'mysteryForm' has no module in the forms table/);
  });
  it('a module without one of its handlers is refused at start-up', () => {
    for (const m of formModules()) {
      for (const handler of ['build', 'check', 'normalise', 'metrics', 'floor', 'defaultTest', 'decide', 'grammar'] as const) {
        const broken = { ...m, [handler]: undefined } as unknown as typeof m;
        expect(() => validateForms(formModules().map((x) => (x === m ? broken : x)))).toThrow(new RegExp(`'${m.kind}' has no ${handler}`));
      }
    }
    expect(() => validateForms([...formModules(), FORMS.peak])).toThrow(/two prediction forms have the kind 'peak'/);
  });
  it('every test a form names is a TestName, and docs/verdicts.md names every test', () => {
    for (const t of formTests()) expect(TEST_NAMES).toContain(t);
    for (const t of TEST_NAMES.filter((t) => t !== 'none')) expect(docs).toContain(`\`${t}\``);
  });
  it("every verdict's test is one its form's module declares", () => {
    const X = [1, 2, 3];
    const rows = sweepRows('x', X, 'y', [[0, 0.1, 0.3], [1, 1.2, 0.9], [0.2, 0.1, 0.4]], (p, s) => ({ w: p + s * 0.1 }));
    const preds = [
      predict(trend('y', 'increases', 'x')),
      predict(correlates('y', 'w')),
      predict(compare(metric('y'), '>', konst(0))),
      predict(compare(metric('y'), '>', metric('w'))),
      predict(compare(metric('y', cond('x', '=', 2)), '>', metric('y', cond('x', '=', 1)))),
      predict(peak('y', 'x')),
      predict(flat('y', 'x', 1)),
    ];
    for (const rs of [rows, rows.map((r) => ({ ...r, seed: 10 * r.point! + r.seed! }))]) {
      for (const v of judgeExperiment(experiment(preds, { sweeps: [{ name: 'x', values: X }] }), table(rs))) {
        const m = FORMS[v.prediction.form.kind];
        expect([...m.tests, m.defaultTest(v.prediction.form as never)]).toContain(v.test);
      }
    }
  });
});

/** One prediction of each form (a new kind without one does not compile). */
const EXAMPLES: Record<PredictionForm['kind'], string> = {
  trend: 'y increases with x',
  peak: 'y peaks in x',
  flat: 'y is flat in x within 0.5',
  correlates: 'y correlates positively with w',
  compare: 'y at x = 3 > w at x = 1',
};

describe('every form of the table on every path', () => {
  const source = (pred: string) => `experiment "e" {\n  runner command\n  set command = "node x.mjs"\n  sweep x in [1, 2, 3]\n  seeds 3\n  measure y, w\n  predict ${pred}\n}\n`;
  for (const m of formModules()) {
    it(`${m.kind}: parsed, checked, locked, its metrics shown, its floor, judged`, () => {
      const example = EXAMPLES[m.kind as PredictionForm['kind']];
      const r = compileFile('t.exp', { source: source(example) });
      expect(formatDiagnostics(r)).toBe('');
      const exp = r.experiments[0]!;
      const pred = exp.predictions[0]!;
      expect(pred.form.kind).toBe(m.kind);
      expect(normalisePrediction(pred)).toBe(`predict ${example}`);
      const metrics = predictedMetrics([pred]);
      expect(metrics.length).toBeGreaterThan(0);
      for (const x of metrics) expect(['y', 'w']).toContain(x);
      // A misspelt metric is the module's check's error, at the name.
      expect(formatDiagnostics(compileFile('t.exp', { source: source(example.replace(/\by\b/, 'yy')) }))).toMatch(/t\.exp:7:\d+: error: metric "yy" is not measured/);
      expect(() => predictionFloor(exp, pred, planExperiment(exp).runs.map((run, i) => ({ runId: String(i), point: run.point, seed: run.seed, params: run.params, metrics: {}, keys: {}, backend: '', wallMs: 0, cached: false })), 0.05)).not.toThrow();
      const rows = sweepRows('x', [1, 2, 3], 'y', [[0, 0.1, 0.3], [1, 1.2, 0.9], [0.2, 0.1, 0.4]], (p, s) => ({ w: p + s * 0.1 }));
      const [v] = judgeExperiment({ ...exp, predictions: [pred] }, table(rows));
      expect([...m.tests, m.defaultTest(pred.form as never)]).toContain(v!.test);
      expect(v!.reason).not.toMatch(/internal error/);
    });
  }
});
