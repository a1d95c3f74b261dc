// Semantic checks of one experiment (after `extends` has been merged) against its runner's schema.
import { record } from '../util/records.ts';
import { runCountProblem, seedProblem } from '../plan/limits.ts';
import type * as A from './ast.ts';
import type { CheckedExperiment } from './checked.ts';
import { diagnosticAt, type Diagnostic } from './diagnostics.ts';
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
  err: (loc: A.Loc, message: string, code: string) => void,
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
  err: (loc: A.Loc, message: string, code: string) => void,
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

export function checkExperiment(exp: A.ExperimentAst, setup: Setup, diags: Diagnostic[]): CheckedExperiment | undefined {
  const file = exp.loc.file;
  const start = diags.length;
  const err = (loc: A.Loc, message: string, code: string) => diags.push(diagnosticAt(loc, message, code));
  const warn = (loc: A.Loc, message: string, code: string) => diags.push(diagnosticAt(loc, message, code, 'warning'));

  if (!setup.runner) {
    err(exp.name.loc, `experiment "${exp.name.value}" has no runner: add e.g. "runner mlp_distill" (known runners: ${runnerNames().join(', ')}; your own: ${OWN_RUNNER})`, 'missing-runner');
    return undefined;
  }
  const resolved = runnerSchemaOf(setup.runner, err);
  if (!resolved) return undefined;
  const schema = resolved.schema;
  const specs = new Map(schema.params.map((p) => [p.name, p]));
  const paramNames = schema.params.map((p) => p.name);

  // Parameters: defaults, then `set`s (inherited first).
  const params = record<A.Value>();
  for (const p of schema.params) params[p.name] = p.default;
  const extra = new Set<string>(); // open runners: names the schema does not list
  const checkName = (id: A.Ident): ParamSpec | undefined | null => {
    const spec = specs.get(id.name);
    if (spec) return spec;
    if (schema.open) {
      extra.add(id.name);
      return undefined;
    }
    err(id.loc, `unknown parameter "${id.name}" for runner ${schema.name}${suggest(id.name, paramNames)}`, 'unknown-parameter');
    return null;
  };
  for (const s of setup.sets) {
    const spec = checkName(s.name);
    if (spec === null) continue;
    if (spec) {
      const e = valueError(spec, s.value);
      if (e) {
        err(s.value.loc, e, 'bad-value');
        continue;
      }
    } else if (s.value.kind === 'list') {
      err(s.value.loc, `"${s.name.name}" takes a single value, not a list (to vary it, write "sweep ${s.name.name} in [...]")`, 'bad-value');
      continue;
    }
    if (s.value.kind !== 'list') params[s.name.name] = literalValue(s.value);
  }
  const sweeps: { name: string; values: A.Value[] }[] = [];
  const sweepByName = new Map<string, A.Value[]>();
  for (const sw of setup.sweeps) {
    const spec = checkName(sw.name);
    if (spec === null) continue;
    if (sw.values.items.length === 0) {
      err(sw.values.loc, `sweep of "${sw.name.name}" needs at least one value`, 'empty-sweep');
      continue;
    }
    let ok = true;
    const values: A.Value[] = [];
    for (const item of sw.values.items) {
      const e = spec ? valueError(spec, item) : undefined;
      if (e) {
        err(item.loc, e, 'bad-value');
        ok = false;
        continue;
      }
      const v = literalValue(item);
      if (values.some((x) => sameValue(x, v))) warn(item.loc, `${showLiteral(item)} appears twice in the sweep of "${sw.name.name}"`, 'duplicate-value');
      else values.push(v);
    }
    if (!ok) continue;
    sweeps.push({ name: sw.name.name, values });
    sweepByName.set(sw.name.name, values);
  }
  for (const n of extra) if (!(n in params)) params[n] = '';

  for (const m of missingRequired(schema, params)) err(setup.runner.loc, m, 'missing-parameter');
  if (!diags.slice(start).some((d) => d.severity === 'error')) crossCheck(schema, setup, params, sweeps, err);
  if (!diags.slice(start).some((d) => d.severity === 'error')) fileCheck(schema, setup, file, params, sweeps, err);

  // Seeds, alpha, correction.
  let seeds = DEFAULT_SEEDS;
  if (setup.seeds) {
    const c = setup.seeds.count;
    if (!Number.isInteger(c.value) || c.value < 1) err(c.loc, `seeds must be a whole number >= 1 but is ${c.text}`, 'bad-seeds');
    else seeds = c.value;
    if (!schema.seeded) warn(setup.seeds.loc, `runner ${schema.name} is deterministic: seeds has no effect (one run per sweep point)`, 'seeds-ignored');
  }
  if (!schema.seeded) seeds = 1;
  {
    // The same limit the planner enforces, said at check time (with the `seeds` line).
    const points = sweeps.reduce((n, sw) => n * sw.values.length, 1);
    const tooMany = runCountProblem(points, seeds);
    if (tooMany) err(setup.seeds?.count.loc ?? setup.runner.loc, tooMany, 'too-many-runs');
    if (schema.seeded) {
      const bases = sweepByName.get('seed') ?? [params.seed];
      for (const b of bases) {
        const bad = typeof b === 'number' ? seedProblem(b, seeds) : undefined;
        const at = setup.sweeps.find((x) => x.name.name === 'seed') ?? setup.sets.find((x) => x.name.name === 'seed');
        if (bad) {
          err(at?.loc ?? setup.runner.loc, bad, 'bad-seed');
          break;
        }
      }
    }
  }
  let alpha = DEFAULT_ALPHA;
  if (setup.alpha) {
    const a = setup.alpha.value;
    if (!(a.value > 0 && a.value < 1)) err(a.loc, `alpha must be between 0 and 1 (exclusive) but is ${a.text}`, 'bad-alpha');
    else alpha = a.value;
  }
  const correction = setup.correction?.method ?? DEFAULT_CORRECTION;

  // Metrics.
  const runnerMetrics = schema.metrics.map((m) => m.name);
  const measured: string[] = [];
  for (const m of setup.measures) {
    for (const id of m.metrics) {
      if (!schema.open && !runnerMetrics.includes(id.name)) {
        err(id.loc, `unknown metric "${id.name}" for runner ${schema.name}${suggest(id.name, runnerMetrics)}`, 'unknown-metric');
        continue;
      }
      if (!measured.includes(id.name)) measured.push(id.name);
    }
  }
  if (schema.open && setup.measures.length === 0 && exp.predictions.length > 0) {
    err(setup.runner.loc, `runner ${schema.name} has no fixed metrics: name the ones your program prints with "measure a, b"`, 'missing-measure');
  }
  const measures = measured.length > 0 || schema.open ? measured : runnerMetrics;
  const keys = (schema.keys ?? []).map((k) => k.name);
  const allParams = [...paramNames, ...extra];
  /**
   * An open runner's program prints its own key columns (strings, booleans): a name in `where` or
   * `for each` that is neither a parameter nor a measured metric is one of those, known only after
   * the run. Said when it looks like a misspelt parameter; a column no row has makes the
   * prediction untestable ("no column named ...").
   */
  const programKey = (id: A.Ident): boolean => {
    if (!schema.open || allParams.includes(id.name) || measures.includes(id.name)) return false;
    const near = suggest(id.name, allParams);
    if (near) warn(id.loc, `"${id.name}" is not a parameter: taken as a column your program prints${near}`, 'program-key');
    return true;
  };

  const checkMetric = (id: A.Ident) => {
    if (measures.includes(id.name)) return;
    if (runnerMetrics.includes(id.name)) {
      err(id.loc, `metric "${id.name}" is not measured: add it to a measure line`, 'unmeasured-metric');
    } else if (schema.open) {
      err(id.loc, `metric "${id.name}" is not measured: runner ${schema.name} reports only the metrics named by "measure"${suggest(id.name, measures)}`, 'unknown-metric');
    } else {
      const hint = allParams.includes(id.name) ? ` ("${id.name}" is a parameter)` : suggest(id.name, runnerMetrics);
      err(id.loc, `unknown metric "${id.name}" for runner ${schema.name}${hint}`, 'unknown-metric');
    }
  };

  /** Values a parameter takes over the plan: its sweep, else its fixed value. */
  const valuesOf = (name: string): { values: A.Value[]; swept: boolean } =>
    sweepByName.has(name) ? { values: sweepByName.get(name)!, swept: true } : { values: [params[name]!], swept: false };

  const describeValues = (name: string): string => {
    const { values, swept } = valuesOf(name);
    return swept ? `"${name}" is swept over [${values.map(showValue).join(', ')}]` : `"${name}" is fixed at ${showValue(values[0]!)}`;
  };

  const holds = (v: A.Value, op: A.ConditionOp, target: A.Value): boolean => {
    switch (op) {
      case '=': return v === target;
      case '!=': return v !== target;
      case '<': return (v as number) < (target as number);
      case '<=': return (v as number) <= (target as number);
      case '>': return (v as number) > (target as number);
      case '>=': return (v as number) >= (target as number);
    }
  };

  const checkCondition = (c: A.Condition, where: 'where' | 'at') => {
    const name = c.param.name;
    if (where === 'where' && (keys.includes(name) || programKey(c.param))) return; // key values are known only after the run
    if (!allParams.includes(name)) {
      const known = where === 'where' ? [...allParams, ...keys] : allParams;
      const what = where === 'where' && keys.length ? 'parameter or key' : 'parameter';
      const hint = runnerMetrics.includes(name) || measures.includes(name) ? ` ("${name}" is a metric; ${where} selects sweep points by parameter)` : suggest(name, known);
      err(c.param.loc, `unknown ${what} "${name}" in ${where}${hint}`, 'unknown-parameter');
      return;
    }
    if (where === 'at' && c.op !== '=') {
      err(c.loc, `"at" picks one sweep point: write "${name} = value", not "${c.op}"`, 'bad-at');
      return;
    }
    const target = literalValue(c.value);
    const { values } = valuesOf(name);
    if (c.op !== '=' && c.op !== '!=') {
      if (typeof target !== 'number' || values.some((v) => typeof v !== 'number')) {
        err(c.loc, `"${c.op}" needs a numeric parameter and a number, but ${describeValues(name)}`, 'bad-condition');
        return;
      }
    }
    if (!values.some((v) => holds(v, c.op, target))) {
      err(c.value.loc, `${name} ${c.op} ${showLiteral(c.value)} selects no runs: ${describeValues(name)}`, 'empty-selection');
    }
  };

  const checkSweptNumeric = (param: A.Ident, form: string, minValues: number) => {
    const name = param.name;
    if (!allParams.includes(name)) {
      err(param.loc, `unknown parameter "${name}"${suggest(name, allParams)}: "${form}" needs a swept parameter`, 'unknown-parameter');
      return;
    }
    const values = sweepByName.get(name);
    if (!values) {
      err(param.loc, `"${name}" is not swept: "${form}" needs "sweep ${name} in [...]"`, 'not-swept');
      return;
    }
    if (values.some((v) => typeof v !== 'number')) {
      err(param.loc, `"${name}" is not numeric: "${form}" needs a sweep over numbers`, 'not-numeric');
      return;
    }
    if (values.length < minValues) err(param.loc, `"${form}" needs at least ${minValues} values of "${name}" but the sweep has ${values.length}`, 'too-few-values');
  };

  for (const p of exp.predictions) {
    const f = p.form;
    switch (f.kind) {
      case 'trend':
        checkMetric(f.metric);
        checkSweptNumeric(f.param, `${f.direction} with`, 2);
        break;
      case 'peak':
        checkMetric(f.metric);
        checkSweptNumeric(f.param, 'peaks in', 3);
        break;
      case 'flat':
        checkMetric(f.metric);
        checkSweptNumeric(f.param, 'is flat in', 2);
        if (!(f.tolerance.value >= 0)) err(f.tolerance.loc, `the tolerance of "is flat" must be >= 0 but is ${f.tolerance.text}`, 'bad-tolerance');
        break;
      case 'correlates':
        checkMetric(f.metric);
        checkMetric(f.other);
        if (f.metric.name === f.other.name) err(f.other.loc, `"${f.metric.name}" correlates with itself: name two different metrics`, 'self-correlation');
        break;
      case 'compare':
        if (f.left.kind === 'const' && f.right.kind === 'const') {
          err(f.loc, `compares two numbers: at least one side must be a metric`, 'constant-comparison');
        }
        for (const side of [f.left, f.right]) {
          if (side.kind !== 'metric') continue;
          checkMetric(side.metric);
          for (const c of side.at) checkCondition(c, 'at');
        }
        break;
    }
    for (const c of p.where) checkCondition(c, 'where');
    for (const id of p.forEach) {
      if (keys.includes(id.name) || programKey(id)) continue;
      if (!allParams.includes(id.name)) {
        const what = keys.length ? 'parameter or key' : 'parameter';
        err(id.loc, `unknown ${what} "${id.name}" in "for each"${suggest(id.name, [...allParams, ...keys])}`, 'unknown-parameter');
      } else if (!sweepByName.has(id.name)) {
        warn(id.loc, `"${id.name}" is not swept: "for each ${id.name}" makes a single group`, 'for-each-fixed');
      }
    }
  }

  if (diags.slice(start).some((d) => d.severity === 'error')) return undefined;
  return {
    file,
    name: exp.name.value,
    ast: exp,
    runner: schema,
    ...(resolved.module ? { runnerModule: resolved.module } : {}),
    params,
    explicit: setup.sets.map((s) => s.name.name),
    sweeps,
    seeds,
    alpha,
    correction,
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
function runnerSchemaOf(stmt: A.RunnerStmt, err: (loc: A.Loc, message: string, code: string) => void): { schema: RunnerSchema; module?: string } | undefined {
  if (stmt.name) {
    const schema = getSchema(stmt.name.name);
    if (!schema) err(stmt.name.loc, `unknown runner "${stmt.name.name}"${suggest(stmt.name.name, runnerNames())}; known runners: ${runnerNames().join(', ')} (your own: ${OWN_RUNNER})`, 'unknown-runner');
    return schema && { schema };
  }
  const lit = stmt.module!;
  const cannot = (why: string, code: string) => err(lit.loc, `cannot use runner ${JSON.stringify(lit.value)}: ${why}`, code);
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
