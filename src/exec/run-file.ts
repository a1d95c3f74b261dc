// One .exp file from source to verdicts: compile → plan → execute → judge. The CLI, the Vitest
// plugin and the report command all go through here, so they cannot disagree.
import { performance } from 'node:perf_hooks';
import type { Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import { hasErrors } from '../language/diagnostics.ts';
import { compileFile, formatDiagnostics, type CompileResult } from '../language/compile.ts';
import { planExperiment } from '../plan/plan.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import type { ResultTable } from '../results/types.ts';
import { judgeExperiment } from '../verdict/judge.ts';
import type { Verdict } from '../verdict/types.ts';
import { ResultCache, resolveCacheDir } from './cache.ts';
import { executePlan } from './executor.ts';
import type { ExecProgress } from './progress.ts';

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
  retries?: number;
  onProgress?: (p: ExecProgress) => void;
  warn?: (msg: string) => void;
  signal?: AbortSignal;
  /** Source text instead of reading `file` (the Vitest plugin has it already). */
  source?: string;
  /** Called after each experiment, before the next one starts. */
  onExperiment?: (r: ExperimentResult) => void;
}

/** The file does not compile; carries the diagnostics. */
export class LanguageError extends Error {
  constructor(readonly compile: CompileResult) {
    super(formatDiagnostics(compile));
    this.name = 'LanguageError';
  }
}

/** A bad `--set` override or seed count for one experiment (a usage error, not a crash). */
export class PlanError extends Error {
  constructor(
    message: string,
    readonly experiment: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

export async function runFile(file: string, opts: RunFileOptions = {}): Promise<{ compile: CompileResult; experiments: ExperimentResult[] }> {
  const compile = compileFile(file, opts.source !== undefined ? { source: opts.source } : undefined);
  if (hasErrors(compile.diagnostics)) throw new LanguageError(compile);
  const plans: ExperimentPlan[] = [];
  // Plan every experiment first so a bad override fails before any training starts.
  for (const exp of compile.experiments) {
    try {
      plans.push(planExperiment(exp, { overrides: opts.overrides, seeds: opts.seeds }));
    } catch (e) {
      throw new PlanError(`${file}: experiment "${exp.name}": ${(e as Error).message}`, exp.name);
    }
  }
  const cache = opts.cache === false ? undefined : new ResultCache(resolveCacheDir(opts.cacheDir, file), { warn: opts.warn });
  const experiments: ExperimentResult[] = [];
  for (const plan of plans) {
    const t0 = performance.now();
    const table = await executePlan(plan, {
      cache,
      fresh: opts.fresh,
      retries: opts.retries,
      onProgress: opts.onProgress,
      warn: opts.warn,
      signal: opts.signal,
    });
    const verdicts = judgeExperiment(plan.experiment, table);
    const cacheHits = new Set(table.rows.filter((r) => r.cached).map((r) => r.runId)).size;
    const result: ExperimentResult = { experiment: plan.experiment, plan, table, verdicts, wallMs: performance.now() - t0, cacheHits };
    experiments.push(result);
    opts.onExperiment?.(result);
  }
  return { compile, experiments };
}
