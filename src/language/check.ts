// Semantic checks of one experiment (after `extends` has been merged) against its runner's schema.
import { record } from '../util/records.ts';
import { runCountProblem, seedProblem } from '../plan/limits.ts';
import type * as A from './ast.ts';
import type { CheckedExperiment } from './checked.ts';
import { diagnosticAt, type Diagnostic } from './diagnostics.ts';
import type { DiagnosticCode } from './diagnostic-codes.ts';
import { formModule } from '../verdict/forms/index.ts';
import type { FormChecker } from '../verdict/forms/module.ts';
import { suggest } from './suggest.ts';
import { getSchema, runnerNames } from '../runners/registry.ts';
import { pathRunner, runnerModuleNameProblem, runnerModulePath } from '../runners/by-path.ts';
import type { ParamSpec, RunnerSchema } from '../runners/schema.ts';
import { combinationProblem, missingRequired, paramProblem } from '../runners/define.ts';
import { gridPoints } from '../plan/grid.ts';

/** An experiment's setup with everything inherited through `extends` merged in. */
export interface Setup {
  runner?: A.RunnerStmt;
  /** One per name, in first-set order; a later `set` replaces an earlier one (and any sweep of it). */
  sets: A.SetStmt[];
  sweeps: A.SweepStmt[];
  seeds?: A.SeedsStmt;
  measures: A.MeasureStmt[];
  alpha?: A.AlphaStmt;
  correction?: A.CorrectionStmt;
  chain: string[];
}

export const DEFAULT_SEEDS = 1;
export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_CORRECTION: A.CorrectionMethod = 'holm';

export function literalValue(s: A.Scalar): A.Value {
  return s.value;
}

export function showLiteral(s: A.Literal): string {
  switch (s.kind) {
    case 'number': return s.text;
    case 'string': return JSON.stringify(s.value);
    case 'bool': return String(s.value);
    case 'symbol': return s.value;
    case 'list': return `[${s.items.map(showLiteral).join(', ')}]`;
  }
}

export function showValue(v: A.Value): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function kindWord(s: A.Literal): string {
  switch (s.kind) {
    case 'number': return `the number ${s.text}`;
    case 'string': return `the string ${JSON.stringify(s.value)}`;
    case 'bool': return `the boolean ${s.value}`;
    case 'symbol': return `the name ${s.value}`;
    case 'list': return 'a list';
  }
}

/** Type and range check of one literal against a parameter spec; returns an error message or undefined. */
export function valueError(spec: ParamSpec, lit: A.Literal): string | undefined {
  if (lit.kind === 'list') return `"${spec.name}" takes a single value, not a list (to vary it, write "sweep ${spec.name} in [...]")`;
  // The declaration's own validator, told how the value was written (`1e-3`, a name or a string).
  return paramProblem(spec, lit.value, { what: kindWord(lit), text: lit.kind === 'number' ? lit.text : String(lit.value) });
}

function sameValue(a: A.Value, b: A.Value): boolean {
  return a === b;
}

/**
 * The runner's checks across parameters (e.g. an index below a count) on every sweep point, so
 * `sublab check` reports what would otherwise fail each such run at run time: one error, at the
 * `set` or `sweep` of a parameter the message names.
 */
function crossCheck(
  schema: RunnerSchema, setup: Setup, params: Record<string, A.Value>, sweeps: { name: string; values: A.Value[] }[],
  err: (loc: A.Loc, message: string, code: DiagnosticCode) => void,
): void {
  const found = combinationProblem(schema, params, gridPoints(sweeps));
  if (!found) return;
  const named = (n: string) => new RegExp(`\\b${n}\\b`).test(found.problem);
  const stmt = [...setup.sweeps].reverse().find((x) => named(x.name.name)) ?? [...setup.sets].reverse().find((x) => named(x.name.name));
  err(stmt?.loc ?? setup.runner!.loc, `runner ${schema.name}: ${found.text}`, 'bad-combination');
}

/**
 * The files a runner's runs depend on (the command runner's `inputs`, `cwd`), listed and hashed for
 * each distinct sweep point, so a missing input is an error at its `set` line, not at plan time.
 */
