import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';

/** compileFile over an in-memory tree of files. */
function compile(files: Record<string, string>, main: string) {
  return compileFile(main, {
    readFile: (p) => {
      const text = files[path.normalize(p)];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    },
  });
}

const base = `experiment "base" {
  runner mlp_distill
  set hidden = 64
  set lr = 3e-4
  sweep weight_decay in [0, 0.1]
  seeds 7
  measure student_acc, cross_model_acc
  alpha 0.01
  correction bonferroni
  predict student_acc > cross_model_acc
}`;

describe('extends', () => {
  it('inherits runner, sets, sweeps, seeds, measures, alpha and correction, but not predictions', () => {
    const r = compile({ 'base.exp': base, 'd.exp': `experiment "d" extends "base.exp" { measure teacher_acc }` }, 'd.exp');
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.runner.name).toBe('mlp_distill');
    expect(e.params.hidden).toBe(64);
    expect(e.sweeps).toEqual([{ name: 'weight_decay', values: [0, 0.1] }]);
    expect([e.seeds, e.alpha, e.correction]).toEqual([7, 0.01, 'bonferroni']);
    expect(e.measures).toEqual(['student_acc', 'cross_model_acc', 'teacher_acc']);
    expect(e.predictions).toEqual([]);
    expect(e.extendsChain).toEqual(['base.exp']);
    expect(e.explicit).toEqual(['hidden', 'lr']);
  });

  it('a later set or sweep of the same name overrides the inherited one', () => {
    const r = compile({
      'base.exp': base,
      'd.exp': `experiment "d" extends "base.exp" {
        set weight_decay = 0.5
        sweep hidden in [32, 128]
        sweep lr in [1e-3, 1e-2]
        seeds 3
      }`,
    }, 'd.exp');
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.params.weight_decay).toBe(0.5);
    expect(e.sweeps.map((s) => s.name)).toEqual(['hidden', 'lr']);
    expect(e.explicit).toEqual(['weight_decay']);
    expect(e.seeds).toBe(3);
  });

  it('an overriding sweep keeps the inherited sweep\'s position in the grid', () => {
    const r = compile({
      'a.exp': `experiment "a" { runner mlp_distill sweep lr in [1e-3, 1e-2] sweep hidden in [1, 2] }`,
      'b.exp': `experiment "b" extends "a.exp" { sweep lr in [1e-4] sweep layers in [1, 2] }`,
    }, 'b.exp');
    expect(r.experiments[0]!.sweeps).toEqual([
      { name: 'lr', values: [1e-4] },
      { name: 'hidden', values: [1, 2] },
      { name: 'layers', values: [1, 2] },
    ]);
  });

  it('resolves paths relative to the extending file, through several levels', () => {
    const r = compile({
      'topic/base.exp': base,
      'topic/mid/mid.exp': `experiment "mid" extends "../base.exp" { set hidden = 128 }`,
      'top.exp': `experiment "top" extends "topic/mid/mid.exp" { set layers = 3 }`,
    }, 'top.exp');
    expect(formatDiagnostics(r)).toBe('');
    const e = r.experiments[0]!;
    expect(e.extendsChain).toEqual([path.normalize('topic/mid/mid.exp'), path.normalize('topic/base.exp')]);
    expect([e.params.hidden, e.params.layers, e.params.lr]).toEqual([128, 3, 3e-4]);
  });

  it('selects one experiment of several with ::', () => {
    const r = compile({
      'two.exp': `experiment "x" { runner superposition } experiment "y" { runner mlp_distill seeds 2 }`,
      'd.exp': `experiment "d" extends "two.exp" :: "y" { }`,
    }, 'd.exp');
    expect(r.experiments[0]!.runner.name).toBe('mlp_distill');
    expect(r.experiments[0]!.seeds).toBe(2);
  });

  it('can extend another experiment of the same file', () => {
    const r = compile({ 'f.exp': `experiment "a" { runner mlp_distill seeds 4 } experiment "b" extends "f.exp" :: "a" { set lr = 1e-3 }` }, 'f.exp');
    expect(formatDiagnostics(r)).toBe('');
    expect(r.experiments.map((e) => [e.name, e.seeds])).toEqual([['a', 4], ['b', 4]]);
  });

  it('reports a cycle of three files at the extends string that closes it', () => {
    const r = compile({
      'a.exp': `experiment "a" extends "b.exp" { runner mlp_distill }`,
      'b.exp': `experiment "b" extends "c.exp" { }`,
      'c.exp': `experiment "c" extends "a.exp" { }`,
    }, 'a.exp');
    const cycle = r.diagnostics.find((d) => d.code === 'extends-cycle')!;
    expect(cycle).toMatchObject({ file: 'c.exp', line: 1, column: 24 });
    expect(cycle.message).toContain('a.exp::"a" -> b.exp::"b" -> c.exp::"c" -> a.exp::"a"');
    expect(r.experiments).toEqual([]);
  });

  it('reports an experiment extending itself', () => {
    const r = compile({ 's.exp': `experiment "s" extends "s.exp" { runner mlp_distill }` }, 's.exp');
    expect(r.diagnostics.map((d) => d.code)).toContain('extends-cycle');
  });

  it('reports a missing file at the extends string', () => {
    const r = compile({ 'd.exp': `experiment "d" extends "gone.exp" { }` }, 'd.exp');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ line: 1, column: 24, length: 10, code: 'missing-file' });
  });

  it('reports semantic errors of inherited statements at their place in the base file, once', () => {
    const r = compile({
      'base.exp': `experiment "base" {\n  runner mlp_distill\n  set hiden = 3\n}`,
      'd.exp': `experiment "d1" extends "base.exp" { }\nexperiment "d2" extends "base.exp" { }`,
    }, 'd.exp');
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({ file: 'base.exp', line: 3, column: 7, code: 'unknown-parameter' });
    expect(formatDiagnostics(r)).toContain('   3 |   set hiden = 3');
  });
});
