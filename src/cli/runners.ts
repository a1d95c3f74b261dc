import { defineCommand } from './args.ts';
import path from 'node:path';
import { getSchema, runnerNames, schemas } from '../runners/registry.ts';
import { loadPathRunners, pathRunner, runnerModuleNameProblem } from '../runners/by-path.ts';
import { suggest } from '../language/suggest.ts';
import type { RunnerSchema } from '../runners/schema.ts';

function describeType(p: RunnerSchema['params'][number]): string {
  let t = p.type === 'enum' ? (p.values ?? []).join(' | ') : p.type;
  if (p.min !== undefined || p.max !== undefined) t += ` [${p.min ?? ''}..${p.max ?? ''}]`;
  return t;
}

function columns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function short(s: string): string {
  return s.length > 32 ? `${s.slice(0, 30)}…"` : s;
}

export function describeRunner(s: RunnerSchema): string {
  const out = [`${s.name} (version ${s.version}${s.seeded ? '' : ', deterministic'}${s.open ? ', open' : ''})`, `  ${s.description}`, '', 'parameters:'];
  out.push(...columns([
    ['name', 'type', 'default', 'description'],
    ...s.params.map((p) => [p.name, describeType(p), short(JSON.stringify(p.default)), p.description + (p.required ? ' (required)' : '') + (p.executionOnly ? ' (execution only: not part of run ids)' : '')]),
  ]));
  out.push('', 'metrics:');
  if (s.metrics.length === 0) out.push('  (none fixed: the experiment\'s "measure" lines name them)');
  else out.push(...columns(s.metrics.map((m) => [m.name, m.description + (m.unit ? ` (${m.unit})` : '')])));
  if (s.keys?.length) {
    out.push('', 'row keys (usable in "where" and "for each"):');
    out.push(...columns(s.keys.map((k) => [k.name, k.description])));
  }
  return out.join('\n');
}

export const command = defineCommand(
  {
    name: 'runners',
    synopsis: '[NAME | PATH]',
    summary: "list runners, or one runner's parameters and metrics",
    description: `Without NAME: lists the built-in runners. With NAME, or the path of your own runner's module
(e.g. ./runners/toy.ts, as an .exp file names it in runner "..."): its parameters (type, default,
allowed values) and metrics.`,
    options: {},
    positionals: { max: 1, extra: 'give at most one runner name or path' },
  },
  async ({ positionals }) => {
    const name = positionals[0];
    if (name === undefined) {
      process.stdout.write(columns(schemas.map((s) => [s.name, `v${s.version}`, s.description])).join('\n') + '\n');
      return 0;
    }
    if (/[\\/]/.test(name) || !runnerModuleNameProblem(name)) {
      const file = path.resolve(name);
      const bad = runnerModuleNameProblem(file);
      await (bad ? undefined : loadPathRunners([file]));
      const r = pathRunner(file);
      if (bad || !r?.ok) {
        process.stderr.write(`sublab runners: error: cannot use runner ${JSON.stringify(name)}: ${bad ?? (r && !r.ok ? r.problem : 'not loaded')}\n`);
        return 1;
      }
      process.stdout.write(`${describeRunner(r.schema)}\n\nmodule: ${name} (with ${r.sources.files.length} source file${r.sources.files.length === 1 ? '' : 's'} in its run ids: ${r.sources.files.join(', ')})\n`);
      return 0;
    }
    const s = getSchema(name);
    if (!s) {
      process.stderr.write(`sublab runners: error: unknown runner "${name}"${suggest(name, runnerNames())}; known runners: ${runnerNames().join(', ')}\n`);
      return 1;
    }
    process.stdout.write(describeRunner(s) + '\n');
    return 0;
  },
);
