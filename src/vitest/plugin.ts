// The Vite/Vitest plugin: an .exp file becomes a test module — one describe per experiment, one it
// per prediction — with a sourcemap that maps each `it` (and the error it throws) to the
// prediction's line in the .exp file, so failures point at the prediction, not at generated code.
import path from 'node:path';
import { encode } from '@jridgewell/sourcemap-codec';
import { fileURLToPath } from 'node:url';
import type { Prediction, Value } from '../language/ast.ts';
import type { CheckedExperiment } from '../language/checked.ts';
import type { CompileResult } from '../language/compile.ts';
import { valueMatches } from '../verdict/rows.ts';
import { claimLabel } from '../verdict/format.ts';
import { ownModule } from '../util/package-files.ts';

type Compiler = {
  compileWithRunners(file: string, opts?: { source?: string }): Promise<CompileResult>;
  formatDiagnostics(r: CompileResult): string;
};

let compiler: Promise<Compiler> | undefined;

/**
 * The compiler is loaded on first use, not imported: Vite bundles vitest.config.ts with everything
 * it imports statically, and the language code (through the runner registry) must not be bundled
 * into the config. Inside Vitest or tsx a plain import works; from a bundled config under plain
 * Node, tsx's tsImport loads the TypeScript.
 */
export function loadCompiler(): Promise<Compiler> {
  compiler ??= (async () => {
    const url = ownModule('../language/compile.ts', import.meta.url).href;
    try {
      return (await import(/* @vite-ignore */ url)) as Compiler;
    } catch {
      const { tsImport } = await import('tsx/esm/api');
      return (await tsImport(url, import.meta.url)) as Compiler;
    }
  })();
  return compiler;
}

export interface SublabExpOptions {
  /** 'skip' reports inconclusive predictions as skipped instead of failed (env SUBLAB_INCONCLUSIVE wins). */
  inconclusive?: 'fail' | 'skip';
  /** Module specifier of the runtime helper (default: the absolute path of ./runtime.ts). */
  runtime?: string;
  /** Timeout of the beforeAll that runs the plan (default 24 h: training must never be cut short). */
  runTimeoutMs?: number;
  /** Timeout of each prediction's test, which only judges (default 10 s). */
  judgeTimeoutMs?: number;
  /**
   * Run even when registered predictions are not committed in git (results computed then make them
   * exploratory); env SUBLAB_ALLOW_UNCOMMITTED_LOCK=1 does the same. Default: the tests fail, saying
   * which git command commits the lock.
   */
  allowUncommittedLock?: boolean;
}

export interface SourceMapV3 {
  version: 3;
  file: string;
  sources: string[];
  sourcesContent: string[];
  names: string[];
  mappings: string;
}

interface GenLine {
  code: string;
  /** 1-based line and column in the .exp file this generated line stands for. */
  src?: { line: number; column: number };
}

/** One segment per mapped line, at generated column 0 (the whole line maps to that spot). */
function encodeMappings(lines: readonly GenLine[]): string {
  return encode(lines.map((l) => (l.src ? [[0, 0, l.src.line - 1, l.src.column - 1] as [number, number, number, number]] : [])));
}

const js = (s: string) => JSON.stringify(s);

/**
 * The groups of a `for each` over swept parameters, known before anything runs (so each gets its
 * own test); undefined when a `for each` column only exists in the results (e.g. a runner key).
 */
export function forEachGroups(exp: CheckedExperiment, p: Prediction): Record<string, Value>[] | undefined {
  if (p.forEach.length === 0) return undefined;
  const axes = p.forEach.map((f) => exp.sweeps.find((s) => s.name === f.name));
  if (axes.some((a) => !a)) return undefined;
  let combos: Record<string, Value>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a!.values.map((v) => ({ ...c, [a!.name]: v })));
  // A `where` on a grouped parameter removes whole groups.
  const conds = p.where.filter((w) => p.forEach.some((f) => f.name === w.param.name));
  return combos.filter((c) => conds.every((w) => valueMatches(c[w.param.name], w.op, w.value.value)));
}

const defaultRuntime = fileURLToPath(ownModule('./runtime.ts', import.meta.url));

