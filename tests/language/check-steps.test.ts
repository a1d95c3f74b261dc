// checkExperiment's steps, each on its own: a hand-built setup against the superposition runner's
// schema, and the diagnostics one step reports.
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/language/parse.ts';
import type { Diagnostic } from '../../src/language/diagnostics.ts';
import {
  checkAlpha, checkCondition, checkMeasures, checkPrediction, checkSeeds, checkSweptNumeric, predictionScope, reporter, resolveParams, type Setup,
} from '../../src/language/check.ts';
import { superpositionSchema as schema } from '../../src/runners/superposition/schema.ts';

/** The setup of `body`'s experiment (no extends), and the experiment. */
function setupOf(body: string) {
  const { ast, diagnostics } = parseSource(`experiment "e" {\n  runner superposition\n${body}\n}\n`, 't.exp');
  expect(diagnostics).toEqual([]);
  const exp = ast.experiments[0]!;
  const setup: Setup = { runner: exp.runner, sets: exp.sets, sweeps: exp.sweeps, seeds: exp.seeds, measures: exp.measures, alpha: exp.alpha, correction: exp.correction, chain: [] };
  return { exp, setup };
}

const said = (ds: Diagnostic[]) => ds.map((d) => `${d.line}:${d.column} ${d.severity} ${d.code}: ${d.message}`);

describe('check steps', () => {
  it('resolveParams: defaults, sets and sweeps, each checked; a repeated sweep value warned of', () => {
    const { setup } = setupOf('  set hidden = 7\n  set hiden = 3\n  sweep sparsity in [0, 0.5, 0.5]\n  sweep features in [1, -2]');
    const ds: Diagnostic[] = [];
    const p = resolveParams(schema, setup, reporter(ds));
    expect(p.params.hidden).toBe(7);
    expect(p.params.importance).toBe(0.7);
    expect(p.sweeps).toEqual([{ name: 'sparsity', values: [0, 0.5] }]);
    expect(said(ds)).toEqual([
      '4:7 error unknown-parameter: unknown parameter "hiden" for runner superposition (did you mean "hidden"?)',
      '5:30 warning duplicate-value: 0.5 appears twice in the sweep of "sparsity"',
      '6:25 error bad-value: "features" must be >= 1 but is -2',
    ]);
  });

  it('checkSeeds and checkAlpha: the value, or the default and an error at the line', () => {
    const { setup } = setupOf('  seeds 0\n  alpha 1.5');
    const ds: Diagnostic[] = [];
    const r = reporter(ds);
    const p = resolveParams(schema, setup, r);
    expect(checkSeeds(schema, setup, p, r)).toBe(1);
    expect(checkAlpha(setup, r)).toBe(0.05);
    expect(said(ds)).toEqual(['3:9 error bad-seeds: seeds must be a whole number >= 1 but is 0', '4:9 error bad-alpha: alpha must be between 0 and 1 (exclusive) but is 1.5']);
    expect(r.failed()).toBe(true);
  });

  it('checkMeasures, checkCondition, checkSweptNumeric and checkPrediction against one scope', () => {
    const { exp, setup } = setupOf('  sweep sparsity in [0, 0.9]\n  measure transfer_ratio\n  predict transfer_ratio peaks in sparsity where hidden = 6');
    const ds: Diagnostic[] = [];
    const r = reporter(ds);
    const p = resolveParams(schema, setup, r);
    const measures = checkMeasures(schema, setup, exp, r);
    expect(measures).toEqual(['transfer_ratio']);
    const scope = predictionScope(schema, p, measures);
    const pred = exp.predictions[0]!;
    checkCondition(scope, pred.where[0]!, 'where', r);
    expect(said(ds)).toEqual(['5:59 error empty-selection: hidden = 6 selects no runs: "hidden" is fixed at 5']);
    ds.length = 0;
    checkSweptNumeric(scope, { kind: 'ident', name: 'sparsity', loc: pred.loc }, 'peaks in', 3, r);
    expect(said(ds)).toEqual(['5:3 error too-few-values: "peaks in" needs at least 3 values of "sparsity" but the sweep has 2']);
    ds.length = 0;
    checkPrediction(scope, pred, r);
    expect(ds.map((d) => `${d.line} ${d.code}`)).toEqual(['5 too-few-values', '5 empty-selection']);
  });
});
