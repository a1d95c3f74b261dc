// A runner's parameters are declared once, in its schema.ts, through defineRunner: the checker,
// `sublab runners`, docs/runners.md and the runner's own typed parameters all come from that one
// declaration. Adding a parameter is one entry there; its TypeScript type, default, type and range
// checks follow from it.
import { has, record } from '../util/records.ts';
import type { Value } from '../language/ast.ts';
import { suggest } from '../language/suggest.ts';
import type { ParamSpec, Runner, RunContext, RunnerSchema, RunOutput, RunSpec, StageRead, StageSchema } from './schema.ts';
import type { StageApi } from '../exec/stages.ts';
import { stageCodeHash, stageDeclarationProblems } from './stage-declaration.ts';

/**
 * The TypeScript type of one declared parameter: its enum values, number, boolean or string (any
 * Value for a spec whose type is not known statically).
 */
export type ParamValue<S extends ParamSpec> = S['type'] extends 'enum'
  ? S extends { values: readonly (infer V extends string)[] } ? V : string
  : S['type'] extends 'number' | 'integer'
    ? number
    : S['type'] extends 'boolean'
      ? boolean
      : S['type'] extends 'string'
        ? string
        : Value;

/** Resolved parameters of a declaration: every declared name with its declared type. */
export type ResolvedParams<P extends readonly ParamSpec[]> = { readonly [S in P[number] as S['name']]: ParamValue<S> };

/** The resolved parameters of a runner definition: `ParamsOf<typeof mySchema>`. */
export type ParamsOf<D> = D extends RunnerDefinition<infer P> ? ResolvedParams<P> : never;

/** One run as a typed runner sees it: its parameters resolved (defaults filled, types checked). */
export interface TypedRunSpec<Params> {
  id: string;
  params: Params;
  seed: number;
}

/** What a declared runner's `run` gets: the RunContext and the stage API (ctx.stage, ctx.stageGroup). */
export type TypedRunContext = RunContext & StageApi;

/** What a runner implements once its parameters are declared (see RunnerDefinition.implement). */
export interface RunnerImpl<Params> {
  run(specs: readonly TypedRunSpec<Params>[], ctx: TypedRunContext): Promise<RunOutput[]>;
  maxGroup?: (params: Params) => number;
  cores?: (params: Params) => number;
}

/** A stage as declared: `data` sees the resolved parameters with their declared types. */
export interface StageDeclaration<Params> extends Omit<StageSchema, 'data' | 'seedOf' | 'reads'> {
  data?(params: Params, env: { expDir: string }): unknown;
  seedOf?(params: Params, seed: number): number;
  reads?(params: Params, seed: number): readonly StageRead[];
}

export interface RunnerDeclaration<P extends readonly ParamSpec[]> extends Omit<RunnerSchema, 'params' | 'stages'> {
  params: P;
  /** Work runs share, computed once (see StageSchema; each parameter says which stage reads it). */
  stages?: readonly StageDeclaration<ResolvedParams<P>>[];
  /**
   * Checks across parameters that one parameter's bounds cannot say (e.g. an index below a
   * count): a message, or undefined when the values fit together.
   */
  check?: (params: ResolvedParams<P>) => string | undefined;
}

export interface RunnerDefinition<P extends readonly ParamSpec[]> extends RunnerSchema {
  params: P;
  /**
   * Every declared parameter with its default filled in, type- and range-checked (a string
   * parameter given a number or boolean gets its text); open runners keep undeclared names as
   * given. Throws "<runner>: <problem>" on a bad value, an unknown name, or a failed `check`.
   * Resolving resolved parameters returns equal ones.
   */
  resolve(raw: Readonly<Record<string, Value>>): ResolvedParams<P> & Readonly<Record<string, Value>>;
  /** The Runner the executor loads: parameters are resolved before `run` and `maxGroup` see them. */
  implement(impl: RunnerImpl<ResolvedParams<P>>): Runner;
}

/** Any declared runner (the registry's list). */
export type AnyRunnerDefinition = RunnerDefinition<readonly ParamSpec[]>;

const typeWords: Record<ParamSpec['type'], string> = {
  number: 'a number', integer: 'an integer', string: 'a string', enum: 'one of', boolean: 'true or false',
};

/** How a value is named in messages: `the string "x"`, and its text as written. */
export interface ShownValue {
  what: string;
  text: string;
}

