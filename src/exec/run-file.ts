// One .exp file from source to verdicts: compile → plan (session.ts) → execute → judge. The CLI,
// the Vitest plugin and the report command all go through here, so they cannot disagree.
import { performance } from 'node:perf_hooks';
import type { Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { CompileResult } from '../language/compile.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { metricScopeOf, type MetricScope } from '../plan/needs.ts';
import type { ResultTable } from '../results/types.ts';
import { judgeExperiment } from '../verdict/judge.ts';
import type { Verdict } from '../verdict/types.ts';
import { ResultCache, resolveCacheDir } from './cache.ts';
import { firstResultAt } from '../prereg/status.ts';
import { recordSeen } from '../prereg/seen.ts';
import { executePlan } from './executor.ts';
import { autoJobs, poolSize, requestedJobs, startPool, type Pool } from './pool.ts';
import type { ExecProgress } from './progress.ts';
import { loadPlan, sessionOf } from './session.ts';
import type { ExecutionOptions } from '../cli/args.ts';

export interface ExperimentResult {
  experiment: CheckedExperiment;
  plan: ExperimentPlan;
  table: ResultTable;
  verdicts: Verdict[];
  /** Wall time of plan + execution + judging. */
  wallMs: number;
  /** Runs read from the cache (not computed by this call). */
  cacheHits: number;
}

export interface RunFileOptions {
  overrides?: Record<string, Value>;
  seeds?: number;
  fresh?: boolean;
  /** Cache directory; default $SUBLAB_CACHE or `.sublab/cache` in the file's project. */
  cacheDir?: string;
  /** false: no cache at all (nothing read, nothing written). */
  cache?: boolean;
  /** How runs are executed (`--retries`, …): handed whole to the executor and the `--jobs` children. */
  execution?: Partial<ExecutionOptions>;
  onProgress?: (p: ExecProgress) => void;
  warn?: (msg: string) => void;
  signal?: AbortSignal;
  /**
   * Source text instead of reading `file` (for a caller holding text not saved there); handed to
   * the `--jobs` children so they plan what this process planned. The Vitest runtime does not pass
   * it: it reads the file again.
   */
  source?: string;
  /** Which metrics the runs compute (src/plan/needs.ts; default 'verdicts'). */
  metrics?: MetricScope;
  /** Called after each experiment, before the next one starts. */
  onExperiment?: (r: ExperimentResult) => void;
  /**
   * Processes computing runs at once (default $SUBLAB_JOBS, else 1; auto: as many as the cores
   * hold, see `autoJobs`). Above 1, jobs − 1 child processes share the work through the cache
   * (see pool.ts); needs the cache.
   */
  jobs?: number | 'auto';
}

export async function runFile(file: string, given: RunFileOptions = {}): Promise<{ compile: CompileResult; experiments: ExperimentResult[] }> {
  const metrics = metricScopeOf(given.execution) ?? given.metrics;
  const opts: RunFileOptions = { ...given, ...(metrics ? { metrics } : {}) };
  // Throws LanguageError or PlanError before anything runs.
  const { compile, plans } = await loadPlan(file, opts);
  const cache = opts.cache === false ? undefined : new ResultCache(resolveCacheDir(opts.cacheDir, file), { warn: opts.warn });
  const requested = requestedJobs(opts.jobs);
  // Runners are loaded up front only for a pool (`--jobs auto` asks them how many cores a group
  // uses); in one process a runner is loaded when something is computed.
  const session = requested === 'auto' ? await sessionOf(file, compile, plans) : undefined;
  const jobs = session ? autoJobs(session) : (requested as number);
  const experiments: ExperimentResult[] = [];
  let pool: Pool | undefined;
  if (jobs > 1 && !cache) opts.warn?.('--jobs needs the result cache (the processes share work through it); running in one process');
  try {
    // Children only pay off when something is left to compute, one per run left at most.
    const left = jobs > 1 && cache ? new Set(plans.flatMap((p) => p.runs.filter((r) => opts.fresh || !cache.has(r.id)).map((r) => r.id))).size : 0;
    const size = poolSize(jobs, left);
    if (size.capped) opts.warn?.(`--jobs ${jobs}: this machine has ${size.jobs} cores; running ${size.jobs} processes`);
    if (size.jobs > 1 && cache) {
      pool = await startPool({
        session: session ?? (await sessionOf(file, compile, plans)),
        source: opts.source,
        overrides: opts.overrides,
        seeds: opts.seeds,
        ...(opts.metrics ? { metrics: opts.metrics } : {}),
        cache,
        fresh: opts.fresh,
        execution: opts.execution,
        jobs: size.jobs,
        warn: opts.warn,
        signal: opts.signal,
      });
    }
    for (const [k, plan] of plans.entries()) {
      const t0 = performance.now();
      const execOpts = { ...opts.execution, cache, fresh: opts.fresh, onProgress: opts.onProgress, warn: opts.warn, signal: opts.signal };
      const table = pool ? await pool.execute(k, execOpts) : await executePlan(plan, execOpts);
      // Results of this setup exist from now on, whatever later happens to the cache.
      const first = firstResultAt(table.rows);
      if (first) recordSeen(plan.experiment, first);
      const verdicts = judgeExperiment(plan.experiment, table);
      const cacheHits = new Set(table.rows.filter((r) => r.cached).map((r) => r.runId)).size;
      const result: ExperimentResult = { experiment: plan.experiment, plan, table, verdicts, wallMs: performance.now() - t0, cacheHits };
      experiments.push(result);
      opts.onExperiment?.(result);
    }
  } finally {
    await pool?.close();
  }
  return { compile, experiments };
}