function fileCheck(
  schema: RunnerSchema, setup: Setup, file: string, params: Record<string, A.Value>, sweeps: { name: string; values: A.Value[] }[],
  err: (loc: A.Loc, message: string, code: DiagnosticCode) => void,
): void {
  if (!schema.fileDependencies) return;
  const deps = schema.fileDependencies(file);
  let seen = 0;
  for (const point of gridPoints(sweeps)) {
    // As the combination check: a grid too big to run is refused by the run-count check below.
    if (++seen > 10_000) return;
    try {
      deps({ ...params, ...point });
    } catch (e) {
      const message = (e as Error).message;
      const named = /^(\w+):/.exec(message)?.[1];
      const stmt = setup.sweeps.find((x) => x.name.name === named && x.name.name in point) ?? [...setup.sets].reverse().find((x) => x.name.name === named);
      err(stmt?.loc ?? setup.runner!.loc, `runner ${schema.name}: ${message}`, 'bad-file-dependency');
      return;
    }
  }
}

/** Where a check step says what it found: errors and warnings at a location, with their code. */
export interface Reporter {
  err(loc: A.Loc, message: string, code: DiagnosticCode): void;
  warn(loc: A.Loc, message: string, code: DiagnosticCode): void;
  /** Whether an error was reported since the reporter was made. */
  failed(): boolean;
}

export function reporter(diags: Diagnostic[]): Reporter {
  const start = diags.length;
  return {
    err: (loc, message, code) => void diags.push(diagnosticAt(loc, message, code)),
    warn: (loc, message, code) => void diags.push(diagnosticAt(loc, message, code, 'warning')),
    failed: () => diags.slice(start).some((d) => d.severity === 'error'),
  };
}

/** The parameters an experiment runs with: resolved values, the sweep axes, names an open runner took. */
export interface ResolvedParams {
  params: Record<string, A.Value>;
  sweeps: { name: string; values: A.Value[] }[];
  sweepByName: Map<string, A.Value[]>;
  /** Names an open runner's schema does not list (passed through to the program). */
  extra: Set<string>;
}

/** Defaults, then `set`s (inherited first), then sweeps: each name and value checked against the schema. */
export function resolveParams(schema: RunnerSchema, setup: Setup, r: Reporter): ResolvedParams {
  const specs = new Map(schema.params.map((p) => [p.name, p]));
  const paramNames = schema.params.map((p) => p.name);
  const params = record<A.Value>();
  for (const p of schema.params) params[p.name] = p.default;
  const extra = new Set<string>();
  /** The spec; undefined for an open runner's own name; null (reported) for an unknown one. */
  const specOf = (id: A.Ident): ParamSpec | undefined | null => {
    const spec = specs.get(id.name);
    if (spec) return spec;
    if (schema.open) {
      extra.add(id.name);
      return undefined;
    }
    r.err(id.loc, `unknown parameter "${id.name}" for runner ${schema.name}${suggest(id.name, paramNames)}`, 'unknown-parameter');
    return null;
  };
  for (const s of setup.sets) {
    const spec = specOf(s.name);
    if (spec === null) continue;
    const e = spec ? valueError(spec, s.value) : s.value.kind === 'list' ? `"${s.name.name}" takes a single value, not a list (to vary it, write "sweep ${s.name.name} in [...]")` : undefined;
    if (e) r.err(s.value.loc, e, 'bad-value');
    else if (s.value.kind !== 'list') params[s.name.name] = literalValue(s.value);
  }
  const sweeps: { name: string; values: A.Value[] }[] = [];
  const sweepByName = new Map<string, A.Value[]>();
  for (const sw of setup.sweeps) {
    const spec = specOf(sw.name);
    if (spec === null) continue;
    const values = sweepValues(sw, spec, r);
    if (!values) continue;
    sweeps.push({ name: sw.name.name, values });
    sweepByName.set(sw.name.name, values);
  }
  for (const n of extra) if (!(n in params)) params[n] = '';
  return { params, sweeps, sweepByName, extra };
}

/** A sweep's values, each checked (a repeated one is warned of and dropped); undefined after an error. */
function sweepValues(sw: A.SweepStmt, spec: ParamSpec | undefined, r: Reporter): A.Value[] | undefined {
  if (sw.values.items.length === 0) {
    r.err(sw.values.loc, `sweep of "${sw.name.name}" needs at least one value`, 'empty-sweep');
    return undefined;
  }
  let ok = true;
  const values: A.Value[] = [];
  for (const item of sw.values.items) {
    const e = spec ? valueError(spec, item) : undefined;
    if (e) {
      r.err(item.loc, e, 'bad-value');
      ok = false;
      continue;
    }
    const v = literalValue(item);
    if (values.some((x) => sameValue(x, v))) r.warn(item.loc, `${showLiteral(item)} appears twice in the sweep of "${sw.name.name}"`, 'duplicate-value');
    else values.push(v);
  }
  return ok ? values : undefined;
}

