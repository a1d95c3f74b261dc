import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { parseCommandArgs, positiveInt, withUsage } from './args.ts';
import { compileFile, formatDiagnostics } from '../language/compile.ts';
import { planExperiment } from '../plan/plan.ts';
import type { Value } from '../language/ast.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { showValue } from '../language/check.ts';

const usage = `usage: sublab plan FILE.exp... [--json] [--seeds N] [--set name=value ...]

Expands each experiment into its runs: the sweep grid x seeds, each run with its content hash.
  --json            print { "experiments": [ { "name", "runs": [ { "id", "runner", "params", "seed" } ] } ] }
  --seeds N         override the number of seeds
  --set name=value  override a parameter (repeatable; a swept parameter collapses to the value)
Exit code: 0 ok, 1 the file has errors, 2 usage error or bad override.`;

function table(plan: ExperimentPlan): string {
  const exp = plan.experiment;
  const axes = exp.sweeps.filter((s) => !(s.name in plan.overrides)).map((s) => s.name);
  const seedsPerPoint = plan.points.length ? plan.runs.length / plan.points.length : 0;
  const lines = [
    `experiment "${exp.name}" (${exp.file}): runner ${exp.runner.name} v${exp.runner.version}, ${plan.points.length} point${plan.points.length === 1 ? '' : 's'} x ${seedsPerPoint} seed${seedsPerPoint === 1 ? '' : 's'} = ${plan.runs.length} runs`,
  ];
  const ov = Object.entries(plan.overrides);
  if (ov.length) lines.push(`  overrides: ${ov.map(([k, v]) => `${k}=${showValue(v)}`).join(', ')}`);
  const rows = plan.points.map((p) => {
    const runs = plan.runs.filter((r) => r.point === p.index);
    const seeds = runs.length === 1 ? String(runs[0]!.seed) : `${runs[0]!.seed}..${runs[runs.length - 1]!.seed}`;
    const ids = runs.length <= 2 ? runs.map((r) => r.id).join(' ') : `${runs[0]!.id} .. ${runs[runs.length - 1]!.id}`;
    return [String(p.index), axes.map((a) => `${a}=${showValue(p.values[a]!)}`).join(' ') || '(no sweep)', seeds, ids];
  });
  const head = ['point', 'sweep', 'seeds', 'run ids'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  lines.push(fmt(head), ...rows.map(fmt));
  return lines.join('\n');
}

export const command: Command = {
  summary: 'show the runs an .exp file expands to (sweep grid x seeds, run ids)',
  usage,
  run: (args) =>
    withUsage(usage, () => {
      const { values, positionals } = parseCommandArgs(args, {
        json: { type: 'boolean' },
        seeds: { type: 'string' },
        set: { type: 'string', multiple: true },
      });
      if (positionals.length === 0) throw new UsageError('no file given');
      const seeds = positiveInt('--seeds', values.seeds);
      const sets: [string, string][] = [];
      for (const s of values.set ?? []) {
        const eq = s.indexOf('=');
        if (eq <= 0) throw new UsageError(`--set expects name=value, got "${s}"`);
        sets.push([s.slice(0, eq), s.slice(eq + 1)]);
      }
      const plans: ExperimentPlan[] = [];
      let failed = false;
      for (const file of positionals) {
        const r = compileFile(file);
        if (r.diagnostics.length) process.stderr.write(formatDiagnostics(r) + '\n');
        if (r.diagnostics.some((d) => d.severity === 'error')) {
          failed = true;
          continue;
        }
        for (const exp of r.experiments) {
          const overrides: Record<string, Value> = Object.fromEntries(sets); // typed by the planner
          try {
            plans.push(planExperiment(exp, { overrides, ...(seeds !== undefined ? { seeds } : {}) }));
          } catch (err) {
            throw new UsageError(`experiment "${exp.name}": ${(err as Error).message}`);
          }
        }
      }
      if (failed) return 1;
      if (values.json) {
        const out = {
          experiments: plans.map((p) => ({
            name: p.experiment.name,
            file: p.experiment.file,
            runs: p.runs.map((r) => ({ id: r.id, runner: r.runner, params: r.params, seed: r.seed })),
          })),
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        process.stdout.write(plans.map(table).join('\n\n') + '\n');
      }
      return 0;
    }),
};
