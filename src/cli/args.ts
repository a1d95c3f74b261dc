// Every command's options in one table: each command declares its options (most from `common`
// below), and one parser (node:util parseArgs for the tokens, then the table for values) reads
// them, with one error format, and writes the command's help. Adding an option is one entry.
import { parseArgs } from 'node:util';
import type { Value } from '../language/ast.ts';
import { escapeControl } from '../language/diagnostics.ts';
import { LanguageError } from '../language/errors.ts';
import { suggest } from '../language/suggest.ts';
import { PlanError } from '../exec/session.ts';
import { UsageError, type Command } from './command.ts';

/** One option. `T` is what its value becomes (true for a flag). */
export interface Option<T = unknown> {
  /** Help text; further lines continue it. */
  help: string;
  /** The value's placeholder in the help (N, DIR); absent: a flag, which takes no value. */
  arg?: string;
  short?: string;
  /** Repeatable: the values are collected in order. */
  multiple?: boolean;
  /** Text → value; throws UsageError naming the flag and what was expected. */
  parse?: (text: string, flag: string) => T;
  /** An old spelling of option `into`: accepted with this warning, not listed in the help. */
  deprecated?: { into: string; warning: string };
  /** The value when the option is not given (its value is then never undefined). */
  default?: T;
  /** An execution option (see `executionOptions`): passed whole to every process that executes runs. */
  execution?: true;
}

export type Options = Record<string, Option>;

type ValueOf<O> = O extends Option<infer T> ? (O extends { multiple: true } ? T[] : O extends { default: T } ? T : T | undefined) : never;
export type Values<O extends Options> = { [K in keyof O]: ValueOf<O[K]> };

export interface CommandSpec<O extends Options = Options> {
  /** `run` in `sublab run`. */
  name: string;
  /** After the command's name in the usage line: `FILE.exp... [options]`. */
  synopsis: string;
  /** One line for `sublab --help`. */
  summary: string;
  /** What the command does (before the options in its help). */
  description?: string;
  options: O;
  /** After the options: exit status and the like. */
  footer?: string;
  /** Positional arguments: how many, and what to say when they are missing or too many. */
  positionals?: { min?: number; max?: number; missing?: string; extra?: string };
  /** What follows `--`: more positionals (default), or `rest` handed through untouched (sbatch options). */
  afterDashDash?: 'positionals' | 'rest';
  /** Help rows after the options for what is not an option (`-- OPTIONS...`). */
  moreHelp?: [label: string, help: string][];
}

export interface Parsed<O extends Options> {
  values: Values<O>;
  positionals: string[];
  /** After `--` when the command hands it through. */
  rest: string[];
}

// ---- value types -------------------------------------------------------------------------

export const flag = (help: string): Option<boolean> => ({ help });

export function text(arg: string, help: string): Option<string> {
  return {
    help,
    arg,
    parse: (t, f) => {
      if (t === '') throw new UsageError(`${f} needs a value (${arg})`);
      return t;
    },
  };
}

/** A whole number ≥ min. */
export function whole(arg: string, min: number, help: string): Option<number> {
  return { help, arg, parse: (t, f) => wholeNumber(f, t, min) };
}

export function wholeNumber(flagName: string, t: string, min: number, from = ''): number {
  if (!/^\d+$/.test(t) || Number(t) < min) throw new UsageError(`${flagName} expects a whole number >= ${min}, got "${t}"${from}`);
  return Number(t);
}

/** Repeatable form of an option. */
export function many<T>(o: Option<T>): Option<T> & { multiple: true } {
  return { ...o, multiple: true };
}

/**
 * The one `--set key=value` parser. The value stays text: the planner types it by the parameter's
 * declared type, the same for every command.
 */
export function parseSet(kv: string): [string, string] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new UsageError(`--set expects key=value, got "${kv}"`);
  const key = kv.slice(0, i).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`--set expects key=value with a parameter name as key, got "${key}"`);
  return [key, kv.slice(i + 1)];
}

