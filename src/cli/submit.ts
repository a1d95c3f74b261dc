// `sublab submit FILE.exp --slurm`: write an sbatch job-array script whose tasks each run
// `sublab worker` on their share of the plan into one shared cache, and submit it.
import path from 'node:path';
import { projectRoot, resolveCacheDir } from '../exec/cache.ts';
import { runSbatch, SbatchError, sbatchArgs, sbatchScript, shellQuote, writeScript } from '../exec/slurm.ts';
import { loadPlan, sessionOf } from '../exec/session.ts';
import { metricScopeOf } from '../plan/needs.ts';
import { common, defineCommand, executionArgs, executionOf, executionOptions, flag, many, overridesOf, text, whole, type CommandSpec, type Parsed } from './args.ts';
import { UsageError } from './command.ts';
import { uncommittedMessage, uncommittedRegistrations } from '../prereg/run-guard.ts';

const spec = {
  name: 'submit',
  synopsis: 'FILE.exp --slurm [options] [-- sbatch options...]',
  summary: 'submit an experiment as a SLURM job array (each task runs a share into a shared cache)',
  description: `Writes an sbatch job-array script (one array task per share of the runs, each running
\`sublab worker\`) and submits it with sbatch. Every task writes into the same result cache, which
must be on a filesystem all nodes share; afterwards \`sublab run FILE.exp --cache DIR\` (same --set
and --seeds) finds every run cached and prints the verdicts.`,
  options: {
    slurm: flag('submit to SLURM (the only scheduler so far; required)'),
    tasks: whole('N', 1, 'array size (default: one task per batch of runs, at most 1000)'),
    cache: { ...common.cache, help: 'shared result cache (default $SUBLAB_CACHE or .sublab/cache in the project)' },
    seeds: { ...common.seeds, help: 'override the number of seeds (passed to every task)' },
    set: { ...common.set, help: 'override a parameter (repeatable; passed to every task)' },
    ...executionOptions,
    'allow-uncommitted-lock': common['allow-uncommitted-lock'],
    script: text('PATH', 'where to write the script (default .sublab/slurm/<job>-<time>.sbatch)'),
    logs: text('DIR', 'per-task stdout/stderr (default .sublab/slurm/logs)'),
    setup: many({
      ...text('LINE', "a shell line run before the worker on the node, e.g. 'module load nodejs/20'\n(repeatable; the worker starts with `node` from PATH)"),
    }),
    'dry-run': flag('print the script and the sbatch command; write and submit nothing'),
  },
  moreHelp: [['-- OPTIONS...', 'everything after -- goes to sbatch verbatim (e.g. -- --partition=gpu --time=2:00:00)']],
  footer: `Like sublab run, submit stops (exit 2) when registered predictions are not committed in git
(--allow-uncommitted-lock to submit anyway); the workers do not check again.

exit status: 0 submitted (or printed); 1 sbatch missing or failed; 2 usage or language error, or
uncommitted registrations.`,
  positionals: { min: 1, max: 1, missing: 'no .exp file given', extra: 'give exactly one .exp file' },
  afterDashDash: 'rest',
} satisfies CommandSpec;

const MAX_ARRAY = 1000;

export async function submitCommand({ values, positionals, rest: sbatchOptions }: Parsed<typeof spec.options>): Promise<number> {
  if (!values.slurm) throw new UsageError('say where to submit: --slurm (the only scheduler supported so far)');
  const file = path.resolve(positionals[0]!);
  const { seeds } = values;
  let tasks = values.tasks;
  const overrides = overridesOf(values.set);

  // A LanguageError or PlanError is printed by the command wrapper (exit 2).
  const execution = executionOf(values);
  const metrics = metricScopeOf(execution);
  const planned = await loadPlan(file, { overrides, seeds, ...(metrics ? { metrics } : {}) });
  const { plans } = planned;
  // Checked here, not in each worker: once submitted, the tasks compute what submit planned.
  if (!values['allow-uncommitted-lock'] && !values['dry-run']) {
    const found = uncommittedRegistrations(plans, { cacheDir: values.cache });
    if (found.length) {
      process.stderr.write(`sublab submit: error: ${uncommittedMessage(found, '--allow-uncommitted-lock')}\n`);
      return 2;
    }
  }
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
  // What the plan depends on goes to the workers and to the `sublab run` that collects; how runs
  // are executed, to the workers only.
  const planArgs: string[] = [];
  for (const [k, v] of values.set ?? []) planArgs.push('--set', `${k}=${v}`);
  if (seeds !== undefined) planArgs.push('--seeds', String(seeds));
  const execArgs = executionArgs(execution);
  // The collecting run tables every metric the workers computed (and computes nothing more).
  const collectArgs = metrics === 'all' ? ['--all-metrics'] : [];

  let script: string;
  try {
    for (const l of values.setup ?? []) if (/[\n\r]/.test(l)) throw new Error(`--setup takes one line, got ${JSON.stringify(l)}`);
    script = sbatchScript({ file, projectDir: project, cacheDir, tasks, logDir, jobName, planArgs, executionArgs: execArgs, collectArgs, sbatchOptions, setup: values.setup });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const n of notes) process.stderr.write(`sublab submit: note: ${n}\n`);
  const collect = `sublab run ${[path.relative(process.cwd(), file) || file, '--cache', cacheDir, ...planArgs, ...collectArgs].map(shellQuote).join(' ')}`;
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
      process.stderr.write(`sublab submit: error: ${e.message}\n  (the script is at ${scriptPath})\n`);
      return 1;
    }
    throw e;
  }
}

export const command = defineCommand(spec, submitCommand);
