// `sublab worker FILE.exp --task I --tasks N`: one SLURM array task. Plans the file exactly as
// `sublab run` does (same overrides → same run ids), takes its share and executes it into the cache.
import fs from 'node:fs';
import type { Value } from '../language/ast.ts';
import { failureText } from '../results/types.ts';
import { handleStopSignals, signalExitCode } from '../exec/stop-signals.ts';
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { executePlan } from '../exec/executor.ts';
import { openSession } from '../exec/session.ts';
import { metricScopeOf } from '../plan/needs.ts';
import { common, defineCommand, errorExit, executionOf, executionOptions, overridesOf, text, wholeNumber, type CommandSpec, type ExecutionOptions } from './args.ts';
import { UsageError } from './command.ts';
import { appendAll } from '../util/arrays.ts';

const spec = {
  name: 'worker',
  synopsis: 'FILE.exp [--task I] [--tasks N] [options]',
  summary: 'run one share of an experiment into the cache (a SLURM array task)',
  description: `Runs one share of the file's runs into the result cache (one task of a SLURM job array; see
\`sublab submit\`). Shares are deterministic: every task of the same command plans the same runs
and takes units k with k % N == I (runs of one sweep point stay together up to the runner's batch).`,
  options: {
    task: text('I', "this task's index, 0..N-1 (default $SLURM_ARRAY_TASK_ID)"),
    tasks: text('N', 'number of tasks (default $SLURM_ARRAY_TASK_COUNT)'),
    cache: { ...common.cache, help: 'result cache directory, shared by all tasks (default $SUBLAB_CACHE or .sublab/cache)' },
    seeds: { ...common.seeds, help: 'override the number of seeds (as for sublab run)' },
    set: { ...common.set, help: 'override a parameter (repeatable; as for sublab run)' },
    ...executionOptions,
  },
  footer: 'exit status: 0 all of this task\'s runs finished; 1 any failed; 2 usage or language error.',
  positionals: { min: 1, max: 1, missing: 'no .exp file given', extra: 'give exactly one .exp file' },
} satisfies CommandSpec;

/** --task / --tasks, else the SLURM variable. */
function index(flagName: string, given: string | undefined, env: string, min: number): number {
  const t = given ?? process.env[env];
  if (t === undefined || t === '') throw new UsageError(`${flagName} not given and $${env} is not set`);
  return wholeNumber(flagName, t, min, given === undefined ? ` (from $${env})` : '');
}

export interface WorkerOptions {
  file: string;
  task: number;
  tasks: number;
  cacheDir?: string;
  overrides?: Record<string, Value>;
  seeds?: number;
  /** How runs are executed and what they compute (`--retries`, `--all-metrics`, …): planned with and handed whole to the executor. */
  execution?: Partial<ExecutionOptions>;
  log?: (line: string) => void;
  /** Stops the work (SIGINT/SIGTERM/SIGHUP): programs stopped, claims released. */
  signal?: AbortSignal;
}

export interface WorkerResult {
  /** Unique runs in this task's share. */
  runs: number;
  computed: number;
  cached: number;
  failed: string[];
}

/** The worker's body, callable from tests: plan, shard, execute into the cache. */
export async function runWorker(o: WorkerOptions): Promise<WorkerResult> {
  const log = o.log ?? ((l: string) => process.stdout.write(l + '\n'));
  if (!fs.existsSync(o.file)) throw new UsageError(`no such file: ${o.file}`);
  // What the runs compute (--all-metrics) is planned as `sublab run` plans it: submit hands it on.
  const metrics = metricScopeOf(o.execution);
  const session = await openSession(o.file, { overrides: o.overrides, seeds: o.seeds, ...(metrics ? { metrics } : {}) });
  const { plans } = session;
  const shares = session.share(o.task, o.tasks);
  const cache = new ResultCache(resolveCacheDir(o.cacheDir, o.file), { warn: (m) => log(`warning: ${m}`) });
  const tag = `[task ${o.task}/${o.tasks}]`;
  const result: WorkerResult = { runs: 0, computed: 0, cached: 0, failed: [] };
  for (const plan of shares) {
    const ids = new Set(plan.runs.map((r) => r.id));
    const total = plans.find((p) => p.experiment === plan.experiment)!;
    const all = new Set(total.runs.map((r) => r.id)).size;
    log(`${tag} experiment "${plan.experiment.name}": ${ids.size} of ${all} runs${ids.size ? '' : ' (nothing to do)'}`);
    if (ids.size === 0) continue;
    let last = -1;
    const table = await executePlan(plan, {
      ...o.execution,
      cache,
      signal: o.signal,
      runner: session.runnerOf(plan),
      warn: (m) => log(`${tag} warning: ${m}`),
      onProgress: (p) => {
        const settled = p.done + p.cached + p.failed;
        if (settled === last) return;
        last = settled;
        log(`${tag} ${settled}/${p.total} (${p.done} computed, ${p.cached} cached, ${p.failed} failed)`);
      },
    });
    const cachedIds = new Set(table.rows.filter((r) => r.cached).map((r) => r.runId));
    const failedIds = new Set(table.failed.map((f) => f.runId));
    result.runs += ids.size;
    result.cached += cachedIds.size;
    const sweeps = plan.experiment.sweeps.map((s) => s.name);
    appendAll(result.failed, table.failed.map((f) => failureText(f, sweeps)));
    result.computed += ids.size - cachedIds.size - failedIds.size;
  }
  log(`${tag} done: ${result.runs} runs, ${result.computed} computed, ${result.cached} cached, ${result.failed.length} failed · cache ${cache.dir}`);
  for (const f of result.failed) log(`${tag} ✘ ${f}`);
  return result;
}

export const command = defineCommand(spec, async ({ values, positionals }) => {
  const tasks = index('--tasks', values.tasks, 'SLURM_ARRAY_TASK_COUNT', 1);
  const task = index('--task', values.task, 'SLURM_ARRAY_TASK_ID', 0);
  if (task >= tasks) throw new UsageError(`--task ${task} is out of range for --tasks ${tasks} (0..${tasks - 1})`);
  // SLURM's time limit and scancel send SIGTERM: stop the programs and release the claims at once,
  // so another task takes the runs over without waiting for them to expire.
  const stop = handleStopSignals((sig) => process.stderr.write(`sublab worker: interrupted (${sig}); stopping (finished runs are kept)\n`));
  try {
    const r = await runWorker({ file: positionals[0]!, task, tasks, cacheDir: values.cache, overrides: overridesOf(values.set), seeds: values.seeds, execution: executionOf(values), signal: stop.signal });
    return r.failed.length ? 1 : 0;
  } catch (e) {
    const sig = stop.received();
    if (sig) return signalExitCode(sig);
    if (errorExit('worker', e) !== undefined) return 2;
    process.stderr.write(`sublab worker: error: ${(e as Error).message}\n`);
    return 1;
  } finally {
    stop.dispose();
  }
});
