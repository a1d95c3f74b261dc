// The shapes a runner is declared with (define.ts builds them: defineRunner) and the interface
// the executor calls. The checker, the CLI help and the generated reference read the declaration.
import { record } from '../util/records.ts';
import type { Value } from '../language/ast.ts';
import type { StageEvent, StageStore } from '../exec/stages.ts';

export type ParamType = 'number' | 'integer' | 'string' | 'enum' | 'boolean';

export interface ParamSpec {
  name: string;
  type: ParamType;
  default: Value;
  description: string;
  /** Allowed values for `enum`. */
  values?: readonly string[];
  /** Inclusive bounds for `number` / `integer`. */
  min?: number;
  max?: number;
  /**
   * Parameters that only choose how work is executed (batch capacity, backend) and cannot change
   * a result are left out of run hashes.
   */
  executionOnly?: boolean;
  /**
   * The experiment must set it: its default is a placeholder (the command runner's program).
   * `sublab check` says what it is for and gives the example.
   */
  required?: { needs: string; example: Value };
  /**
   * In a runner with `stages`: the first stage whose computation reads this parameter (it then
   * feeds that stage's key and, through it, every stage after it), several when unrelated stages
   * read it, or 'run' when only the run's own computation after the stages does. Every parameter
   * of a staged runner says which, except `seed` (a stage's `seeded` covers it) and executionOnly
   * ones (they cannot change a result, so no artifact either).
   */
  stage?: string | readonly string[];
  /**
   * Added to the runner after experiments were run with it; its default reproduces what runs did
   * before it existed. Run ids and the setup that preregistration records leave it out while it
   * holds its default, so earlier results stay cached and registered predictions stay registered.
   */
  addedLater?: boolean;
  /**
   * The value may name a folder whose files the runner's fileDependencies hash under `<name>/`
   * (token_probe's `model` when it is a local folder): a run whose dependency set holds such files
   * is identified by their contents instead of this value, so the same files at another path keep
   * the run's id.
   */
  identifiedByFiles?: boolean;
}

/** Whether a parameter's value is left out of run ids and the registered setup (see ParamSpec.addedLater). */
export const atAddedDefault = (p: ParamSpec | undefined, v: Value): boolean => p?.addedLater === true && v === p.default;

/**
 * The parameters a result depends on, as run ids and registrations read them: without
 * execution-only parameters, and without parameters added later while at their default.
 */