/** The test module for one .exp file (exported for the golden-file test). */
export async function generateTestModule(file: string, source: string, opts: SublabExpOptions = {}): Promise<{ code: string; map: SourceMapV3; deps: string[] }> {
  const { compileWithRunners, formatDiagnostics } = await loadCompiler();
  const runtime = opts.runtime ?? defaultRuntime.split(path.sep).join('/');
  const runTimeout = opts.runTimeoutMs ?? 24 * 3600_000;
  const judgeTimeout = opts.judgeTimeoutMs ?? 10_000;
  const compiled = await compileWithRunners(file, { source });
  const lines: GenLine[] = [];
  const top = { line: 1, column: 1 };
  lines.push({ code: `import { describe, it, beforeAll } from 'vitest';`, src: top });
  if (compiled.diagnostics.some((d) => d.severity === 'error')) {
    const first = compiled.diagnostics.find((d) => d.severity === 'error')!;
    const name = path.relative(process.cwd(), file) || file;
    lines.push({
      code: `it(${js(name)}, () => { throw Object.assign(new Error(${js(formatDiagnostics(compiled))}), { name: 'SublabLanguageError' }); });`,
      src: { line: first.line, column: first.column },
    });
  } else if (compiled.experiments.length === 0) {
    lines.push({ code: `it(${js(path.basename(file))}, () => { throw new Error(${js(`${file}: no experiment in this file`)}); });`, src: top });
  } else {
    lines.push({ code: `import { expFile } from ${js(runtime)};`, src: top });
    const o = JSON.stringify({ ...(opts.inconclusive ? { inconclusive: opts.inconclusive } : {}), ...(opts.allowUncommittedLock ? { allowUncommittedLock: true } : {}) });
    lines.push({ code: `const exp = expFile(${js(file)}, ${o});`, src: top });
    lines.push({ code: `beforeAll(() => exp.run(), ${runTimeout});`, src: top });
    compiled.experiments.forEach((exp, i) => {
      lines.push({ code: `describe(${js(exp.name)}, () => {`, src: { line: exp.ast.loc.line, column: exp.ast.loc.column } });
      exp.predictions.forEach((p, j) => {
        // The Error is built on this line, which maps to the prediction, so its stack's top frame
        // is the prediction's line in the .exp file. The name gets the registration status when
        // the module runs (exp.title), not here: the lock and git can change after the transform.
        const groups = forEachGroups(exp, p) ?? [undefined];
        for (const g of groups) {
          const name = claimLabel(p, g);
          const args = g ? `${i}, ${j}, ${JSON.stringify(g)}` : `${i}, ${j}`;
          lines.push({
            code: `  it(exp.title(${i}, ${j}, ${js(name)}), (ctx) => { const r = exp.judge(${args}); if (r.kind === 'skip') ctx.skip(r.note); if (r.kind === 'fail') throw Object.assign(new Error(r.message), { name: r.name }); }, ${judgeTimeout});`,
            src: { line: p.loc.line, column: p.loc.column },
          });
        }
      });
      lines.push({ code: `});`, src: { line: exp.ast.loc.endLine, column: 1 } });
    });
  }
  const code = lines.map((l) => l.code).join('\n') + '\n';
  return {
    code,
    map: { version: 3, file: path.basename(file) + '.js', sources: [file], sourcesContent: [source], names: [], mappings: encodeMappings(lines) },
    // Files this one `extends`, and runner modules it names with what they import: a change
    // there must re-run this file in watch mode.
    deps: [...new Set([...compiled.experiments.flatMap((e) => e.extendsChain), ...compiled.runnerSources])],
  };
}

/** Vite plugin: `plugins: [sublabExp()]` and `include: ['experiments/**\/*.exp']`. */
export function sublabExp(opts: SublabExpOptions = {}) {
  return {
    name: 'sublab-exp',
    enforce: 'pre' as const,
    async transform(this: { addWatchFile?: (f: string) => void }, code: string, id: string) {
      const file = id.split('?')[0]!;
      if (!file.endsWith('.exp')) return null;
      const out = await generateTestModule(file, code, opts);
      for (const d of out.deps) this.addWatchFile?.(d);
      return { code: out.code, map: out.map };
    },
  };
}