/** `--set` values → the overrides the planner takes (a later --set of the same key wins). */
export function overridesOf(sets: readonly [string, string][] | undefined): Record<string, Value> {
  return Object.fromEntries(sets ?? []);
}

/** Options several commands share, described once. */
export const common = {
  cache: text('DIR', 'result cache directory (default $SUBLAB_CACHE or .sublab/cache in the project)'),
  seeds: whole('N', 1, 'override the number of seeds'),
  set: many<[string, string]>({ arg: 'key=value', help: 'override a parameter (repeatable); value parsed like an .exp literal', parse: (t) => parseSet(t) }),
  'all-metrics': flag('compute and tabulate every metric the runner reports, with the per-epoch curves\n(default: the metrics the predictions and the measure line use; docs/runners.md)'),
  'allow-uncommitted-lock': flag('run even though registered predictions are not committed in git\n(results computed now make them exploratory: registered after results)'),
  templates: text('DIR', 'your own Handlebars templates: DIR/<format>/<name>.hbs (+ partials *.hbs);\nformats missing there use the built-in ones'),
  'cache-dir': { ...text('DIR', ''), deprecated: { into: 'cache', warning: '--cache-dir is deprecated: use --cache DIR (the same option every command takes)' } },
} satisfies Options;

/**
 * Options that change how runs are executed and what each computes, never which runs are planned
 * (no run id depends on them). Every command that executes runs takes them all, and they travel as
 * one `ExecutionOptions` object from the command line to the executor (`ExecOptions` extends it),
 * the `--jobs` children (serialised once in their config) and, through `sublab submit`, every
 * SLURM worker (`executionArgs`). Adding one is its entry here plus its use: in the executor, or,
 * for what the runs compute, in `metricScopeOf` (src/plan/needs.ts), which every process plans with.
 */
export const executionOptions = {
  retries: { ...whole('N', 0, 'extra attempts for a run that throws'), default: 0, execution: true },
  'all-metrics': { ...common['all-metrics'], default: false, execution: true },
} satisfies Options;

export type ExecutionOptions = Values<typeof executionOptions>;

/** The execution options among a command's parsed values (every one has its default). */
export function executionOf(values: Readonly<Record<string, unknown>>): ExecutionOptions {
  return Object.fromEntries(Object.entries(executionOptions).map(([name, o]) => [name, values[name] ?? o.default])) as ExecutionOptions;
}

/** The command-line words that give these execution options to another sublab command (defaults left out). */
export function executionArgs(e: Partial<ExecutionOptions>): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(executionOptions) as [keyof ExecutionOptions, Option][]) {
    const v: unknown = e[name];
    if (v === undefined || v === o.default) continue;
    if (o.arg) out.push(`--${name}`, String(v));
    else if (v === true) out.push(`--${name}`);
  }
  return out;
}

// ---- parsing -----------------------------------------------------------------------------

const dashed = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

