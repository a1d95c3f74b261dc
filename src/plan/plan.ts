// Checked experiment → runs: the sweep grid (row-major over sweeps in source order) × seeds, each run
// identified by a content hash of what can change its result.
import { has, record } from '../util/records.ts';
import { createHash } from 'node:crypto';
import type { Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { identityParams, type RunnerSchema } from '../runners/schema.ts';
import { combinationProblem, paramProblem } from '../runners/define.ts';
import type { ExperimentPlan, PlannedRun, SweepPoint } from './types.ts';
import { runCountProblem, seedProblem } from './limits.ts';
import { gridPoints } from './grid.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { planNeeds, type MetricScope } from './needs.ts';

/** One digest per dependency set: runs sharing it share the object, and it may hold thousands of files. */
const filesDigests = new WeakMap<Record<string, string>, string>();
function filesDigest(files: Record<string, string>): string {
  let d = filesDigests.get(files);
  if (d === undefined) {
    d = createHash('sha256').update(canonicalJson(files)).digest('hex');
    filesDigests.set(files, d);
  }
  return d;
}

/**
 * `files`: the files the run depends on (the command runner's program folder and inputs, a
 * token_probe model folder), path → sha256, hashed in (as one digest) only when given, so the ids
 * of every other runner stay as they were. A parameter `identifiedByFiles` whose folder's files are
 * among them (keys under `<name>/`) is left out: the files' contents identify the run, not their path.
 */
export function runId(runner: RunnerSchema, params: Record<string, Value>, seed: number, files?: Record<string, string>): string {
  const relevant = identityParams(runner.params, params);
  delete relevant.seed; // the seed is its own field
  if (files) {
    for (const p of runner.params) {
      if (p.identifiedByFiles && Object.keys(files).some((k) => k.startsWith(`${p.name}/`))) delete relevant[p.name];
    }
  }
  const text = canonicalJson(files ? { runner: runner.name, version: runner.version, params: relevant, seed, files: filesDigest(files) } : { runner: runner.name, version: runner.version, params: relevant, seed });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A value written like an .exp literal: number, true/false, else string (quotes optional). */
export function parseLiteral(text: string): Value {
  const t = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (t === 'true') return true;
  if (t === 'false') return false;
  const q = /^"(.*)"$/.exec(t) ?? /^'(.*)'$/.exec(t);
  return q ? q[1]! : t;
}

/**
 * Turns a command-line `--set name=text` into a typed value using the parameter's declared type
 * (so `--set number=087` stays the string "087" for a string parameter). Parameters the schema
 * does not declare (open runners) are read as literals.
 */
export function parseOverride(runner: RunnerSchema, name: string, text: string): Value {
  const spec = runner.params.find((p) => p.name === name);
  const literal = parseLiteral(text);
  if (!spec) return literal;
  if (spec.type === 'number' || spec.type === 'integer') return typeof literal === 'number' ? literal : text;
  if (spec.type === 'boolean') return typeof literal === 'boolean' ? literal : text;
  return typeof literal === 'string' ? literal : text.trim();
}

function validateOverrides(exp: CheckedExperiment, overrides: Record<string, Value>): void {
  const runner = exp.runner;
  for (const [name, v] of Object.entries(overrides)) {
    const spec = runner.params.find((p) => p.name === name);
    if (!spec) {
      if (runner.open) continue;
      throw new Error(`unknown parameter "${name}" for runner ${runner.name} (known: ${runner.params.map((p) => p.name).join(', ')})`);
    }
    const problem = paramProblem(spec, v);
    if (problem) throw new Error(`--set ${name}=${String(v)}: ${problem}`);
  }
}

/** `metrics`: which metrics the runs must compute (needs.ts; default 'verdicts', what `sublab run` asks). */
export function planExperiment(exp: CheckedExperiment, opts: { overrides?: Record<string, Value>; seeds?: number; metrics?: MetricScope } = {}): ExperimentPlan {
  // Overrides given as text (the CLI's `--set`, a worker's settings) are typed here, by the one
  // schema, so `run`, `plan`, `worker` and `submit` plan identical runs from the same text.
  const overrides = record<Value>();
  for (const [k, v] of Object.entries(opts.overrides ?? {})) overrides[k] = typeof v === 'string' ? parseOverride(exp.runner, k, v) : v;
  validateOverrides(exp, overrides);
  if (opts.seeds !== undefined && (!Number.isInteger(opts.seeds) || opts.seeds < 1)) {
    throw new Error(`seeds must be a whole number >= 1, got ${opts.seeds}`);
  }
  const fixed: Record<string, Value> = { ...exp.params, ...overrides };
  // An overridden swept parameter collapses its axis to the override.
  const axes = exp.sweeps.filter((s) => !has(overrides, s.name));

  // Refuse an oversized grid before building it.
  const nSeedsEarly = exp.runner.seeded ? (opts.seeds ?? exp.seeds) : 1;
  const gridSize = axes.reduce((n, a) => n * a.values.length, 1);
  const tooBig = runCountProblem(gridSize, nSeedsEarly);
  if (tooBig) throw new Error(tooBig);

  const points: SweepPoint[] = [];
  for (const values of gridPoints(axes)) points.push({ index: points.length, values });
  // The checker ran the runner's checks across parameters on the file's own values; an override
  // can still make a combination that no run could start with.
  if (Object.keys(overrides).length) {
    const bad = combinationProblem(exp.runner, fixed, points.map((p) => p.values));
    if (bad) throw new Error(`--set ${Object.entries(overrides).map(([k, v]) => `${k}=${String(v)}`).join(' ')}: ${bad.text}`);
  }

  const nSeeds = exp.runner.seeded ? (opts.seeds ?? exp.seeds) : 1;
  const fileHashes = exp.runner.fileDependencies?.(exp.file);
  const runs: PlannedRun[] = [];
  for (const point of points) {
    // `seed` may itself be swept: the point's value is then the base seed.
    const base = has(point.values, 'seed') ? point.values.seed : fixed.seed;
    const baseSeed = typeof base === 'number' ? base : 0;
    // Seeds past 32 bits would alias smaller ones (or, past 2^53, each other): refuse them.
    if (exp.runner.seeded) {
      const bad = seedProblem(baseSeed, nSeeds);
      if (bad) throw new Error(bad);
    }
    for (let i = 0; i < nSeeds; i++) {
      const seed = baseSeed + i;
      // params.seed is the run's own seed, so a run's params describe it completely.
      const params: Record<string, Value> = { ...fixed, ...point.values, seed };
      runs.push({ id: runId(exp.runner, params, seed, fileHashes?.(params)), runner: exp.runner.name, runnerVersion: exp.runner.version, params, seed, point: point.index });
    }
  }
  return { experiment: exp, points, runs, overrides, needs: planNeeds(exp, opts.metrics ?? 'verdicts') };
}
