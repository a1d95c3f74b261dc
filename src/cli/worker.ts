// `sublab worker FILE.exp --task I --tasks N`: one SLURM array task. Plans the file exactly as
// `sublab run` does (same overrides → same run ids), takes its share and executes it into the cache.
import fs from 'node:fs';
import type { Value } from '../language/ast.ts';
import { LanguageError } from '../language/errors.ts';
import { failureText } from '../results/types.ts';
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { executePlan } from '../exec/executor.ts';
import { openSession, PlanError } from '../exec/session.ts';
import { parseCommandArgs, withUsage } from './args.ts';
import { UsageError, type Command } from './command.ts';

const usage = `usage: sublab worker FILE.exp [--task I] [--tasks N] [options]

Runs one share of the file's runs into the result cache (one task of a SLURM job array; see
\`sublab submit\`). Shares are deterministic: every task of the same command plans the same runs
and takes units k with k % N == I (runs of one sweep point stay together up to the runner's batch).

options:
  --task I           this task's index, 0..N-1 (default $SLURM_ARRAY_TASK_ID)
  --tasks N          number of tasks (default $SLURM_ARRAY_TASK_COUNT)
  --cache DIR        result cache directory, shared by all tasks (default $SUBLAB_CACHE or .sublab/cache)
  --seeds N          override the number of seeds (as for sublab run)
  --set key=value    override a parameter (repeatable; as for sublab run)
  --retries N        extra attempts for a run that throws (default 0)

exit status: 0 all of this task's runs finished; 1 any failed; 2 usage or language error.`;

/** `--set` list → overrides, parsed exactly as `sublab run` parses them. */
export function parseSets(sets: readonly string[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const kv of sets ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--set expects key=value, got "${kv}"`);
    const key = kv.slice(0, i).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new UsageError(`--set: "${key}" is not a parameter name`);
    out[key] = kv.slice(i + 1); // typed by the planner, exactly as for sublab run
  }
  return out;
}

function index(flag: string, text: string | undefined, env: string, min: number): number {
  const t = text ?? process.env[env];
  if (t === undefined || t === '') throw new UsageError(`${flag} not given and $${env} is not set`);
  if (!/^\d+$/.test(t) || Number(t) < min) throw new UsageError(`${flag} expects a whole number >= ${min}, got "${t}"${text === undefined ? ` (from $${env})` : ''}`);
  return Number(t);
}

export interface WorkerOptions {
  file: string;
  task: number;
  tasks: number;
  cacheDir?: string;
  overrides?: Record<string, Value>;
  seeds?: number;
  retries?: number;
  log?: (line: string) => void;
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
  const session = await openSession(o.file, { overrides: o.overrides, seeds: o.seeds });
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
      cache,
      retries: o.retries,
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
    result.failed.push(...table.failed.map((f) => failureText(f, sweeps)));
    result.computed += ids.size - cachedIds.size - failedIds.size;
  }
  log(`${tag} done: ${result.runs} runs, ${result.computed} computed, ${result.cached} cached, ${result.failed.length} failed · cache ${cache.dir}`);
  for (const f of result.failed) log(`${tag} ✘ ${f}`);
  return result;
}

export const command: Command = {
  summary: 'run one share of an experiment into the cache (a SLURM array task)',
  usage,
  run: (args) =>
    withUsage(usage, async () => {
      const { values, positionals } = parseCommandArgs(args, {
        task: { type: 'string' },
        tasks: { type: 'string' },
        cache: { type: 'string' },
        seeds: { type: 'string' },
        set: { type: 'string', multiple: true },
        retries: { type: 'string' },
      });
      if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give exactly one .exp file' : 'no .exp file given');
      const tasks = index('--tasks', values.tasks, 'SLURM_ARRAY_TASK_COUNT', 1);
      const task = index('--task', values.task, 'SLURM_ARRAY_TASK_ID', 0);
      if (task >= tasks) throw new UsageError(`--task ${task} is out of range for --tasks ${tasks} (0..${tasks - 1})`);
      const seeds = values.seeds === undefined ? undefined : index('--seeds', values.seeds, '', 1);
      const retries = values.retries === undefined ? 0 : index('--retries', values.retries, '', 0);
      try {
        const r = await runWorker({ file: positionals[0]!, task, tasks, cacheDir: values.cache, overrides: parseSets(values.set), seeds, retries });
        return r.failed.length ? 1 : 0;
      } catch (e) {
        if (e instanceof LanguageError || e instanceof PlanError) {
          process.stderr.write(e.message + '\n');
          return 2;
        }
        if (e instanceof UsageError) throw e;
        process.stderr.write(`sublab worker: ${(e as Error).message}\n`);
        return 1;
      }
    }),
};