/** `seeds` (1 for a deterministic runner), the run-count limit and the base seeds' range. */
export function checkSeeds(schema: RunnerSchema, setup: Setup, p: ResolvedParams, r: Reporter): number {
  let seeds = DEFAULT_SEEDS;
  if (setup.seeds) {
    const c = setup.seeds.count;
    if (!Number.isInteger(c.value) || c.value < 1) r.err(c.loc, `seeds must be a whole number >= 1 but is ${c.text}`, 'bad-seeds');
    else seeds = c.value;
    if (!schema.seeded) r.warn(setup.seeds.loc, `runner ${schema.name} is deterministic: seeds has no effect (one run per sweep point)`, 'seeds-ignored');
  }
  if (!schema.seeded) seeds = 1;
  // The same limit the planner enforces, said at check time (with the `seeds` line).
  const points = p.sweeps.reduce((n, sw) => n * sw.values.length, 1);
  const tooMany = runCountProblem(points, seeds);
  if (tooMany) r.err(setup.seeds?.count.loc ?? setup.runner!.loc, tooMany, 'too-many-runs');
  if (schema.seeded) {
    const at = setup.sweeps.find((x) => x.name.name === 'seed') ?? setup.sets.find((x) => x.name.name === 'seed');
    for (const b of p.sweepByName.get('seed') ?? [p.params.seed]) {
      const bad = typeof b === 'number' ? seedProblem(b, seeds) : undefined;
      if (bad) {
        r.err(at?.loc ?? setup.runner!.loc, bad, 'bad-seed');
        break;
      }
    }
  }
  return seeds;
}

export function checkAlpha(setup: Setup, r: Reporter): number {
  const a = setup.alpha?.value;
  if (!a) return DEFAULT_ALPHA;
  if (a.value > 0 && a.value < 1) return a.value;
  r.err(a.loc, `alpha must be between 0 and 1 (exclusive) but is ${a.text}`, 'bad-alpha');
  return DEFAULT_ALPHA;
}

/** The metrics to tabulate: the `measure` lines' (each a metric of the runner), else all the runner's. */
export function checkMeasures(schema: RunnerSchema, setup: Setup, exp: A.ExperimentAst, r: Reporter): string[] {
  const runnerMetrics = schema.metrics.map((m) => m.name);
  const measured: string[] = [];
  for (const id of setup.measures.flatMap((m) => m.metrics)) {
    if (!schema.open && !runnerMetrics.includes(id.name)) r.err(id.loc, `unknown metric "${id.name}" for runner ${schema.name}${suggest(id.name, runnerMetrics)}`, 'unknown-metric');
    else if (!measured.includes(id.name)) measured.push(id.name);
  }
  if (schema.open && setup.measures.length === 0 && exp.predictions.length > 0) {
    r.err(setup.runner!.loc, `runner ${schema.name} has no fixed metrics: name the ones your program prints with "measure a, b"`, 'missing-measure');
  }
  return measured.length > 0 || schema.open ? measured : runnerMetrics;
}

/** What a prediction is checked against: the runner, the resolved parameters, the measured metrics. */
export interface PredictionScope {
  schema: RunnerSchema;
  p: ResolvedParams;
  measures: string[];
  runnerMetrics: string[];
  allParams: string[];
  keys: string[];
}

export function predictionScope(schema: RunnerSchema, p: ResolvedParams, measures: string[]): PredictionScope {
  return {
    schema, p, measures,
    runnerMetrics: schema.metrics.map((m) => m.name),
    allParams: [...schema.params.map((x) => x.name), ...p.extra],
    keys: (schema.keys ?? []).map((k) => k.name),
  };
}

/**
 * An open runner's program prints its own key columns (strings, booleans): a name in `where` or
 * `for each` that is neither a parameter nor a measured metric is one of those, known only after
 * the run. Said when it looks like a misspelt parameter; a column no row has makes the
 * prediction untestable ("no column named ...").
 */
function programKey(s: PredictionScope, id: A.Ident, r: Reporter): boolean {
  if (!s.schema.open || s.allParams.includes(id.name) || s.measures.includes(id.name)) return false;
  const near = suggest(id.name, s.allParams);
  if (near) r.warn(id.loc, `"${id.name}" is not a parameter: taken as a column your program prints${near}`, 'program-key');
  return true;
}