function shownValue(v: Value): ShownValue {
  if (typeof v === 'number') return { what: `the number ${v}`, text: String(v) };
  if (typeof v === 'boolean') return { what: `the boolean ${v}`, text: String(v) };
  return { what: `the string ${JSON.stringify(v)}`, text: JSON.stringify(v) };
}

/**
 * Type and range check of one value against its declaration: a message naming the parameter, or
 * undefined. The one validator of parameter values: the checker (with the literal as written in
 * the .exp file as `shown`), `--set` overrides and runtime resolution all use it.
 */
export function paramProblem(spec: ParamSpec, v: Value, shown: ShownValue = shownValue(v)): string | undefined {
  const name = `"${spec.name}"`;
  switch (spec.type) {
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${name} expects ${typeWords[spec.type]} but got ${shown.what}`;
      if (spec.type === 'integer' && !Number.isInteger(v)) return `${name} expects an integer but got ${shown.text}`;
      if (spec.min !== undefined && v < spec.min) return `${name} must be >= ${spec.min} but is ${shown.text}`;
      if (spec.max !== undefined && v > spec.max) return `${name} must be <= ${spec.max} but is ${shown.text}`;
      return undefined;
    case 'string':
      return typeof v === 'string' ? undefined : `${name} expects a string but got ${shown.what}`;
    case 'enum': {
      const allowed = spec.values ?? [];
      if (typeof v === 'string' && allowed.includes(v)) return undefined;
      const got = typeof v === 'string' ? `${JSON.stringify(v)}${suggest(v, allowed)}` : shown.what;
      return `${name} must be one of ${allowed.join(', ')} but got ${got}`;
    }
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${name} expects true or false but got ${shown.what}`;
  }
}

/** Sweep points a combination check looks at before it stops looking. */
const COMBINATION_POINTS = 10_000;

/**
 * A declared runner's checks across parameters (its `check`, through `resolve`) on each sweep
 * point over `base`: the first failing point's problem, and `text` = the problem with that point
 * and how many of the points looked at fail. Undefined when every point fits, or for a schema
 * that is not a declared runner.
 */
export function combinationProblem(
  schema: RunnerSchema, base: Readonly<Record<string, Value>>, points: Iterable<Record<string, Value>>,
): { problem: string; point: Record<string, Value>; text: string } | undefined {
  const resolve = (schema as Partial<Pick<AnyRunnerDefinition, 'resolve'>>).resolve;
  if (!resolve) return undefined;
  let failing = 0, seen = 0, first: { problem: string; point: Record<string, Value> } | undefined;
  for (const point of points) {
    if (seen === COMBINATION_POINTS) break;
    seen++;
    try {
      resolve({ ...base, ...point });
    } catch (e) {
      failing++;
      first ??= { problem: (e as Error).message.replace(`${schema.name}: `, ''), point };
    }
  }
  if (!first) return undefined;
  const entries = Object.entries(first.point);
  const where = entries.length
    ? ` (sweep point ${entries.map(([k, v]) => `${k} = ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`).join(', ')}${failing > 1 ? `; ${failing} of ${seen} points fail` : ''})`
    : '';
  return { ...first, text: first.problem + where };
}

/** The experiment must set this parameter (its default is a placeholder): the checker's message. */
export function missingRequired(schema: RunnerSchema, params: Readonly<Record<string, Value>>): string[] {
  return schema.params
    .filter((p) => p.required && params[p.name] === p.default)
    .map((p) => `runner ${schema.name} needs ${p.required!.needs}: add e.g. set ${p.name} = ${JSON.stringify(p.required!.example)}`);
}

/**
 * What is wrong with a runner's parts and the metrics that name them: a part declared twice, more
 * than one `curves` part, a metric computed by a part that is not declared (or any part at all
 * in a runner that declares none).
 */
export function partDeclarationProblems(schema: Pick<RunnerSchema, 'parts' | 'metrics'>): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const p of schema.parts ?? []) {
    if (names.has(p.name)) out.push(`part "${p.name}" is declared twice`);
    names.add(p.name);
  }
  if ((schema.parts ?? []).filter((p) => p.kind === 'curves').length > 1) out.push('more than one part of kind curves');
  for (const m of schema.metrics) {
    for (const c of m.computedBy ?? []) {
      if (!names.has(c)) out.push(`metric "${m.name}" is computed by "${c}", which is not a declared part${suggest(c, [...names])}`);
    }
  }
  return out;
}