export function identityParams(params: readonly ParamSpec[], values: Readonly<Record<string, Value>>): Record<string, Value> {
  const spec = new Map(params.map((p) => [p.name, p]));
  const out = record<Value>();
  for (const [k, v] of Object.entries(values)) {
    const p = spec.get(k);
    if (p?.executionOnly || atAddedDefault(p, v)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * A stage of a runner: work that runs sharing its inputs compute once, kept as an artifact in the
 * stage store (src/exec/stages.ts). Its key is derived, never listed by hand: runner name and
 * version, stage name, the parameters declared `stage: <this stage>`, the keys of the `after`
 * stages, the hash of the source files `code` reaches, the seed (when seeded), and `data`.
 */
export interface StageSchema {
  /** A name unique in the runner, not 'run': letters, digits, '_' and '-'. */
  name: string;
  /** Stages whose artifacts this one reads (declared before it). */
  after?: readonly string[];
  /**
   * The modules that compute the artifact, as `new URL('./teacher.ts', import.meta.url)` or an
   * absolute path: every file their relative imports reach is hashed into the key (util/source-graph.ts).
   */
  code: readonly (string | URL)[];
  /** Whether the artifact depends on the run's seed (default: the runner's `seeded`). */
  seeded?: boolean;
  /**
   * The seed the artifact is drawn from when it is not the run's own (a model every seed of a
   * sweep shares): a function of the run's resolved parameters and seed, so `sublab plan` derives
   * the same key. Default: the run's seed.
   */
  seedOf?(params: Readonly<Record<string, Value>>, seed: number): number;
  /**
   * Identity of the data the stage reads beyond its parameters (e.g. a digest of the dataset files
   * a path parameter names), as JSON; a function of the run's resolved parameters so that
   * `sublab plan` can derive keys without running. `expDir` resolves relative paths.
   */
  data?(params: Readonly<Record<string, Value>>, env: { expDir: string }): unknown;
  /**
   * The artifacts of this stage a run reads besides its own, each drawn from another seed (a
   * cross-init student starts from the next seed's base): `as` names the role the run records it
   * under (`<stage>:<as>`), `seed` the seed it is drawn from. Its key, and the keys of the stages
   * it comes after (recorded as `<upstream>:<as>` when they are computed for it), are those of the
   * same parameters drawn from that seed. A function of the run's resolved parameters and seed, so
   * `sublab plan` counts them.
   */
  reads?(params: Readonly<Record<string, Value>>, seed: number): readonly StageRead[];
}

/** One further artifact of a stage a run reads (StageSchema.reads). */
export interface StageRead {
  /** The role it is recorded under, `<stage>:<as>`: letters, digits, '_' and '-'. */
  as: string;
  /** The seed it is drawn from. */
  seed: number;
}

export interface MetricSpec {
  name: string;
  description: string;
  /** Unit or range, e.g. "accuracy in [0,1]". */
  unit?: string;
  /**
   * In a runner that declares `parts`: the parts that compute this metric (an arm, an evaluation).
   * A run asked for this metric computes them; none (or absent) = computed whatever is asked.
   */
  computedBy?: readonly string[];
}

/**
 * Work a runner can leave out when no needed metric asks for it: an arm (a model trained), an
 * evaluation, or the per-epoch curves (the kind `curves`, which no metric names: asked for by
 * `--all-metrics`, see docs/runners.md). Runners that declare none compute everything always.
 */
export interface PartSpec {
  name: string;
  kind: 'arm' | 'evaluation' | 'curves';
  description: string;
}

export interface RunnerSchema {
  name: string;
  /** Bumped whenever a change could alter results: part of every run hash. */
  version: string;
  description: string;
  params: readonly ParamSpec[];
  metrics: readonly MetricSpec[];
  /**
   * false for deterministic runners (token_probe on a fixed model): seeds do not vary rows, and a
   * verdict on a single row is "exact, n = 1".
   */
  seeded: boolean;
  /**
   * Columns (besides params and metrics) that a run's rows carry, e.g. token_probe's `number`
   * or `category`: usable in `for each` and `where`.
   */
  keys?: readonly { name: string; description: string }[];
  /**
   * Open runners (`command`) accept parameters the schema does not list (type taken from the
   * value) and take their metric names from the experiment's `measure` lines.
   */
  open?: boolean;
  /**
   * Files a run depends on besides its parameters (the command runner's program and `inputs`),
   * hashed into its run id: for the experiment in `expFile`, a function from a run's params to
   * {file: sha256}, or undefined for a run that depends on no file (its id is then as without
   * fileDependencies). Editing such a file then gives new run ids.
   */
  fileDependencies?: (expFile: string) => (params: Readonly<Record<string, Value>>) => Record<string, string> | undefined;
  /** Stages whose artifacts runs share (declared in defineRunner, reached through ctx.stage). */
  stages?: readonly StageSchema[];
  /** Work computed only when a needed metric's `computedBy` names it (see PartSpec). */
  parts?: readonly PartSpec[];
}

/** One planned run handed to a runner: resolved parameters and one seed. */
export interface RunSpec {
  id: string;
  params: Readonly<Record<string, Value>>;
  seed: number;
}

/** What a runner returns for one RunSpec: one or more rows (token_probe returns one per number). */
export interface RunOutput {
  rows: RunOutputRow[];
  /** Backend actually used, e.g. "wasm", "tensorflow", "cpu", "onnxruntime-node/cpu". */
  backend: string;
  /** Anything reports may want (per-epoch curves, etc.). Must be JSON-serialisable. */
  extras?: Record<string, unknown>;
}

export interface RunOutputRow {
  metrics: Record<string, number>;
  /** Set by the executor: metrics that were NaN or ±Infinity (JSON would store them as null). */
  nonFinite?: Record<string, 'Infinity' | '-Infinity' | 'NaN'>;
  /** Runner-produced key columns (see RunnerSchema.keys). */
  keys?: Record<string, Value>;
  /** Set when the runner could not read the row (its metrics are NaN): why, for the run summary. */
  unusable?: RowUnusable;
}

export interface RowUnusable {
  /** A few words, the same for every row refused the same way ("duplicate key"). */
  reason: string;
  /** This row's case ('field "y" appears twice (stdout line 2)'). */
  detail?: string;
}

export interface RunContext {
  /**
   * Progress line for long work; the executor renders it (TTY bar or quiet). Optional fields make
   * the ETA exact from the first steps (see RunnerProgress in src/exec/progress.ts).
   */
  progress(msg: { phase: string; done: number; total: number; detail?: string; fraction?: number; runs?: number }): void;
  /** Cancelled when the user interrupts. */
  signal?: AbortSignal;
  /** Directory for runner-level caches (e.g. trained teachers), inside the result cache. */
  cacheDir?: string;
  /**
   * The experiment's folder (the .exp file's directory): what relative paths in parameters are
   * relative to. Not part of run ids. Absent (direct calls): the process's working directory.
   */
  expDir?: string;
  /** The experiment's `measure` names (every metric when it has none and the runner is closed). */
  measures?: readonly string[];
  /**
   * The stage store (the executor's, beside the result cache). Declared runners reach it through
   * ctx.stage / ctx.stageGroup; without it those compute every artifact in a temporary folder.
   */
  stageStore?: StageStore;
  /** Told of every stage artifact a group computed or reused, with the runs that use it. */
  onStage?: (e: StageEvent) => void;
  /**
   * For a runner that declares `parts`: the parts to compute for this group (src/plan/needs.ts);
   * metrics whose parts are not here are left out of the rows. Absent: every part.
   */
  parts?: readonly string[];
}

/** What the executor loads; a declared runner gets one from `defineRunner(...).implement(...)`. */
export interface Runner {
  schema: RunnerSchema;
  /**
   * Run a group of runs that share all parameters but the seed (so side-by-side runners such as
   * mlp_distill can train them as one batched computation). Returns one output per spec, in order.
   * The executor splits groups to at most `maxGroup` specs.
   */
  run(specs: readonly RunSpec[], ctx: RunContext): Promise<RunOutput[]>;
  maxGroup?: (params: Readonly<Record<string, Value>>) => number;
  /** Cores one group keeps busy (default 1); `--jobs auto` starts as many processes as fit the cores. */
  cores?: (params: Readonly<Record<string, Value>>) => number;
}
