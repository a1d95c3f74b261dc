import { has } from '../util/records.ts';
import { PlanError } from '../exec/session.ts';
import { common, defineCommand, flag, overridesOf } from './args.ts';
import { compileWithRunners, formatDiagnostics } from '../language/compile.ts';
import { planExperiment } from '../plan/plan.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { showValue } from '../language/check.ts';
import { formatDiagnostic } from '../language/diagnostics.ts';
import { undecidablePredictions } from '../verdict/decidable.ts';
import { escapeControl } from '../language/diagnostics.ts';
import fs from 'node:fs';
import path from 'node:path';
import { humanBytes } from '../util/bytes.ts';

/** One file hashed into an experiment's run ids: path relative to the .exp file, size, and whether only its size counts. */
interface HashedFile {
  file: string;
  bytes: number;
  sizeOnly: boolean;
}

/**
 * The files the plan's runs depend on (the runner's `fileDependencies`, e.g. the command runner's
 * program folder and inputs, a token_probe model folder), over every run; undefined when no run
 * depends on a file.
 */
export function hashedFiles(plan: ExperimentPlan): HashedFile[] | undefined {
  const exp = plan.experiment;
  const deps = exp.runner.fileDependencies?.(exp.file);
  if (!deps) return undefined;
  const expDir = path.dirname(path.resolve(exp.file));
  const seen = new Set<Record<string, string>>();
  const out = new Map<string, HashedFile>();
  const byFiles = exp.runner.params.filter((p) => p.identifiedByFiles).map((p) => p.name);
  let any = false;
  for (const r of plan.runs) {
    const files = deps(r.params);
    // Runs that share command, cwd and inputs share one set: look at each set once.
    if (!files || seen.has(files)) continue;
    any = true;
    seen.add(files);
    for (const [key, hash] of Object.entries(files)) {
      // A folder's files are keyed under the parameter that names it (`model/config.json`): shown
      // under the folder as the run names it, found beside the .exp file or from the working directory.
      const under = byFiles.find((n) => key.startsWith(`${n}/`));
      const file = under === undefined ? key : path.posix.normalize(`${String(r.params[under])}/${key.slice(under.length + 1)}`);
      if (out.has(file)) continue;
      const st = fs.statSync(path.resolve(expDir, file), { throwIfNoEntry: false }) ?? (under === undefined ? undefined : fs.statSync(path.resolve(file), { throwIfNoEntry: false }));
      out.set(file, { file, bytes: st?.size ?? 0, sizeOnly: hash.startsWith('size:') });
    }
  }
  // No run depends on a file (token_probe on hub ids): nothing to list.
  if (!any) return undefined;
  return [...out.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** The summary line of the hashed files, and with `list` one line per file. */
function filesLines(files: HashedFile[], list: boolean): string[] {
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const bySize = files.filter((f) => f.sizeOnly);
  const lines = [
    `  code and inputs hashed into the run ids: ${files.length} file${files.length === 1 ? '' : 's'}, ${humanBytes(total)}${bySize.length ? ` (${bySize.length} identified by size only, over the size sublab reads: name them in inputs to hash their contents)` : ''}${list ? ':' : ' (--files lists them)'}`,
  ];
  if (list) {
    const w = Math.max(0, ...files.map((f) => f.file.length));
    for (const f of files) lines.push(`    ${f.file.padEnd(w)}  ${humanBytes(f.bytes).padStart(10)}${f.sizeOnly ? '  size only' : ''}`);
  }
  return lines;
}

import { ResultCache, holdsParts, resolveCacheDir } from '../exec/cache.ts';
import { describeParts } from '../plan/needs.ts';
import { StageStore, stageNeeds } from '../exec/stages.ts';
import { runnerPackages } from '../runners/registry.ts';
import { missingPackages } from '../util/optional-packages.ts';

type Needs = ReturnType<typeof stageNeeds> & { problem?: string };

/**
 * A staged runner's artifacts, as the plan derives them (a store that is not there holds none).
 * Keys that cannot be derived here (the runner's engine or data is not installed, a data identity
 * that fails) leave the plan as it is and say why the stages are not counted.
 */
function needsOf(plan: ExperimentPlan, cacheDir: string | undefined): Needs {
  const none = { stages: [], keysByRun: new Map() };
  if (!plan.experiment.runner.stages?.length) return none;
  const missing = missingPackages(runnerPackages[plan.experiment.runner.name] ?? []);
  if (missing.length) return { ...none, problem: `the ${plan.experiment.runner.name} runner needs ${missing.join(', ')}: npm install ${missing.join(' ')}` };
  const root = path.join(resolveCacheDir(cacheDir, plan.experiment.file), 'stages');
  try {
    return stageNeeds(plan, new StageStore(root));
  } catch (e) {
    return { ...none, problem: `cannot derive their keys: ${(e as Error).message}` };
  }
}

/**
 * What the runs compute (src/plan/needs.ts): "2 of 4 arms (student, cross), evaluations: cka,
 * no curves", or everything for a runner that declares no parts; and, where the cache exists, how
 * many runs hold it all and how many only part of it.
 */
export function computesLine(plan: ExperimentPlan, cacheDir: string | undefined): string {
  const n = plan.needs;
  let held = '';
  const dir = resolveCacheDir(cacheDir, plan.experiment.file);
  if (fs.existsSync(dir)) {
    const cache = new ResultCache(dir, { warn: () => {} });
    const ids = [...new Set(plan.runs.map((r) => r.id))];
    let whole = 0, part = 0;
    for (const id of ids) {
      const x = cache.inspect(id);
      if (x.status !== 'hit') continue;
      if (holdsParts(x.entry, n?.parts)) whole++;
      else part++;
    }
    held = `; cached: ${whole} of ${ids.length} runs${part ? `, ${part} more in part (the parts they lack are computed and merged)` : ''}`;
  }
  const what = describeParts(plan.experiment.runner, n?.parts);
  if (!n?.parts) return `  computes: ${what}${held}`;
  return `  computes: ${what} (for ${n.metrics.join(', ') || 'no metrics'}${n.scope === 'all' ? '' : '; --all-metrics: everything'})${held}`;
}

/** "teacher: 10 needed, 4 cached · data: 10 needed, 0 cached" */
export function stagesLine(needs: Needs['stages']): string {
  return needs.map((n) => `${n.stage}: ${n.needed} needed, ${n.cached} cached`).join(' · ');
}

function table(plan: ExperimentPlan, needs: Needs, listFiles: boolean, cacheDir: string | undefined): string {
  const exp = plan.experiment;
  const axes = exp.sweeps.filter((s) => !has(plan.overrides, s.name)).map((s) => s.name);
  const seedsPerPoint = plan.points.length ? plan.runs.length / plan.points.length : 0;
  const lines = [
    `experiment "${exp.name}" (${exp.file}): runner ${exp.runner.name} v${exp.runner.version}, ${plan.points.length} point${plan.points.length === 1 ? '' : 's'} x ${seedsPerPoint} seed${seedsPerPoint === 1 ? '' : 's'} = ${plan.runs.length} runs`,
  ];
  const ov = Object.entries(plan.overrides);
  if (ov.length) lines.push(`  overrides: ${ov.map(([k, v]) => `${k}=${showValue(v)}`).join(', ')}`);
  const files = hashedFiles(plan);
  if (files) lines.push(...filesLines(files, listFiles));
  // Stage artifacts the runs share (src/exec/stages.ts): how many, and how many the store holds.
  if (needs.stages.length) lines.push(`  stages: ${stagesLine(needs.stages)}`);
  else if (needs.problem) lines.push(`  stages: not counted (${needs.problem})`);
  lines.push(computesLine(plan, cacheDir));
  // Runs grouped by point once (filtering per point was quadratic in the plan size).
  const byPoint = new Map<number, typeof plan.runs>();
  for (const r of plan.runs) {
    const l = byPoint.get(r.point);
    if (l) l.push(r);
    else byPoint.set(r.point, [r]);
  }
  const rows = plan.points.map((p) => {
    const runs = byPoint.get(p.index) ?? [];
    if (runs.length === 0) return [String(p.index), axes.map((a) => `${a}=${showValue(p.values[a]!)}`).join(' ') || '(no sweep)', '-', '-'];
    const seeds = runs.length === 1 ? String(runs[0]!.seed) : `${runs[0]!.seed}..${runs[runs.length - 1]!.seed}`;
    const ids = runs.length <= 2 ? runs.map((r) => r.id).join(' ') : `${runs[0]!.id} .. ${runs[runs.length - 1]!.id}`;
    return [String(p.index), axes.map((a) => `${a}=${showValue(p.values[a]!)}`).join(' ') || '(no sweep)', seeds, ids];
  });
  const head = ['point', 'sweep', 'seeds', 'run ids'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  lines.push(fmt(head));
  for (const r of rows) lines.push(fmt(r));
  return lines.map(escapeControl).join('\n');
}

export const command = defineCommand(
  {
    name: 'plan',
    synopsis: 'FILE.exp... [options]',
    summary: 'show the runs an .exp file expands to (sweep grid x seeds, run ids)',
    description: 'Expands each experiment into its runs: the sweep grid x seeds, each run with its content hash.',
    options: {
      json: flag('print { "experiments": [ { "name", "stages"?, "computes"?, "runs": [ { "id", "runner", "params", "seed", "stages"? } ] } ] } (stages: a staged runner\'s artifacts needed and cached, and each run\'s stage keys;\nwith --files, each experiment also has "files": [ { "file", "bytes", "sizeOnly" } ])'),
      files: flag("list the files hashed into the run ids (the command runner's program folder and inputs, a token_probe model folder)"),
      seeds: common.seeds,
      'all-metrics': { ...common['all-metrics'], help: 'plan what `sublab run --all-metrics` computes (every metric, with the curves)' },
      cache: { ...common.cache, help: 'the result cache whose stage store is counted (default $SUBLAB_CACHE, else .sublab/cache in the project)' },
      set: { ...common.set, help: 'override a parameter (repeatable; a swept parameter collapses to the value)' },
    },
    footer: 'Exit code: 0 ok, 1 the file has errors, 2 usage error or bad override.',
    positionals: { min: 1, missing: 'no file given' },
  },
  async ({ values, positionals }) => {
    const seeds = values.seeds;
    const plans: ExperimentPlan[] = [];
    const needs: Needs[] = [];
    let failed = false;
    for (const file of positionals) {
      const r = await compileWithRunners(file);
      if (r.diagnostics.length) process.stderr.write(formatDiagnostics(r) + '\n');
      if (r.diagnostics.some((d) => d.severity === 'error')) {
        failed = true;
        continue;
      }
      for (const exp of r.experiments) {
        const overrides = overridesOf(values.set);
        try {
          plans.push(planExperiment(exp, { overrides, ...(seeds !== undefined ? { seeds } : {}), ...(values['all-metrics'] ? { metrics: 'all' as const } : {}) }));
        } catch (err) {
          throw new PlanError(`${file}: experiment "${exp.name}": ${(err as Error).message}`, exp.name);
        }
        needs.push(needsOf(plans[plans.length - 1]!, values.cache));
        // Predictions these runs can never decide (a trend over 3 rows: p ≥ 1/3).
        for (const d of undecidablePredictions(exp, plans[plans.length - 1]!.runs)) process.stderr.write(formatDiagnostic(d, r.sources[d.file]) + '\n');
      }
    }
    if (failed) return 1;
    if (values.json) {
      // Written run by run: one string for a very large plan would pass V8's string limit.
      const w = (t: string) => process.stdout.write(t);
      w('{\n  "experiments": [');
      plans.forEach((p, k) => {
        const n = needs[k]!;
        const stages = n.stages.length ? `\n      "stages": ${JSON.stringify(n.stages)},` : n.problem ? `\n      "stagesNotCounted": ${JSON.stringify(n.problem)},` : '';
        const files = values.files ? hashedFiles(p) : undefined;
        const computes = p.needs?.parts ? `\n      "computes": ${JSON.stringify({ metrics: p.needs.metrics, parts: p.needs.parts, curves: p.needs.curves })},` : '';
        w(`${k ? ',' : ''}\n    {\n      "name": ${JSON.stringify(p.experiment.name)},\n      "file": ${JSON.stringify(p.experiment.file)},${stages}${computes}${files ? `\n      "files": ${JSON.stringify(files)},` : ''}\n      "runs": [`);
        let chunk: string[] = [];
        p.runs.forEach((r, i) => {
          const keys = n.keysByRun.get(r.id);
          chunk.push(`${i ? ',' : ''}\n        ${JSON.stringify({ id: r.id, runner: r.runner, params: r.params, seed: r.seed, ...(keys ? { stages: keys } : {}) })}`);
          if (chunk.length >= 1000) {
            w(chunk.join(''));
            chunk = [];
          }
        });
        w(chunk.join('') + (p.runs.length ? '\n      ]' : ']') + '\n    }');
      });
      w((plans.length ? '\n  ]' : ']') + '\n}\n');
    } else {
      process.stdout.write(plans.map((p, k) => table(p, needs[k]!, values.files === true, values.cache)).join('\n\n') + '\n');
    }
    return 0;
  },
);