/**
 * Declare a runner: name, version, parameters, metrics. The parameter list is kept with its literal
 * types (`const`), so `ParamsOf<typeof schema>` gives each parameter its type: an enum its values,
 * an integer a number, and so on.
 */
export function defineRunner<const P extends readonly ParamSpec[]>(decl: RunnerDeclaration<P>): RunnerDefinition<P> {
  const { check, stages, ...rest } = decl;
  // `data` reads resolved parameters: the declaration types them, the store passes them resolved.
  const schema: Omit<RunnerSchema, 'params'> & { params: P } = { ...rest, ...(stages ? { stages: stages as readonly StageSchema[] } : {}) };
  const stageProblems = [...stageDeclarationProblems(schema), ...partDeclarationProblems(schema)];
  if (stageProblems.length) throw new Error(`runner ${decl.name}: ${stageProblems.join('; ')}`);
  for (const p of decl.params) {
    const bad = paramProblem(p, p.default);
    if (bad) throw new Error(`runner ${decl.name}: the default of ${bad.replace(/^"[^"]*" /, `"${p.name}" `)}`);
  }
  const declared = new Set(decl.params.map((p) => p.name));
  // Every run's parameters carry its seed (the plan sets params.seed), so a seeded closed runner
  // must declare it; said here, once, instead of "unknown parameter" on every run.
  if (decl.seeded && !decl.open && !declared.has('seed')) {
    throw new Error(`runner ${decl.name}: a seeded runner declares the parameter seed, e.g. { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed' } (run i of a point gets seed + i)`);
  }
  type Params = ResolvedParams<P>;
  const resolve = (raw: Readonly<Record<string, Value>>): Params & Readonly<Record<string, Value>> => {
    const out = record<Value>();
    for (const p of decl.params) {
      let v = (has(raw, p.name) ? raw[p.name] : undefined) ?? p.default;
      // A string parameter given `87` or `true` (from code or an older caller) means its text.
      if (p.type === 'string' && typeof v !== 'string') v = String(v);
      const bad = paramProblem(p, v);
      if (bad) throw new Error(`${decl.name}: ${bad}`);
      out[p.name] = v;
    }
    for (const [k, v] of Object.entries(raw)) {
      if (declared.has(k)) continue;
      if (!decl.open) throw new Error(`${decl.name}: unknown parameter "${k}"${suggest(k, [...declared])}`);
      out[k] = v;
    }
    // The declaration's names and types were checked just above: this is where they become the type.
    const params = out as Params & Readonly<Record<string, Value>>;
    const bad = check?.(params);
    if (bad) throw new Error(`${decl.name}: ${bad}`);
    return params;
  };
  // Grouping must not fail: parameters that do not resolve are grouped as given (defaults filled)
  // and their runs fail in `run`, with the reason, as any failed run does.
  const resolveForGrouping = (raw: Readonly<Record<string, Value>>): Params => {
    try {
      return resolve(raw);
    } catch {
      const filled = record<Value>();
      for (const p of decl.params) filled[p.name] = (has(raw, p.name) ? raw[p.name] : undefined) ?? p.default;
      return filled as Params;
    }
  };
  const definition: RunnerDefinition<P> = {
    ...schema,
    resolve,
    implement(impl: RunnerImpl<Params>): Runner {
      // The code this process runs is hashed now, as it loads (a later edit must not re-key it).
      for (const s of definition.stages ?? []) stageCodeHash(s);
      return {
        schema: definition,
        run: async (specs: readonly RunSpec[], ctx: RunContext) => {
          const typed = specs.map((s) => ({ id: s.id, seed: s.seed, params: resolve(s.params) }));
          // The store is loaded only when a run happens (it brings the cache and its packages).
          const { bindStages } = await import('../exec/stages.ts');
          const bound = bindStages(definition, ctx);
          try {
            return await impl.run(typed, { ...ctx, stage: bound.stage, stageGroup: bound.stageGroup });
          } finally {
            bound.close();
          }
        },
        ...(impl.maxGroup ? { maxGroup: (p: Readonly<Record<string, Value>>) => impl.maxGroup!(resolveForGrouping(p)) } : {}),
        ...(impl.cores ? { cores: (p: Readonly<Record<string, Value>>) => impl.cores!(resolveForGrouping(p)) } : {}),
      };
    },
  };
  return definition;
}