export function checkMetric(s: PredictionScope, id: A.Ident, r: Reporter): void {
  const { schema, measures, runnerMetrics } = s;
  if (measures.includes(id.name)) return;
  if (runnerMetrics.includes(id.name)) {
    r.err(id.loc, `metric "${id.name}" is not measured: add it to a measure line`, 'unmeasured-metric');
  } else if (schema.open) {
    r.err(id.loc, `metric "${id.name}" is not measured: runner ${schema.name} reports only the metrics named by "measure"${suggest(id.name, measures)}`, 'unknown-metric');
  } else {
    const hint = s.allParams.includes(id.name) ? ` ("${id.name}" is a parameter)` : suggest(id.name, runnerMetrics);
    r.err(id.loc, `unknown metric "${id.name}" for runner ${schema.name}${hint}`, 'unknown-metric');
  }
}

/** Values a parameter takes over the plan: its sweep, else its fixed value. */
function valuesOf(p: ResolvedParams, name: string): { values: A.Value[]; swept: boolean } {
  const swept = p.sweepByName.get(name);
  return swept ? { values: swept, swept: true } : { values: [p.params[name]!], swept: false };
}

function describeValues(p: ResolvedParams, name: string): string {
  const { values, swept } = valuesOf(p, name);
  return swept ? `"${name}" is swept over [${values.map(showValue).join(', ')}]` : `"${name}" is fixed at ${showValue(values[0]!)}`;
}

function conditionHolds(v: A.Value, op: A.ConditionOp, target: A.Value): boolean {
  switch (op) {
    case '=': return v === target;
    case '!=': return v !== target;
    case '<': return (v as number) < (target as number);
    case '<=': return (v as number) <= (target as number);
    case '>': return (v as number) > (target as number);
    case '>=': return (v as number) >= (target as number);
  }
}

/** A `where` or `at` condition: a known name, an operator that fits its values, some sweep point selected. */
export function checkCondition(s: PredictionScope, c: A.Condition, where: 'where' | 'at', r: Reporter): void {
  const name = c.param.name;
  if (where === 'where' && (s.keys.includes(name) || programKey(s, c.param, r))) return; // key values are known only after the run
  if (!s.allParams.includes(name)) {
    const known = where === 'where' ? [...s.allParams, ...s.keys] : s.allParams;
    const what = where === 'where' && s.keys.length ? 'parameter or key' : 'parameter';
    const hint = s.runnerMetrics.includes(name) || s.measures.includes(name) ? ` ("${name}" is a metric; ${where} selects sweep points by parameter)` : suggest(name, known);
    r.err(c.param.loc, `unknown ${what} "${name}" in ${where}${hint}`, 'unknown-parameter');
    return;
  }
  if (where === 'at' && c.op !== '=') {
    r.err(c.loc, `"at" picks one sweep point: write "${name} = value", not "${c.op}"`, 'bad-at');
    return;
  }
  const target = literalValue(c.value);
  const { values } = valuesOf(s.p, name);
  if (c.op !== '=' && c.op !== '!=' && (typeof target !== 'number' || values.some((v) => typeof v !== 'number'))) {
    r.err(c.loc, `"${c.op}" needs a numeric parameter and a number, but ${describeValues(s.p, name)}`, 'bad-condition');
    return;
  }
  if (!values.some((v) => conditionHolds(v, c.op, target))) {
    r.err(c.value.loc, `${name} ${c.op} ${showLiteral(c.value)} selects no runs: ${describeValues(s.p, name)}`, 'empty-selection');
  }
}

/** A parameter a form compares across (`phrase`, e.g. "peaks in"): swept over ≥ minValues numbers. */
export function checkSweptNumeric(s: PredictionScope, param: A.Ident, phrase: string, minValues: number, r: Reporter): void {
  const name = param.name;
  if (!s.allParams.includes(name)) {
    r.err(param.loc, `unknown parameter "${name}"${suggest(name, s.allParams)}: "${phrase}" needs a swept parameter`, 'unknown-parameter');
    return;
  }
  const values = s.p.sweepByName.get(name);
  if (!values) r.err(param.loc, `"${name}" is not swept: "${phrase}" needs "sweep ${name} in [...]"`, 'not-swept');
  else if (values.some((v) => typeof v !== 'number')) r.err(param.loc, `"${name}" is not numeric: "${phrase}" needs a sweep over numbers`, 'not-numeric');
  else if (values.length < minValues) r.err(param.loc, `"${phrase}" needs at least ${minValues} values of "${name}" but the sweep has ${values.length}`, 'too-few-values');
}

