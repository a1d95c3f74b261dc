// The user's own runners, named by path in an .exp file: `runner "./runners/toy.ts"`. The module's
// default export is the runner, `defineRunner({...}).implement({...})` as for a built-in. Loading is
// asynchronous (an ES module import; TypeScript through tsx's tsImport, which works in an installed
// package too), so every entry point loads a file's path runners before compiling it
// (compileWithRunners in src/language/compile.ts); the checker then reads them here synchronously.
// Loaded modules are kept per process by absolute path and reloaded when their sources change.
import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sourceGraph, type SourceGraph } from '../util/source-graph.ts';
import type { Runner, RunnerSchema } from './schema.ts';

/** The module kinds a path runner may be. */
export const RUNNER_MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'] as const;

/** How a path runner's module must look, for messages. */
export const RUNNER_MODULE_SHAPE = 'export default defineRunner({ name, version, params, metrics, ... }).implement({ async run(specs, ctx) { ... } })';

/** A runner's name: it appears in messages and in the cache's folder for runner stages. */
const RUNNER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export type PathRunner =
  | {
      ok: true;
      /** Absolute path of the module. */
      file: string;
      runner: Runner;
      /** The runner's schema with its sources hashed into every run id (fileDependencies). */
      schema: RunnerSchema;
      /** The module and the files it imports from the user's tree (relative imports). */
      sources: SourceGraph;
    }
  | { ok: false; file: string; problem: string; code: 'runner-not-found' | 'runner-load' | 'runner-export' };

/** The absolute path `runner "<given>"` names, written in `fromFile` (relative to its folder). */
export function runnerModulePath(fromFile: string, given: string): string {
  return path.resolve(path.dirname(path.resolve(fromFile)), given);
}

/** undefined, or why `file` cannot be a runner module by its name alone. */
export function runnerModuleNameProblem(file: string): string | undefined {
  const ext = path.extname(file);
  if ((RUNNER_MODULE_EXTENSIONS as readonly string[]).includes(ext)) return undefined;
  return `a runner module is a ${RUNNER_MODULE_EXTENSIONS.join(', ')} file${ext ? `, not ${ext}` : ''}`;
}

const loaded = new Map<string, { stamp: string; state: PathRunner }>();

/** The loaded state of a runner module (undefined: not loaded in this process yet). */
export function pathRunner(file: string): PathRunner | undefined {
  return loaded.get(file)?.state;
}

/** The graph of a module's sources, or why it cannot be read: the stamp it is loaded under. */
function graphOf(file: string): { graph: SourceGraph } | { problem: string; code: 'runner-not-found' | 'runner-load' } {
  let st;
  try {
    st = statSync(file);
  } catch {
    return { problem: `no such file (looked for ${file})`, code: 'runner-not-found' };
  }
  if (!st.isFile()) return { problem: `${file} is ${st.isDirectory() ? 'a directory' : 'not a regular file'}`, code: 'runner-not-found' };
  try {
    // Relative to the module's own folder: a moved project, or another .exp using it, keeps its ids.
    return { graph: sourceGraph([file], { root: path.dirname(file) }) };
  } catch (e) {
    return { problem: (e as Error).message.replace(/^sourceGraph: /, ''), code: 'runner-load' };
  }
}

/**
 * Load (or reload, when its sources changed since) each runner module; true when any state
 * changed, so a compile done before must be redone. Never throws: a problem is the module's state.
 */
export async function loadPathRunners(files: readonly string[]): Promise<boolean> {
  let changed = false;
  for (const file of new Set(files)) {
    const g = graphOf(file);
    const stamp = 'graph' in g ? g.graph.hash : `${g.code}: ${g.problem}`;
    if (loaded.get(file)?.stamp === stamp) continue;
    changed = true;
    const state: PathRunner = 'graph' in g ? await importRunner(file, g.graph) : { ok: false, file, problem: g.problem, code: g.code };
    loaded.set(file, { stamp, state });
  }
  return changed;
}

/** The loaded runner of `file`, loading it if needed; throws the problem when it cannot be used. */
export async function pathRunnerOrThrow(file: string): Promise<PathRunner & { ok: true }> {
  if (!pathRunner(file)) await loadPathRunners([file]);
  const s = pathRunner(file)!;
  if (!s.ok) throw new Error(`runner "${file}": ${s.problem}`);
  return s;
}