export function parseOptions<O extends Options>(spec: CommandSpec<O>, args: readonly string[], warn: (m: string) => void = () => {}): Parsed<O> {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(spec.options)) config[name] = { type: o.arg ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) };
  // Non-strict: parseArgs only splits the tokens (--a=b, -f v, --); the table decides the rest,
  // so every error below names the option and says what was expected.
  const { tokens } = parseArgs({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const rest: string[] = [];
  let afterDashDash = false;
  const listed = Object.entries(spec.options).filter(([, o]) => !o.deprecated).map(([n]) => `--${n}`);
  for (const t of tokens) {
    if (t.kind === 'option-terminator') {
      afterDashDash = true;
      continue;
    }
    if (t.kind === 'positional') {
      (afterDashDash && spec.afterDashDash === 'rest' ? rest : positionals).push(t.value);
      continue;
    }
    const o = spec.options[t.name];
    if (!o) {
      const known = listed.length ? suggest(t.rawName, listed) : '';
      throw new UsageError(`unknown option ${t.rawName}${known || (listed.length ? '' : ` (sublab ${spec.name} takes no options)`)}`);
    }
    const shown = t.rawName.startsWith('--') ? t.rawName : `${t.rawName} (${dashed(t.name)})`;
    let value: unknown = true;
    if (o.arg) {
      // A following option is not a value: "--json --fresh" forgot the path.
      if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new UsageError(`${shown} needs a value (${o.arg})`);
      value = o.parse ? o.parse(t.value, shown) : t.value;
    } else if (t.value !== undefined) throw new UsageError(`${shown} takes no value, got "${t.value}"`);
    let key = t.name;
    if (o.deprecated) {
      warn(o.deprecated.warning);
      key = o.deprecated.into;
    }
    const target = spec.options[key]!;
    if (target.multiple) ((values[key] ??= []) as unknown[]).push(value);
    else values[key] = value;
  }
  for (const [name, o] of Object.entries(spec.options)) if (o.default !== undefined && values[name] === undefined) values[name] = o.default;
  const p = spec.positionals ?? {};
  if (positionals.length < (p.min ?? 0)) throw new UsageError(p.missing ?? `missing argument: ${spec.synopsis}`);
  if (p.max !== undefined && positionals.length > p.max) {
    throw new UsageError(p.extra ?? `unexpected argument "${positionals[p.max]}"`);
  }
  return { values: values as Values<O>, positionals, rest };
}

// ---- help --------------------------------------------------------------------------------

/** The command's help: usage line, description, the option table, footer. */
export function usageOf(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.options)
    .filter(([, o]) => !o.deprecated)
    .map(([name, o]) => [`${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`, o.default !== undefined && o.arg ? `${o.help} (default ${String(o.default)})` : o.help]);
  rows.push(...(spec.moreHelp ?? []));
  const width = Math.max(0, ...rows.map(([l]) => l.length)) + 2;
  const lines = rows.flatMap(([label, help]) => help.split('\n').map((h, i) => `  ${(i ? '' : label).padEnd(width)} ${h}`.trimEnd()));
  const out = [`usage: sublab ${spec.name} ${spec.synopsis}`];
  if (spec.description) out.push('', spec.description);
  if (lines.length) out.push('', 'options:', ...lines);
  if (spec.footer) out.push('', spec.footer);
  return out.join('\n');
}

// ---- the command ------------------------------------------------------------------------

/**
 * A command from its table and body. Usage errors print `sublab NAME: error: …` and the help
 * (exit 2); a file that does not compile prints its diagnostics (exit 2); a bad override prints
 * its message (exit 2). Anything else propagates to the CLI's last line of defence.
 */
export function defineCommand<O extends Options>(spec: CommandSpec<O>, body: (p: Parsed<O>, warn: (m: string) => void) => Promise<number> | number): Command & { spec: CommandSpec<O> } {
  const usage = usageOf(spec);
  return {
    spec,
    summary: spec.summary,
    usage,
    async run(args) {
      const warn = (m: string) => process.stderr.write(`sublab ${spec.name}: warning: ${escapeControl(m)}\n`);
      try {
        return await body(parseOptions(spec, args, warn), warn);
      } catch (e) {
        const code = errorExit(spec.name, e, usage);
        if (code === undefined) throw e;
        return code;
      }
    },
  };
}

/** Print a usage, language or plan error the one way; its exit code, or undefined for anything else. */
export function errorExit(name: string, e: unknown, usage?: string): number | undefined {
  if (e instanceof UsageError) {
    process.stderr.write(`sublab ${name}: error: ${escapeControl(e.message)}${usage ? `\n\n${usage}` : ''}\n`);
    return 2;
  }
  if (e instanceof LanguageError) {
    process.stderr.write(e.message + '\n');
    return 2;
  }
  if (e instanceof PlanError) {
    process.stderr.write(`sublab ${name}: error: ${escapeControl(e.message)}\n`);
    return 2;
  }
  return undefined;
}
