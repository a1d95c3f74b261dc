// The one option table: parsing, the one error format, and help generated from the table.
import { describe, expect, it } from 'vitest';
import { common, flag, many, overridesOf, parseOptions, parseSet, text, usageOf, whole, type CommandSpec } from '../../src/cli/args.ts';
import { UsageError } from '../../src/cli/command.ts';

const spec = {
  name: 'demo',
  synopsis: 'FILE... [options]',
  summary: 'a demo',
  description: 'Does nothing.',
  options: {
    json: text('PATH', 'write JSON'),
    seeds: common.seeds,
    set: common.set,
    fresh: flag('recompute'),
    format: many({ ...text('F', 'a format\nsecond line'), short: 'f' }),
    cache: common.cache,
    'cache-dir': common['cache-dir'],
    tasks: whole('N', 1, 'tasks'),
  },
  footer: 'exit status: 0',
  positionals: { min: 1, missing: 'no file given' },
  afterDashDash: 'rest',
} satisfies CommandSpec;

describe('parseOptions', () => {
  it('reads values inline, separate, short, repeated, and what follows --', () => {
    const warnings: string[] = [];
    const p = parseOptions(spec, ['a.exp', '--json=o.json', '--seeds', '3', '-f', 'md', '--format=tex', '--fresh', '--set', 'lr=0.1', '--set=x = 2', '--cache-dir', 'c', 'b.exp', '--', '--partition=gpu'], (m) => warnings.push(m));
    expect(p.positionals).toEqual(['a.exp', 'b.exp']);
    expect(p.rest).toEqual(['--partition=gpu']);
    expect(p.values).toEqual({ json: 'o.json', seeds: 3, format: ['md', 'tex'], fresh: true, set: [['lr', '0.1'], ['x', ' 2']], cache: 'c' });
    expect(warnings).toEqual([expect.stringMatching(/--cache-dir is deprecated: use --cache DIR/)]);
    expect(overridesOf(p.values.set)).toEqual({ lr: '0.1', x: ' 2' });
  });

  it('says which option and what it expected, one format for all', () => {
    const err = (args: string[]) => {
      try {
        parseOptions(spec, args);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(['a', '--sedes', '2'])).toBe('unknown option --sedes (did you mean "--seeds"?)');
    expect(err(['a', '--bogus'])).toBe('unknown option --bogus');
    expect(err(['a', '--json'])).toBe('--json needs a value (PATH)');
    expect(err(['a', '--json', '--fresh'])).toBe('--json needs a value (PATH)');
    expect(err(['a', '--fresh=yes'])).toBe('--fresh takes no value, got "yes"');
    expect(err(['a', '--seeds', '0'])).toBe('--seeds expects a whole number >= 1, got "0"');
    expect(err(['a', '--tasks=x'])).toBe('--tasks expects a whole number >= 1, got "x"');
    expect(err(['a', '--set', 'lr'])).toBe('--set expects key=value, got "lr"');
    expect(err(['a', '--cache='])).toBe('--cache needs a value (DIR)');
    expect(err([])).toBe('no file given');
  });

  it('one --set parser: key=value, the value kept as text for the planner to type', () => {
    expect(parseSet('variant=ablated')).toEqual(['variant', 'ablated']);
    expect(parseSet(' lr =1e-3')).toEqual(['lr', '1e-3']);
    expect(parseSet('cmd=a=b')).toEqual(['cmd', 'a=b']);
    expect(() => parseSet('=1')).toThrow(/--set expects key=value, got "=1"/);
    expect(() => parseSet('1x=1')).toThrow(/parameter name as key, got "1x"/);
  });
});

describe('usageOf', () => {
  it('writes the help from the table: every listed option with its placeholder, deprecated spellings left out', () => {
    expect(usageOf(spec)).toBe(
      [
        'usage: sublab demo FILE... [options]',
        '',
        'Does nothing.',
        '',
        'options:',
        '  --json PATH       write JSON',
        '  --seeds N         override the number of seeds',
        '  --set key=value   override a parameter (repeatable); value parsed like an .exp literal',
        '  --fresh           recompute',
        '  -f, --format F    a format',
        '                    second line',
        '  --cache DIR       result cache directory (default $SUBLAB_CACHE or .sublab/cache in the project)',
        '  --tasks N         tasks',
        '',
        'exit status: 0',
      ].join('\n'),
    );
  });

  it("every command's help lists every option it accepts", async () => {
    const names = ['check', 'plan', 'run', 'register', 'report', 'writeup', 'runners', 'cache', 'submit', 'worker', 'make-tiny-model', 'export-model'];
    for (const name of names) {
      const { command } = (await import(`../../src/cli/${name}.ts`)) as { command: { usage: string; spec?: CommandSpec } };
      expect(command.usage, name).toMatch(new RegExp(`^usage: sublab ${name} `));
      const spec = command.spec!;
      for (const [opt, o] of Object.entries(spec.options)) if (!o.deprecated) expect(command.usage, `${name} --${opt}`).toContain(`--${opt}`);
    }
  });
});