async function importModule(file: string, stamp: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  if (file.endsWith('.ts') || file.endsWith('.mts')) {
    // tsImport loads it in a fresh namespace each call: an edited module is read again.
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  // The query makes an edited module a new one to Node's module cache.
  return (await import(/* @vite-ignore */ `${url}?sources=${stamp.slice(0, 16)}`)) as Record<string, unknown>;
}

/** One line (or a few) of an import error: esbuild's "Transform failed with 1 error:\n<where>: ERROR: …" included. */
function errorText(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const lines = raw.split('\n').map((l) => l.trim()).filter(Boolean);
  const text = (lines[0]?.startsWith('Transform failed') ? lines.slice(1) : lines).slice(0, 3).join(' ');
  return text.length > 600 ? text.slice(0, 600) + '…' : text;
}

function isRunner(x: unknown): x is Runner {
  const r = x as Partial<Runner> | undefined;
  const s = r?.schema as Partial<RunnerSchema> | undefined;
  return typeof r === 'object' && r !== null && typeof r.run === 'function' && typeof s === 'object' && s !== null &&
    typeof s.name === 'string' && typeof s.version === 'string' && Array.isArray(s.params) && Array.isArray(s.metrics);
}

function describe(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (x === null) return 'null';
  if (typeof x === 'function') return 'a function';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') {
    const keys = Object.keys(x as object);
    return `an object with ${keys.length ? keys.slice(0, 6).join(', ') : 'no properties'}`;
  }
  return `${typeof x} ${JSON.stringify(x)}`;
}

/** Why a module's default export is not a runner, or the runner. */
function runnerOf(mod: Record<string, unknown>): Runner | string {
  let d = mod.default;
  // A CommonJS-compiled module (a .ts file in a package without "type": "module") nests its exports.
  if (!isRunner(d) && d && typeof d === 'object' && isRunner((d as { default?: unknown }).default)) d = (d as { default: unknown }).default;
  if (isRunner(d)) return d;
  if (d && typeof d === 'object' && typeof (d as { implement?: unknown }).implement === 'function') {
    return `its default export is a runner declaration without its implementation: add .implement({ async run(specs, ctx) { ... } }) (expected ${RUNNER_MODULE_SHAPE})`;
  }
  if (!('default' in mod) || d === undefined) {
    const named = Object.keys(mod).filter((k) => k !== 'default' && isRunner(mod[k]));
    const hint = named.length ? ` (it exports a runner as "${named[0]}": export it as the default)` : '';
    return `it has no default export${hint}; expected ${RUNNER_MODULE_SHAPE}`;
  }
  return `its default export is ${describe(d)}, not a runner; expected ${RUNNER_MODULE_SHAPE}`;
}

async function importRunner(file: string, graph: SourceGraph): Promise<PathRunner> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file, graph.hash);
  } catch (e) {
    return { ok: false, file, problem: `cannot load it: ${errorText(e)}`, code: 'runner-load' };
  }
  const runner = runnerOf(mod);
  if (typeof runner === 'string') return { ok: false, file, problem: runner, code: 'runner-export' };
  const { name, version } = runner.schema;
  if (!RUNNER_NAME.test(name)) return { ok: false, file, problem: `its runner's name ${JSON.stringify(name)} is not a name (letters, digits, _ and -, starting with a letter or _)`, code: 'runner-export' };
  if (!version) return { ok: false, file, problem: `its runner "${name}" has an empty version`, code: 'runner-export' };
  const own = runner.schema.fileDependencies;
  // Its sources are part of every run id: editing the module or anything it imports from the
  // user's tree recomputes. Keyed by the path from the module's folder, never an absolute path.
  const sources = { [`runner:${path.basename(file)}`]: graph.hash };
  const schema: RunnerSchema = {
    ...runner.schema,
    fileDependencies: (expFile) => {
      const theirs = own?.(expFile);
      return (params) => ({ ...sources, ...theirs?.(params) });
    },
  };
  return { ok: true, file, runner, schema, sources: graph };
}