/** One prediction: its form's own checks (through its module), then `where` and `for each`. */
export function checkPrediction(s: PredictionScope, pred: A.Prediction, r: Reporter): void {
  const checker: FormChecker = {
    metric: (id) => checkMetric(s, id, r),
    sweptNumeric: (param, phrase, min) => checkSweptNumeric(s, param, phrase, min, r),
    atCondition: (c) => checkCondition(s, c, 'at', r),
    error: (loc, message, code) => r.err(loc, message, code),
  };
  formModule(pred.form).check(pred.form, checker);
  for (const c of pred.where) checkCondition(s, c, 'where', r);
  for (const id of pred.forEach) {
    if (s.keys.includes(id.name) || programKey(s, id, r)) continue;
    if (!s.allParams.includes(id.name)) {
      const what = s.keys.length ? 'parameter or key' : 'parameter';
      r.err(id.loc, `unknown ${what} "${id.name}" in "for each"${suggest(id.name, [...s.allParams, ...s.keys])}`, 'unknown-parameter');
    } else if (!s.p.sweepByName.has(id.name)) {
      r.warn(id.loc, `"${id.name}" is not swept: "for each ${id.name}" makes a single group`, 'for-each-fixed');
    }
  }
}

/** Semantic checks of one experiment, step by step; the checked experiment, or undefined after an error. */
export function checkExperiment(exp: A.ExperimentAst, setup: Setup, diags: Diagnostic[]): CheckedExperiment | undefined {
  const file = exp.loc.file;
  const r = reporter(diags);
  if (!setup.runner) {
    r.err(exp.name.loc, `experiment "${exp.name.value}" has no runner: add e.g. "runner mlp_distill" (known runners: ${runnerNames().join(', ')}; your own: ${OWN_RUNNER})`, 'missing-runner');
    return undefined;
  }
  const resolved = runnerSchemaOf(setup.runner, r.err);
  if (!resolved) return undefined;
  const schema = resolved.schema;
  const p = resolveParams(schema, setup, r);
  for (const m of missingRequired(schema, p.params)) r.err(setup.runner.loc, m, 'missing-parameter');
  if (!r.failed()) crossCheck(schema, setup, p.params, p.sweeps, r.err);
  if (!r.failed()) fileCheck(schema, setup, file, p.params, p.sweeps, r.err);
  const seeds = checkSeeds(schema, setup, p, r);
  const alpha = checkAlpha(setup, r);
  const measures = checkMeasures(schema, setup, exp, r);
  const scope = predictionScope(schema, p, measures);
  for (const pred of exp.predictions) checkPrediction(scope, pred, r);
  if (r.failed()) return undefined;
  return {
    file,
    name: exp.name.value,
    ast: exp,
    runner: schema,
    ...(resolved.module ? { runnerModule: resolved.module } : {}),
    params: p.params,
    explicit: setup.sets.map((s) => s.name.name),
    sweeps: p.sweeps,
    seeds,
    alpha,
    correction: setup.correction?.method ?? DEFAULT_CORRECTION,
    measures,
    predictions: exp.predictions,
    extendsChain: setup.chain,
  };
}

/** How a runner of the user's own is named, for messages. */
const OWN_RUNNER = 'runner "./path/to/module.ts"';

/**
 * The schema a `runner` line names: a built-in by name, or the user's module by path, which the
 * caller loaded before compiling (compileWithRunners); undefined after reporting why not.
 */
function runnerSchemaOf(stmt: A.RunnerStmt, err: (loc: A.Loc, message: string, code: DiagnosticCode) => void): { schema: RunnerSchema; module?: string } | undefined {
  if (stmt.name) {
    const schema = getSchema(stmt.name.name);
    if (!schema) err(stmt.name.loc, `unknown runner "${stmt.name.name}"${suggest(stmt.name.name, runnerNames())}; known runners: ${runnerNames().join(', ')} (your own: ${OWN_RUNNER})`, 'unknown-runner');
    return schema && { schema };
  }
  const lit = stmt.module!;
  const cannot = (why: string, code: DiagnosticCode) => err(lit.loc, `cannot use runner ${JSON.stringify(lit.value)}: ${why}`, code);
  if (lit.value.trim() === '') return void cannot('the path is empty (e.g. runner "./runners/toy.ts")', 'bad-runner-module');
  if (getSchema(lit.value)) return void cannot(`a built-in runner is named without quotes: runner ${lit.value}`, 'bad-runner-module');
  const file = runnerModulePath(lit.loc.file, lit.value);
  const badName = runnerModuleNameProblem(file);
  if (badName) return void cannot(badName, 'bad-runner-module');
  const state = pathRunner(file);
  if (!state) return void cannot('it was not loaded before checking (an entry point compiled without compileWithRunners)', 'runner-not-loaded');
  if (!state.ok) return void cannot(state.problem, state.code);
  const name = state.schema.name;
  if (getSchema(name)) return void cannot(`its runner is named "${name}", as the built-in runner: give it a name of its own`, 'runner-name-clash');
  return { schema: state.schema, module: file };
}
