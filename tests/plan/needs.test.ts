// What a run must compute (src/plan/needs.ts): the rule per command, the parts of mlp_distill's
// metrics, what an entry holding some parts still lacks, and how `sublab plan` words it.
import { describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { describeParts, partsToCompute, planNeeds } from '../../src/plan/needs.ts';
import { partDeclarationProblems } from '../../src/runners/define.ts';
import { mlpDistillSchema } from '../../src/runners/mlp_distill/schema.ts';
import { getSchema } from '../../src/runners/registry.ts';

const compile = (body: string) => {
  const r = compileFile('t.exp', { source: `experiment "t" {\n  runner mlp_distill\n${body}\n}\n` });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.experiments[0]!;
};

describe('what a run needs', () => {
  it('the predictions and the measure line for a run; every measured metric for a report; everything, with curves, for --all-metrics', () => {
    const two = compile('  measure student_acc, cross_model_acc\n  predict student_acc > cross_model_acc');
    expect(planNeeds(two, 'verdicts')).toEqual({ scope: 'verdicts', metrics: ['student_acc', 'cross_model_acc'], curves: false, parts: ['student', 'cross'] });
    expect(planNeeds(two, 'report').parts).toEqual(['student', 'cross']);
    expect(planNeeds(two, 'all').parts).toEqual(mlpDistillSchema.parts!.map((p) => p.name));
    // No measure line: the predictions; a report shows (so computes) every metric, without curves.
    const cka = compile('  predict hidden_cka > cross_model_cka\n  predict teacher_acc > 0.9');
    expect(planNeeds(cka, 'verdicts').parts).toEqual(['student', 'cross', 'cka', 'cross_cka']);
    expect(planNeeds(cka, 'report').parts).toEqual(['student', 'student_all', 'cross', 'cross_all', 'cka', 'cross_cka']);
    // Nothing named at all: every metric (as the run table shows).
    expect(planNeeds(compile('  seeds 2'), 'verdicts').parts).toHaveLength(6);
    // The plan carries it; a runner without parts computes everything, as before.
    expect(planExperiment(two).needs?.parts).toEqual(['student', 'cross']);
    const sp = compileFile('s.exp', { source: 'experiment "s" {\n  runner superposition\n}\n' }).experiments[0]!;
    expect(planExperiment(sp).needs?.parts).toBeUndefined();
  });

  it('an entry holding some parts lacks only what its missing metrics need (an evaluation retrains its arm; missing curves retrain all)', () => {
    const s = mlpDistillSchema;
    const every = planNeeds(compile('  seeds 2'), 'report');
    expect(partsToCompute(s, every, undefined)).toEqual([]); // a whole entry (written before parts)
    expect(partsToCompute(s, every, [])).toEqual(every.parts);
    expect(partsToCompute(s, every, every.parts)).toEqual([]);
    expect(partsToCompute(s, every, ['student', 'cross'])).toEqual(['student', 'student_all', 'cross', 'cross_all', 'cka', 'cross_cka']);
    expect(partsToCompute(s, every, ['student', 'cross', 'cka', 'cross_cka'])).toEqual(['student_all', 'cross_all']);
    const all = planNeeds(compile('  seeds 2'), 'all');
    expect(partsToCompute(s, all, every.parts)).toEqual(all.parts);
  });

  it('sublab plan words it; declarations naming undeclared parts are refused', () => {
    expect(describeParts(mlpDistillSchema, ['student', 'cross'])).toBe('2 of 4 arms (student, cross), no optional evaluations, no curves');
    expect(describeParts(mlpDistillSchema, mlpDistillSchema.parts!.map((p) => p.name))).toBe('4 of 4 arms, evaluations: cka, cross_cka, curves');
    expect(describeParts(getSchema('superposition')!, undefined)).toBe('everything (the runner declares no parts)');
    expect(partDeclarationProblems(mlpDistillSchema)).toEqual([]);
    expect(partDeclarationProblems({ parts: [{ name: 'a', kind: 'arm', description: '' }], metrics: [{ name: 'm', description: '', computedBy: ['b'] }] }))
      .toEqual(['metric "m" is computed by "b", which is not a declared part (did you mean "a"?)']);
  });
});
