// File → parsed AST → `extends` resolved → checked experiments, with every problem as a diagnostic.
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type * as A from './ast.ts';
import type { CheckedExperiment } from './checked.ts';
import { capPerFile, diagnosticAt, formatDiagnostic, hasErrors, type Diagnostic } from './diagnostics.ts';
import { parseSource } from './parse.ts';
import { checkExperiment, type Setup } from './check.ts';
import { loadPathRunners, pathRunner, runnerModuleNameProblem, runnerModulePath } from '../runners/by-path.ts';

export interface CompileResult {
  file: string;
  source: string;
  experiments: CheckedExperiment[];
  diagnostics: Diagnostic[];
  /** Every file read, for caret printing. */
  sources: Record<string, string>;
  /**
   * Runner modules named by path (`runner "./runners/toy.ts"`), absolute: what compileWithRunners
   * loads; with the files they import, what a watcher must watch.
   */
  runnerModules: string[];
  runnerSources: string[];
}

export interface CompileOptions {
  source?: string;
  readFile?: (path: string) => string;
}

/** Largest .exp file read (a hand-written file is a few KB); $SUBLAB_MAX_EXP_BYTES changes it. */
export const DEFAULT_MAX_EXP_BYTES = 4 * 1024 * 1024;
/** Longest `extends` chain followed. */
export const MAX_EXTENDS_DEPTH = 64;

function maxExpBytes(): number {
  const v = Number(process.env.SUBLAB_MAX_EXP_BYTES);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_MAX_EXP_BYTES;
}

class ReadRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Read an .exp file: regular files only (a FIFO or device would hang or never end), size-capped. */
export function readExpFile(p: string): string {
  const st = statSync(p);
  // A link named x.exp to some other file (/proc/self/environ) is that other file.
  if (st.isFile() && !realpathSync(p).endsWith('.exp')) throw new ReadRefused('it is a link to a file not named *.exp', 'ENOTEXP');
  if (st.isDirectory()) throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
  if (!st.isFile()) throw new ReadRefused('it is not a regular file (a FIFO, socket or device)', 'ENOTREG');
  const max = maxExpBytes();
  if (st.size > max) throw new ReadRefused(`it is ${st.size} bytes, more than the ${max} an .exp file may have (SUBLAB_MAX_EXP_BYTES raises the limit)`, 'ETOOBIG');
  const fd = openSync(p, 'r');
  try {
    // Read at most max + 1 bytes whatever stat said (procfs files report size 0).
    const buf = Buffer.alloc(Math.min(max + 1, Math.max(st.size, 64 * 1024)));
    let n = 0;
    for (;;) {
      const k = readSync(fd, buf, n, buf.length - n, null);
      if (k <= 0) break;
      n += k;
      if (n >= buf.length) break;
    }
    if (n > max) throw new ReadRefused(`it is more than the ${max} bytes an .exp file may have`, 'ETOOBIG');
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A leading UTF-8 byte order mark is not part of the text. */
function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function readError(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return `cannot read "${file}": no such file`;
  if (code === 'EISDIR') return `cannot read "${file}": it is a directory`;
  if (code === 'EACCES') return `cannot read "${file}": permission denied`;
  if (err instanceof ReadRefused) return `cannot read "${file}": ${err.message}`;
  return `cannot read "${file}": ${code ?? (err as Error)?.message ?? String(err)}`;
}

/** Own statements of one experiment, with same-experiment conflicts reported. */
function ownSetup(exp: A.ExperimentAst, diags: Diagnostic[]): Setup {
  const sets: A.SetStmt[] = [];
  const sweeps: A.SweepStmt[] = [];
  for (const s of exp.sets) {
    const prev = sets.find((x) => x.name.name === s.name.name);
    if (prev) {
      diags.push(diagnosticAt(s.name.loc, `"${s.name.name}" is set twice in experiment "${exp.name.value}" (first at line ${prev.loc.line})`, 'duplicate-set'));
      continue;
    }
    sets.push(s);
  }
  for (const s of exp.sweeps) {
    const prev = sweeps.find((x) => x.name.name === s.name.name);
    if (prev) {
      diags.push(diagnosticAt(s.name.loc, `"${s.name.name}" is swept twice (first at line ${prev.loc.line}): several values go in one list`, 'duplicate-sweep'));
      continue;
    }
    const set = sets.find((x) => x.name.name === s.name.name);
    if (set) {
      diags.push(diagnosticAt(s.name.loc, `"${s.name.name}" is both set (line ${set.loc.line}) and swept in experiment "${exp.name.value}": keep one`, 'set-and-swept'));
      continue;
    }
    sweeps.push(s);
  }
  return {
    runner: exp.runner,
    sets,
    sweeps,
    seeds: exp.seeds,
    measures: exp.measures,
    alpha: exp.alpha,
    correction: exp.correction,
    chain: [],
  };
}

/** `base` overridden by `own`: a set or sweep of a name replaces any inherited set or sweep of it. */
function merge(base: Setup, own: Setup, baseFile: string): Setup {
  const ownNames = new Set([...own.sets, ...own.sweeps].map((s) => s.name.name));
  const sets = base.sets.filter((s) => !ownNames.has(s.name.name)).concat(own.sets);
  const ownSweeps = new Map(own.sweeps.map((s) => [s.name.name, s]));
  const ownSetNames = new Set(own.sets.map((s) => s.name.name));
  // An inherited sweep keeps its grid position when overridden by a sweep of the same name.
  const sweeps: A.SweepStmt[] = [];
  for (const s of base.sweeps) {
    if (ownSetNames.has(s.name.name)) continue;
    const o = ownSweeps.get(s.name.name);
    sweeps.push(o ?? s);
    ownSweeps.delete(s.name.name);
  }
  sweeps.push(...ownSweeps.values());
  return {
    runner: own.runner ?? base.runner,
    sets,
    sweeps,
    seeds: own.seeds ?? base.seeds,
    measures: [...base.measures, ...own.measures],
    alpha: own.alpha ?? base.alpha,
    correction: own.correction ?? base.correction,
    chain: [baseFile, ...base.chain],
  };
}

export function compileFile(file: string, opts: CompileOptions = {}): CompileResult {
  const read = opts.readFile ?? readExpFile;
  const sources: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  const parsed = new Map<string, { ast: A.FileAst; diagnostics: Diagnostic[] } | { error: unknown }>();
  const reportedFiles = new Set<string>();

  const load = (p: string, given?: string) => {
    const key = path.resolve(p);
    let entry = parsed.get(key);
    if (!entry) {
      try {
        const text = stripBom(given ?? read(p));
        sources[p] = text;
        entry = parseSource(text, p);
      } catch (error) {
        entry = { error };
      }
      parsed.set(key, entry);
    }
    return entry;
  };

  let source = '';
  // Only .exp files are read (as for extends): a diagnostic on any other file (/proc/self/environ)
  // would print a line of it.
  if (opts.source === undefined && !file.endsWith('.exp')) {
    diagnostics.push({ severity: 'error', file, line: 1, column: 1, length: 1, message: `not an .exp file: sublab reads only files named *.exp`, code: 'not-exp' });
    return { file, source, experiments: [], diagnostics, sources, runnerModules: [], runnerSources: [] };
  }
  const main = load(file, opts.source);
  if ('error' in main) {
    diagnostics.push({ severity: 'error', file, line: 1, column: 1, length: 1, message: readError(file, main.error), code: 'read' });
    return { file, source, experiments: [], diagnostics, sources, runnerModules: [], runnerSources: [] };
  }
  source = sources[file] ?? '';
  diagnostics.push(...main.diagnostics);
  reportedFiles.add(path.resolve(file));

  const resolveSetup = (exp: A.ExperimentAst, expFile: string, stack: string[]): Setup | undefined => {
    const own = ownSetup(exp, diagnostics);
    if (!exp.extends) return own;
    const ext = exp.extends;
    const baseFile = path.isAbsolute(ext.value) ? ext.value : path.join(path.dirname(expFile), ext.value);
    // Only .exp files: naming any other file (/proc/self/environ, /dev/zero) must neither read it
    // nor echo a line of it back in a diagnostic.
    if (!baseFile.endsWith('.exp')) {
      diagnostics.push(diagnosticAt(ext.loc, `cannot extend "${ext.value}": only .exp files can be extended`, 'bad-extends'));
      return undefined;
    }
    if (stack.length > MAX_EXTENDS_DEPTH) {
      diagnostics.push(diagnosticAt(ext.loc, `extends chain longer than ${MAX_EXTENDS_DEPTH} files; flatten it`, 'extends-too-deep'));
      return undefined;
    }
    const base = load(baseFile);
    if ('error' in base) {
      diagnostics.push(diagnosticAt(ext.loc, `cannot extend "${ext.value}": ${readError(baseFile, base.error).replace(/^cannot read "[^"]*": /, '')} (looked for ${baseFile})`, 'missing-file'));
      return undefined;
    }
    if (hasErrors(base.diagnostics)) {
      if (!reportedFiles.has(path.resolve(baseFile))) {
        reportedFiles.add(path.resolve(baseFile));
        diagnostics.push(...base.diagnostics);
      }
      diagnostics.push(diagnosticAt(ext.loc, `cannot extend "${ext.value}": it has syntax errors`, 'bad-base'));
      return undefined;
    }
    const exps = base.ast.experiments;
    let target: A.ExperimentAst | undefined;
    if (exp.extendsName) {
      target = exps.find((e) => e.name.value === exp.extendsName!.value);
      if (!target) {
        diagnostics.push(diagnosticAt(exp.extendsName.loc, `"${ext.value}" has no experiment "${exp.extendsName.value}" (it has: ${exps.map((e) => JSON.stringify(e.name.value)).join(', ') || 'none'})`, 'missing-experiment'));
        return undefined;
      }
    } else if (exps.length === 1) {
      target = exps[0];
    } else if (exps.length === 0) {
      diagnostics.push(diagnosticAt(ext.loc, `cannot extend "${ext.value}": it holds no experiment`, 'missing-experiment'));
      return undefined;
    } else {
      diagnostics.push(diagnosticAt(ext.loc, `"${ext.value}" holds ${exps.length} experiments (${exps.map((e) => JSON.stringify(e.name.value)).join(', ')}): name one, e.g. extends "${ext.value}" :: ${JSON.stringify(exps[0]!.name.value)}`, 'ambiguous-extends'));
      return undefined;
    }
    const key = `${path.resolve(baseFile)}::${target!.name.value}`;
    if (stack.includes(key)) {
      const names = [...stack, key].map((k) => {
        const [f, n] = k.split('::');
        return `${path.relative(process.cwd(), f!) || f}::"${n}"`;
      });
      diagnostics.push(diagnosticAt(ext.loc, `extends cycle: ${names.slice(names.indexOf(names[names.length - 1]!)).join(' -> ')}`, 'extends-cycle'));
      return undefined;
    }
    const baseSetup = resolveSetup(target!, baseFile, [...stack, key]);
    if (!baseSetup) {
      diagnostics.push(diagnosticAt(ext.loc, `cannot extend "${ext.value}": experiment ${JSON.stringify(target!.name.value)} there has errors`, 'bad-base'));
      return undefined;
    }
    return merge(baseSetup, own, baseFile);
  };

  if (main.ast.experiments.length === 0 && !hasErrors(diagnostics)) {
    diagnostics.push({ severity: 'error', file, line: 1, column: 1, length: 1, message: 'no experiment in this file (expected experiment "name" { ... })', code: 'empty-file' });
  }
  const experiments: CheckedExperiment[] = [];
  const seen = new Map<string, A.ExperimentAst>();
  const runnerModules = new Set<string>();
  const byName = new Map<string, { module: string; experiment: string }>();
  for (const exp of main.ast.experiments) {
    const prev = seen.get(exp.name.value);
    if (prev) {
      diagnostics.push(diagnosticAt(exp.name.loc, `duplicate experiment name "${exp.name.value}" (first at line ${prev.loc.line})`, 'duplicate-experiment'));
      continue;
    }
    seen.set(exp.name.value, exp);
    if (exp.name.value.trim() === '') {
      diagnostics.push(diagnosticAt(exp.name.loc, 'an experiment needs a non-empty name', 'empty-name'));
      continue;
    }
    const setup = resolveSetup(exp, file, [`${path.resolve(file)}::${exp.name.value}`]);
    if (!setup) continue;
    const mod = setup.runner?.module;
    if (mod && !runnerModuleNameProblem(mod.value)) runnerModules.add(runnerModulePath(mod.loc.file, mod.value));
    const checked = checkExperiment(exp, setup, diagnostics);
    if (!checked) continue;
    // Two modules declaring one name would be told apart nowhere a runner is named (output, cache).
    const other = checked.runnerModule && byName.get(checked.runner.name);
    if (other && other.module !== checked.runnerModule) {
      diagnostics.push(diagnosticAt(mod!.loc, `runner "${mod!.value}" is named "${checked.runner.name}", as the runner of experiment "${other.experiment}" (${other.module}): give one of them another name`, 'runner-name-clash'));
      continue;
    }
    if (checked.runnerModule) byName.set(checked.runner.name, { module: checked.runnerModule, experiment: checked.name });
    experiments.push(checked);
  }

  // The same inherited problem can be reached through several experiments: report it once.
  const unique = new Map<string, Diagnostic>();
  for (const d of diagnostics) unique.set(`${d.file}:${d.line}:${d.column}:${d.severity}:${d.message}`, d);
  // Files in the order first reported, each file's diagnostics in source order.
  const fileOrder = new Map<string, number>();
  for (const d of unique.values()) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  const all = [...unique.values()].sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.column - b.column);
  const runnerSources = [...runnerModules].flatMap((m) => {
    const r = pathRunner(m);
    return r?.ok ? r.sources.files.map((f) => path.resolve(r.sources.root, f)) : [m];
  });
  return { file, source, experiments: hasErrors(all) ? [] : experiments, diagnostics: capPerFile(all), sources, runnerModules: [...runnerModules], runnerSources };
}

/**
 * compileFile after loading the runner modules the file names by path (asynchronous: an ES module
 * import), reloading any whose sources changed. Every entry point that checks, plans or runs a
 * file compiles it through here, so all of them (and every process they start) see the same runner.
 */
export async function compileWithRunners(file: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const first = compileFile(file, opts);
  if (first.runnerModules.length === 0) return first;
  return (await loadPathRunners(first.runnerModules)) ? compileFile(file, opts) : first;
}

export function formatDiagnostics(result: CompileResult): string {
  return result.diagnostics.map((d) => formatDiagnostic(d, result.sources[d.file])).join('\n');
}
