// defineRunner: one declaration gives the types, defaults, checks and the executor's Runner.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineRunner, missingRequired, paramProblem, type ParamsOf } from '../../src/runners/define.ts';
import { schemas } from '../../src/runners/registry.ts';
import type { MlpDistillParams } from '../../src/runners/mlp_distill/schema.ts';
import type { RunSpec } from '../../src/runners/schema.ts';

const toy = defineRunner({
  name: 'toy',
  version: '1',
  description: 'a runner for tests',
  seeded: true,
  check: (p) => (p.low > p.high ? `low must be <= high, got ${p.low} > ${p.high}` : undefined),
  params: [
    { name: 'mode', type: 'enum', values: ['a', 'b'], default: 'a', description: '' },
    { name: 'low', type: 'integer', default: 0, min: 0, description: '' },
    { name: 'high', type: 'number', default: 1, max: 10, description: '' },
    { name: 'label', type: 'string', default: '', required: { needs: 'a label', example: 'x' }, description: '' },
    { name: 'on', type: 'boolean', default: false, description: '' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: '' },
  ],
  metrics: [{ name: 'y', description: '' }],
});

describe('defineRunner', () => {
  it('infers each parameter type from its declaration', () => {
    expectTypeOf<ParamsOf<typeof toy>>().toEqualTypeOf<{
      readonly mode: 'a' | 'b'; readonly low: number; readonly high: number; readonly label: string; readonly on: boolean; readonly seed: number;
    }>();
    expectTypeOf<MlpDistillParams['loss']>().toEqualTypeOf<'kl' | 'mse'>();
    expectTypeOf<MlpDistillParams['models']>().toEqualTypeOf<number>();
  });

  it('resolves defaults, keeps given values, and turns a number given to a string parameter into its text', () => {
    expect(toy.resolve({ high: 2, label: 7 })).toEqual({ mode: 'a', low: 0, high: 2, label: '7', on: false, seed: 0 });
    const once = toy.resolve({ mode: 'b' });
    expect(toy.resolve(once)).toEqual(once);
  });

  it('rejects bad values with the words the checker uses, unknown names, and failed cross-checks', () => {
    expect(() => toy.resolve({ mode: 'c' })).toThrow('toy: "mode" must be one of a, b but got "c"');
    expect(() => toy.resolve({ low: 1.5 })).toThrow('toy: "low" expects an integer but got 1.5');
    expect(() => toy.resolve({ low: -1 })).toThrow('toy: "low" must be >= 0 but is -1');
    expect(() => toy.resolve({ high: 11 })).toThrow('toy: "high" must be <= 10 but is 11');
    expect(() => toy.resolve({ high: Infinity })).toThrow('toy: "high" expects a number but got the number Infinity');
    expect(() => toy.resolve({ on: 'yes' })).toThrow('toy: "on" expects true or false but got the string "yes"');
    expect(() => toy.resolve({ hihg: 3 })).toThrow('toy: unknown parameter "hihg" (did you mean "high"?)');
    expect(() => toy.resolve({ low: 5, high: 2 })).toThrow('toy: low must be <= high, got 5 > 2');
  });

  it('refuses a declaration whose default breaks its own bounds', () => {
    expect(() => defineRunner({ name: 'bad', version: '1', description: '', seeded: true, metrics: [],
      params: [{ name: 'n', type: 'integer', default: 0, min: 1, description: '' }] })).toThrow(/runner bad: the default of "n" must be >= 1/);
  });

  it('refuses a seeded closed runner that does not declare seed (every run carries params.seed)', () => {
    expect(() => defineRunner({ name: 'noseed', version: '1', description: '', seeded: true, metrics: [],
      params: [{ name: 'n', type: 'integer', default: 1, description: '' }] })).toThrow(/runner noseed: a seeded runner declares the parameter seed/);
    expect(() => defineRunner({ name: 'fixed', version: '1', description: '', seeded: false, metrics: [],
      params: [{ name: 'n', type: 'integer', default: 1, description: '' }] })).not.toThrow();
  });

  it('the Runner it implements hands run and maxGroup resolved parameters; grouping never throws', async () => {
    const seen: unknown[] = [];
    const runner = toy.implement({
      async run(specs) {
        seen.push(...specs.map((s) => s.params));
        return specs.map((s) => ({ rows: [{ metrics: { y: s.params.high * (s.params.mode === 'b' ? 2 : 1) } }], backend: 'js' }));
      },
      maxGroup: (p) => p.low + 1,
    });
    expect(runner.schema.name).toBe('toy');
    const spec = (params: RunSpec['params']): RunSpec => ({ id: 'r', seed: 0, params });
    const outs = await runner.run([spec({ mode: 'b', high: 3 })], { progress() {} });
    expect(outs[0]!.rows[0]!.metrics.y).toBe(6);
    expect(seen[0]).toEqual({ mode: 'b', low: 0, high: 3, label: '', on: false, seed: 0 });
    expect(runner.maxGroup!({ low: 3 })).toBe(4);
    // A bad value is grouped as given and fails in run, where the executor records it.
    expect(runner.maxGroup!({ low: 3, high: 99 })).toBe(4);
    await expect(runner.run([spec({ high: 99 })], { progress() {} })).rejects.toThrow('toy: "high" must be <= 10 but is 99');
  });

  it('open runners keep undeclared names; closed ones refuse them', () => {
    const open = defineRunner({ name: 'o', version: '1', description: '', seeded: true, open: true, metrics: [],
      params: [{ name: 'n', type: 'number', default: 1, description: '' }] });
    expect(open.resolve({ extra: 'x' })).toEqual({ n: 1, extra: 'x' });
  });

  it('says what a required parameter is for when it keeps its placeholder default', () => {
    expect(missingRequired(toy, toy.resolve({}))).toEqual(['runner toy needs a label: add e.g. set label = "x"']);
    expect(missingRequired(toy, toy.resolve({ label: 'l' }))).toEqual([]);
  });

  it('every bundled runner resolves its own defaults (the declarations are consistent)', () => {
    for (const s of schemas) {
      const params = Object.fromEntries(s.params.map((p) => [p.name, p.default]));
      for (const p of s.params) expect(paramProblem(p, p.default), `${s.name}.${p.name}`).toBeUndefined();
      expect(s.resolve(params)).toEqual(params);
    }
  });
});
