// `sublab export-model FILE.exp --model base|teacher|control --out DIR`: one model of a planned
// lm_distill run written as a transformers.js folder for the token_probe runner. The model is the
// stage artifact the run reads (computed through the runner's own stage code when missing).
import fs from 'node:fs';
import path from 'node:path';
import { resolveCacheDir } from '../exec/cache.ts';
import { createProgressRenderer, type ExecProgress } from '../exec/progress.ts';
import { PlanError, loadPlan } from '../exec/session.ts';
import { handleStopSignals, signalExitCode } from '../exec/stop-signals.ts';
import { showValue } from '../language/check.ts';
import { diagnosticAt, escapeControl, formatDiagnostic } from '../language/diagnostics.ts';
import type { Loc } from '../language/ast.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { needPackages } from '../util/optional-packages.ts';
import { has } from '../util/records.ts';
import { common, defineCommand, flag, overridesOf, text, whole, type CommandSpec } from './args.ts';
import { UsageError } from './command.ts';

const MODELS = ['base', 'teacher', 'control'] as const;
type Which = (typeof MODELS)[number];

const spec = {
  name: 'export-model',
  synopsis: 'FILE.exp --model base|teacher|control --out DIR [options]',
  summary: "write an lm_distill run's base or teacher as a model folder for token_probe",
  description: `Writes one model of a planned lm_distill run as a transformers.js folder (config.json, word-level
tokenizer.json, tokenizer_config.json with a chat template, onnx/model.onnx) that the token_probe
runner loads: set model = "DIR" (a relative path is looked up beside that .exp file first).
The model is the run's stage artifact, read from the stage store beside the result cache; a missing
one is computed as \`sublab run\` would compute it (and kept for the run).`,
  options: {
    model: {
      help: 'base: the pretrained base; teacher: the base fine-tuned toward the trait;\ncontrol: the control teacher (fine-tuned the same way on uniform animals)',
      arg: 'WHICH',
      parse: (t: string, f: string): Which => {
        if (!(MODELS as readonly string[]).includes(t)) throw new UsageError(`${f} expects base, teacher or control, got "${t}"`);
        return t as Which;
      },
    },
    out: text('DIR', 'the folder to write (must be empty or missing, unless --force)'),
    seed: whole('N', 0, "which run of the point: its seed (default the experiment's first seed)"),
    point: whole('I', 0, 'which sweep point (as `sublab plan` numbers them); needed when the experiment sweeps'),
    experiment: text('NAME', 'which experiment of the file, when it holds several'),
    set: { ...common.set, help: 'override a parameter, as in sublab run (repeatable; a swept parameter collapses to the value)' },
    cache: { ...common.cache, help: 'the result cache whose stage store holds the models (default $SUBLAB_CACHE, else .sublab/cache in the project)' },
    force: flag('write into DIR even if it is not empty (files of the same names are replaced)'),
    'no-progress': flag('no progress line while stages are computed'),
  },
  footer: 'Exit code: 0 written, 1 failed, 2 usage error, a file that does not compile, or a run that cannot be exported.',
  positionals: { min: 1, max: 1, missing: 'no file given', extra: 'one .exp file at a time' },
} satisfies CommandSpec;

/** A refusal about the file: `file:line:col: error: …` at the statement it concerns. */
const located = (exp: ExperimentPlan, loc: Loc | undefined, message: string) =>
  new PlanError(loc ? formatDiagnostic(diagnosticAt(loc, message, 'export-model')) : `${exp.experiment.file}: experiment "${exp.experiment.name}": ${message}`, exp.experiment.name);

function pickExperiment(plans: ExperimentPlan[], name: string | undefined, file: string): ExperimentPlan {
  const names = plans.map((p) => JSON.stringify(p.experiment.name)).join(', ');
  let plan: ExperimentPlan | undefined;
  if (name !== undefined) {
    plan = plans.find((p) => p.experiment.name === name);
    if (!plan) throw new PlanError(`${file}: no experiment named ${JSON.stringify(name)} (it holds ${names})`, name);
  } else if (plans.length === 1) plan = plans[0]!;
  else throw new PlanError(`${file} holds ${plans.length} experiments (${names}): name one with --experiment NAME`, plans[0]!.experiment.name);
  const ast = plan.experiment.ast;
  if (plan.experiment.runner.name !== 'lm_distill') {
    throw located(plan, ast.runner?.loc ?? ast.name.loc, `experiment "${plan.experiment.name}" runs runner ${plan.experiment.runner.name}; export-model writes the models of lm_distill runs`);
  }
  return plan;
}

