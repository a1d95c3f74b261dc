// `sublab submit FILE.exp --slurm`: write an sbatch job-array script whose tasks each run
// `sublab worker` on their share of the plan into one shared cache, and submit it.
import path from 'node:path';
import { projectRoot, resolveCacheDir } from '../exec/cache.ts';
import { runSbatch, SbatchError, sbatchArgs, sbatchScript, shellQuote, writeScript } from '../exec/slurm.ts';
import { planFile, PlanError, sessionOf } from '../exec/session.ts';
import { LanguageError } from '../language/errors.ts';
import { parseCommandArgs, withUsage } from './args.ts';
import { UsageError, type Command } from './command.ts';
import { parseSets } from './worker.ts';

const usage = `usage: sublab submit FILE.exp --slurm [options] [-- sbatch options...]

Writes an sbatch job-array script (one array task per share of the runs, each running
\`sublab worker\`) and submits it with sbatch. Every task writes into the same result cache, which
must be on a filesystem all nodes share; afterwards \`sublab run FILE.exp --cache DIR\` (same --set
and --seeds) finds every run cached and prints the verdicts.

options:
  --slurm            submit to SLURM (the only scheduler so far; required)
  --tasks N          array size (default: one task per batch of runs, at most 1000)
  --cache DIR        shared result cache (default $SUBLAB_CACHE or .sublab/cache in the project)
  --seeds N          override the number of seeds (passed to every task)
  --set key=value    override a parameter (repeatable; passed to every task)
  --retries N        extra attempts for a run that throws (default 0)
  --script PATH      where to write the script (default .sublab/slurm/<job>-<time>.sbatch)
  --logs DIR         per-task stdout/stderr (default .sublab/slurm/logs)
  --setup LINE       a shell line run before the worker on the node, e.g. 'module load nodejs/20'
                     (repeatable; the worker starts with \`node\` from PATH)
  --dry-run          print the script and the sbatch command; write and submit nothing
  -- OPTIONS...      everything after -- goes to sbatch verbatim (e.g. -- --partition=gpu --time=2:00:00)

exit status: 0 submitted (or printed); 1 sbatch missing or failed; 2 usage or language error.`;

const MAX_ARRAY = 1000;

export async function submitCommand(args: string[]): Promise<number> {
  const dd = args.indexOf('--');
  const own = dd >= 0 ? args.slice(0, dd) : args;
  const sbatchOptions = dd >= 0 ? args.slice(dd + 1) : [];
  const { values, positionals } = parseCommandArgs(own, {
    slurm: { type: 'boolean' },
    tasks: { type: 'string' },
    cache: { type: 'string' },
    seeds: { type: 'string' },
    set: { type: 'string', multiple: true },
    retries: { type: 'string' },
    script: { type: 'string' },
    logs: { type: 'string' },
    setup: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
  });
  if (!values.slurm) throw new UsageError('say where to submit: --slurm (the only scheduler supported so far)');
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give exactly one .exp file' : 'no .exp file given');
  const whole = (flag: string, v: string | undefined, min: number) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${flag} expects a whole number >= ${min}, got "${v}"`);
    return Number(v);
  };
  const file = path.resolve(positionals[0]!);
  const seeds = whole('--seeds', values.seeds, 1);
  const retries = whole('--retries', values.retries, 0);
  let tasks = whole('--tasks', values.tasks, 1);
  const overrides = parseSets(values.set);

  let planned;
  try {
    planned = planFile(file, { overrides, seeds });
  } catch (e) {
    if (e instanceof LanguageError || e instanceof PlanError) {
      process.stderr.write(e.message + '\n');
      return 2;
    }
    throw e;
  }
  const { plans } = planned;
  const unique = plans.reduce((s, p) => s + new Set(p.runs.map((r) => r.id)).size, 0);
  const notes: string[] = [];
  if (tasks === undefined) {
    // One task per runner batch: as parallel as possible without splitting what the runner batches.
    const units = (await sessionOf(file, planned.compile, plans)).units(1).length;
    tasks = Math.min(units, MAX_ARRAY);
  } else if (tasks > unique) {
    notes.push(`--tasks ${tasks} is more than the ${unique} runs; using ${unique}`);
    tasks = unique;
  }
  tasks = Math.max(1, tasks);

  const project = projectRoot(path.dirname(file));
  const cacheDir = resolveCacheDir(values.cache, file);
  const base = path.basename(file, '.exp').replace(/[^A-Za-z0-9_.-]+/g, '_');
  const jobName = `sublab-${base}`;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const scriptPath = path.resolve(values.script ?? path.join(project, '.sublab', 'slurm', `${jobName}-${stamp}.sbatch`));
  const logDir = path.resolve(values.logs ?? path.join(project, '.sublab', 'slurm', 'logs'));
  const workerArgs: string[] = [];
  for (const kv of values.set ?? []) workerArgs.push('--set', kv);
  if (seeds !== undefined) workerArgs.push('--seeds', String(seeds));
  if (retries !== undefined) workerArgs.push('--retries', String(retries));

  let script: string;
  try {
    for (const l of values.setup ?? []) if (/[\n\r]/.test(l)) throw new Error(`--setup takes one line, got ${JSON.stringify(l)}`);
    script = sbatchScript({ file, projectDir: project, cacheDir, tasks, logDir, jobName, workerArgs, sbatchOptions, setup: values.setup });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const n of notes) process.stderr.write(`sublab submit: note: ${n}\n`);
  const collect = `sublab run ${[path.relative(process.cwd(), file) || file, '--cache', cacheDir, ...workerArgs.filter((a, i, l) => a !== '--retries' && l[i - 1] !== '--retries')].map(shellQuote).join(' ')}`;
  const sbatchLine = ['sbatch', ...sbatchArgs(scriptPath, sbatchOptions)].map(shellQuote).join(' ');

  if (values['dry-run']) {
    process.stdout.write(script);
    process.stdout.write(`\n# dry run: nothing written or submitted. It would run:\n#   ${sbatchLine}\n# then collect with:\n#   ${collect}\n`);
    return 0;
  }
  writeScript(scriptPath, script, logDir);
  try {
    const { jobId } = await runSbatch(scriptPath, sbatchOptions);
    process.stdout.write(
      [
        `submitted job ${jobId}: ${tasks} array task${tasks === 1 ? '' : 's'} for ${unique} runs of ${path.relative(process.cwd(), file) || file}`,
        `  script: ${scriptPath}`,
        `  logs:   ${logDir}`,
        `  cache:  ${cacheDir} (must be on a filesystem every node shares)`,
        `  watch:  squeue -j ${jobId}`,
        `  when it has finished, collect the results (nothing is recomputed):`,
        `    ${collect}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    if (e instanceof SbatchError) {
      process.stderr.write(`sublab submit: ${e.message}\n  (the script is at ${scriptPath})\n`);
      return 1;
    }
    throw e;
  }
}

export const command: Command = {
  summary: 'submit an experiment as a SLURM job array (each task runs a share into a shared cache)',
  usage,
  run: (args) => withUsage(usage, () => submitCommand(args)),
};