function pickRun(plan: ExperimentPlan, point: number | undefined, seed: number | undefined) {
  const exp = plan.experiment;
  const axes = exp.sweeps.filter((s) => !has(plan.overrides, s.name)).map((s) => s.name);
  const describe = (i: number) => `${i}: ${axes.map((a) => `${a}=${showValue(plan.points[i]!.values[a]!)}`).join(' ')}`;
  const sweepLoc = exp.ast.sweeps[0]?.loc;
  if (point === undefined && plan.points.length > 1) {
    const list = plan.points.slice(0, 6).map((p) => describe(p.index)).join('; ');
    throw located(plan, sweepLoc, `the experiment has ${plan.points.length} sweep points (${list}${plan.points.length > 6 ? '; …' : ''}): choose one with --point I, or --set the swept parameter`);
  }
  const pt = point ?? 0;
  if (pt >= plan.points.length) throw located(plan, sweepLoc, `--point ${pt}: the experiment has ${plan.points.length} sweep point${plan.points.length === 1 ? '' : 's'} (0–${plan.points.length - 1})`);
  const runs = plan.runs.filter((r) => r.point === pt);
  const seeds = runs.map((r) => r.seed);
  const run = seed === undefined ? runs[0] : runs.find((r) => r.seed === seed);
  if (!run) {
    const range = seeds.length > 1 ? `${seeds[0]}–${seeds[seeds.length - 1]}` : String(seeds[0]);
    const loc = exp.ast.seeds?.loc ?? [...exp.ast.sets].reverse().find((s) => s.name.name === 'seed')?.loc;
    throw located(plan, loc, `--seed ${seed}: not a seed of experiment "${exp.name}" (its seeds: ${range}); pass one of them, or --set seed=${seed}`);
  }
  return run;
}

function checkOut(out: string, force: boolean): string {
  const abs = path.resolve(out);
  const st = fs.statSync(abs, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) throw new PlanError(`--out ${out}: exists and is not a folder`, '');
  if (st && !force && fs.readdirSync(abs).length > 0) throw new PlanError(`--out ${out}: the folder is not empty (pass --force to write into it)`, '');
  return abs;
}

export const command = defineCommand(spec, async ({ values, positionals }) => {
  const file = positionals[0]!;
  if (!values.model) throw new UsageError('missing --model base|teacher|control');
  if (!values.out) throw new UsageError('missing --out DIR');
  const which = values.model;
  const out = checkOut(values.out, values.force === true);
  const { plans } = await loadPlan(file, { overrides: overridesOf(values.set) });
  const plan = pickExperiment(plans, values.experiment, file);
  const run = pickRun(plan, values.point, values.seed);
  needPackages('export-model', ['onnxruntime-node', 'onnx-proto']);

  const { lmDistillSchema } = await import('../runners/lm_distill/schema.ts');
  const { exportProblem, exportRunModel } = await import('../runners/lm_distill/export-model.ts');
  const { StageStore, bindStages, shortKey } = await import('../exec/stages.ts');
  const params = lmDistillSchema.resolve(run.params);
  const bad = exportProblem(params, which);
  if (bad) throw located(plan, [...plan.experiment.ast.sets].reverse().find((s) => s.name.name === 'trait_method')?.loc, bad);

  const expDir = path.dirname(path.resolve(file));
  const store = new StageStore(path.join(resolveCacheDir(values.cache, file), 'stages'));
  const bar = values['no-progress'] ? undefined : createProgressRenderer();
  const label = `export ${which}`;
  const stages: NonNullable<ExecProgress['stages']> = {};
  const outcome: Record<string, string> = {};
  let runner: ExecProgress['runner'];
  const show = (finished = false) => bar?.update({ experiment: label, total: 1, done: finished ? 1 : 0, cached: 0, failed: 0, remaining: finished ? 0 : 1, etaMs: null, runner, stages: structuredClone(stages), finished });
  const stop = handleStopSignals((sig) => process.stderr.write(`\nsublab export-model: interrupted (${sig}); stopping (finished stages are kept)\n`));
  const progress = (m: NonNullable<ExecProgress['runner']>) => { runner = m; show(); };
  const bound = bindStages(lmDistillSchema, {
    progress,
    signal: stop.signal,
    stageStore: store,
    expDir,
    onStage: (e) => {
      const c = (stages[e.stage] ??= { computed: 0, reused: 0, corrupt: 0 });
      c[e.outcome]++;
      if (e.corrupt) c.corrupt++;
      outcome[e.key] = e.outcome;
      show();
    },
  });
  let done;
  try {
    done = await exportRunModel({ id: run.id, seed: run.seed, params }, which, out, { stageGroup: bound.stageGroup, progress, signal: stop.signal }, { experiment: plan.experiment.name });
    runner = undefined;
    show(true);
  } catch (e) {
    bar?.stop();
    if (stop.signal.aborted) return signalExitCode(stop.received() ?? 'SIGINT');
    process.stderr.write(`sublab export-model: error: ${escapeControl((e as Error).message)}\n`);
    return 1;
  } finally {
    bar?.stop();
    bound.close();
    stop.dispose();
  }
  // What token_probe's `model` needs: the folder relative to the .exp file's folder when it lies
  // inside it, else its absolute path; shown relative to the working directory the same way.
  const inside = (from: string, prefix: string) => {
    const rel = path.relative(from, out);
    return rel === '' ? prefix || '.' : rel.startsWith('..') || path.isAbsolute(rel) ? out : `${prefix}${rel}`;
  };
  const forExp = inside(expDir, './');
  const from = Object.entries(done.keys).map(([stage, key]) => `${stage} ${shortKey(key)} (${outcome[key] ?? 'stored'})`).join(', ');
  process.stdout.write(
    escapeControl(
      `wrote the ${which} of run ${run.id.slice(0, 12)} (experiment "${plan.experiment.name}", seed ${run.seed}${done.baseSeed !== run.seed ? `, base seed ${done.baseSeed}` : ''}) to ${inside(process.cwd(), '')}\n` +
        `  from stage artifacts ${from}\n` +
        `  probe it from an experiment in ${path.relative(process.cwd(), expDir) || '.'}: runner token_probe, set model = "${forExp.split(path.sep).join('/')}"\n`,
    ),
  );
  return 0;
});
