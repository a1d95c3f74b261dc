// The files a command-runner run depends on, hashed into its run id, so a result never outlives the
// code that made it (docs/protocol.md, "The dependency set"):
//
// * the program's folder: every file git tracks there plus untracked files git does not ignore
//   (`git ls-files -co --exclude-standard`), or, outside git, the files of the program's language
//   family (`.py` → Python sources and config files); the program is the first word of `command`
//   naming a source file, its folder `cwd` when there is none;
// * every word of `command` that names a file (`--config a.yaml`);
// * `set inputs = "data.csv, configs/*.yaml, ../lib, !docs/"`, applied in order: files, folders and
//   patterns added, `!pattern` taking out what matches among the files chosen so far.
//
// Paths are hashed relative to the .exp file with their contents, so moving the whole project keeps
// the ids. Hashes are kept per process by (path, size, mtime, ctime, inode): planning a repository
// of thousands of files again reads only what changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Value } from '../../language/ast.ts';
import { compileGlob, GLOB_CHARS, globBase, globMatches } from './glob.ts';
import { fileSha256 } from '../../util/file-hash.ts';

/** Command-line words naming bigger files (interpreters such as node or python) are not hashed. */
export const MAX_PROGRAM_HASH_BYTES = 16 * 1024 * 1024;
/** Largest `inputs` file hashed. */
export const MAX_INPUT_HASH_BYTES = 4 * 1024 * 1024 * 1024;
/**
 * Files of the program's folder bigger than this (checkpoints, data sets committed by mistake) are
 * identified by their size alone (`size:N`), not read; name one in `inputs` to hash its contents.
 */
export const MAX_TREE_HASH_BYTES = 32 * 1024 * 1024;
/** Most files one dependency set may hold; more is a plan error (narrow it with `!pattern`). */
export const MAX_DEPENDENCY_FILES = 20_000;
/** Most entries a folder walk looks at before it gives up. */
const MAX_WALK_ENTRIES = 200_000;

/** Config files hashed with every language family (outside git). */
const CONFIG_EXTS = ['.json', '.toml', '.yaml', '.yml', '.cfg', '.ini'];
/** Language families: a program's extension or interpreter picks the files hashed outside git. */
export const FAMILIES: readonly { name: string; exts: readonly string[]; interpreters: RegExp }[] = [
  { name: 'Python', exts: ['.py', '.pyi', '.pyx', '.pxd', ...CONFIG_EXTS], interpreters: /^(python[\d.]*|pypy[\d.]*)$/ },
  { name: 'JavaScript/TypeScript', exts: ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts', '.jsx', '.tsx', ...CONFIG_EXTS], interpreters: /^(node|nodejs|tsx|ts-node|bun|deno)$/ },
  { name: 'shell', exts: ['.sh', '.bash', ...CONFIG_EXTS], interpreters: /^(sh|bash|zsh|dash)$/ },
  { name: 'R', exts: ['.r', ...CONFIG_EXTS], interpreters: /^(Rscript|R)$/ },
  { name: 'Julia', exts: ['.jl', ...CONFIG_EXTS], interpreters: /^julia$/ },
];
/** Extensions that make a command word the program (config files do not). */
const SOURCE_EXTS = new Set(FAMILIES.flatMap((f) => f.exts.filter((e) => !CONFIG_EXTS.includes(e))));

/** Folders never hashed: version control, sublab's own cache, installed packages, bytecode, virtualenvs. */
const SKIP_DIRS = new Set(['.git', '.hg', '.svn', '.sublab', 'node_modules', '__pycache__', '.venv', 'venv', '.mypy_cache', '.pytest_cache', '.ruff_cache', '.ipynb_checkpoints', '.tox']);
/**
 * Files never hashed: bytecode, and sublab's own files (.exp files and the lock: their parameters
 * are in the id already, and registering predictions must not change results).
 */
const SKIP_FILES = /(\.py[co]|\.exp|^sublab\.lock|^\.DS_Store)$/;
/** A result cache's entries and claims (`<16 hex>.json`): a folder holding one is a cache, never hashed. */
const CACHE_ENTRY = /^[0-9a-f]{16}\.(json|claim)$/;

/** One dependency set: `/`-separated path relative to the .exp file → sha256 of the contents, or `size:N`. */
export type FileHashes = Record<string, string>;

// ---- hashing ---------------------------------------------------------------------------------

/** The file's hash (`size:N` past `limit`), from this process's memory when it is unchanged. */
function hashOf(file: string, st: fs.Stats, limit: number): string {
  return st.size > limit ? `size:${st.size}` : fileSha256(file, st);
}

function statFile(file: string): fs.Stats | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

// ---- listing ---------------------------------------------------------------------------------

const posix = (p: string) => p.split(path.sep).join('/');

function skipped(rel: string): boolean {
  const parts = rel.split('/');
  return SKIP_FILES.test(parts[parts.length - 1]!) || parts.slice(0, -1).some((d) => SKIP_DIRS.has(d));
}

/** A stage store's artifact, temporary folder or claim (<cache>/stages/<runner>/<stage>/<key>…), before the cache has entries. */
const STAGE_STORE_FILE = /(^|\/)stages\/[^/]+\/[^/]+\/\.?[0-9a-f]{64}[^/]*(\/|$)/;

/** Drops the files of folders that hold result-cache entries or stage artifacts (a `--cache` inside the project). */
function withoutCaches(rels: string[]): string[] {
  rels = rels.filter((r) => !STAGE_STORE_FILE.test(r));
  const cacheDirs = new Set<string>();
  for (const r of rels) {
    const i = r.lastIndexOf('/');
    if (CACHE_ENTRY.test(r.slice(i + 1))) cacheDirs.add(r.slice(0, i + 1));
  }
  if (cacheDirs.size === 0) return rels;
  return rels.filter((r) => ![...cacheDirs].some((d) => r.startsWith(d)));
}

/** Files under `root` (relative, `/`-separated), skipping the folders never hashed; symlinked folders are not followed. */
function walk(root: string, keep: (rel: string) => boolean = () => true): string[] {
  const out: string[] = [];
  let seen = 0;
  const visit = (dir: string, rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > MAX_WALK_ENTRIES) throw new Error(`${root} holds more than ${MAX_WALK_ENTRIES.toLocaleString('en-US')} files and folders: name a smaller folder (cwd, or the folders in inputs)`);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) visit(path.join(dir, e.name), r);
      } else if ((e.isFile() || e.isSymbolicLink()) && !SKIP_FILES.test(e.name) && keep(r)) out.push(r);
    }
  };
  visit(root, '');
  return withoutCaches(out);
}

/** The folder at or above `dir` holding `.git`, if any. */
function gitRootAbove(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/**
 * What git lists under `dir` (tracked, and untracked but not ignored), or null outside git. Inside
 * a work tree where git cannot run (not installed on a compute node, "dubious ownership"), falling
 * back would give other run ids than a process where it runs: that is an error instead.
 */
function gitFiles(dir: string): string[] | null {
  let text: string;
  try {
    text = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    const said = String(err.stderr ?? '').trim();
    if (err.code !== 'ENOENT' && /not a git repository/i.test(said)) return null;
    const root = gitRootAbove(dir);
    if (!root) return null;
    const why = err.code === 'ENOENT' ? 'git is not installed here' : `git says: ${said.split('\n')[0] || err.message}`;
    throw new Error(`the program's folder ${dir} is in the git work tree ${root}, but git cannot list its files (${why}); sublab hashes what git lists, so every process planning these runs needs a working git`);
  }
  return withoutCaches([...new Set(text.split('\0').filter((r) => r && !skipped(r)))]);
}

// ---- the dependency set ----------------------------------------------------------------------

/** The comma-separated `inputs` list (a comma inside `{a,b}` belongs to the pattern). */
export function inputList(v: Value | undefined): string[] {
  if (v === undefined || v === '') return [];
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of String(v)) {
    if (c === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The program's folder and language family, from the words of `command`. */
export function programOf(command: string, cwd: string): { file?: string; folder: string; family?: (typeof FAMILIES)[number] } {
  const words = command.split(/\s+/).filter(Boolean);
  for (const w of words) {
    const ext = path.extname(w).toLowerCase();
    if (!SOURCE_EXTS.has(ext)) continue;
    const file = path.resolve(cwd, w);
    if (!statFile(file)) continue;
    return { file, folder: path.dirname(file), family: FAMILIES.find((f) => f.exts.includes(ext)) };
  }
  const interp = path.basename(words[0] ?? '');
  return { folder: cwd, family: FAMILIES.find((f) => f.interpreters.test(interp)) };
}

/**
 * Apply a list of entries relative to `cwd` in order (`inputs`, or a stage's `code`): files,
 * folders and patterns add to `chosen` (file → most bytes hashed by content), `!pattern` takes out
 * what is chosen so far. Throws a message starting with `label:` for an entry that names nothing.
 */
function applyEntries(label: string, entries: readonly string[], cwd: string, chosen: Map<string, number>): void {
  const relToCwd = (abs: string) => posix(path.relative(cwd, abs)) || '.';
  const add = (abs: string, limit: number) => chosen.set(abs, Math.max(limit, chosen.get(abs) ?? 0));
  for (const e of entries) {
    if (e.startsWith('!')) {
      const g = compileGlob(e.slice(1).trim());
      for (const abs of [...chosen.keys()]) if (globMatches(g, relToCwd(abs))) chosen.delete(abs);
      continue;
    }
    const abs = path.resolve(cwd, e);
    if (GLOB_CHARS.test(e)) {
      const g = compileGlob(e);
      const base = path.resolve(cwd, globBase(e));
      const hits = fs.statSync(base, { throwIfNoEntry: false })?.isDirectory() ? walk(base).map((r) => path.join(base, r)).filter((f) => globMatches(g, relToCwd(f))) : [];
      if (hits.length === 0) throw new Error(`${label}: "${e}" matches no file (looked under ${base}; ${label === 'inputs' ? 'inputs are' : 'code entries are'} relative to cwd)`);
      for (const f of hits) add(f, MAX_INPUT_HASH_BYTES);
      continue;
    }
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) throw new Error(`${label}: "${e}" does not exist (looked for ${abs}; ${label === 'inputs' ? 'inputs are' : 'code entries are'} relative to cwd)`);
    if (st.isDirectory()) {
      const inside = walk(abs);
      if (inside.length === 0) throw new Error(`${label}: the folder "${e}" holds no file sublab hashes (${abs})`);
      for (const r of inside) add(path.join(abs, r), MAX_INPUT_HASH_BYTES);
    } else if (st.isFile()) {
      if (st.size > MAX_INPUT_HASH_BYTES) throw new Error(`${label}: "${e}" is ${st.size} bytes, more than the ${MAX_INPUT_HASH_BYTES} sublab hashes`);
      add(abs, MAX_INPUT_HASH_BYTES);
    } else throw new Error(`${label}: "${e}" is not a regular file or folder (${abs})`);
  }
}

/** The chosen files' hashes, sorted by path; a file listed but gone (a tracked file deleted from disk) is no longer part of the program. */
function hashChosen(label: string, chosen: Map<string, number>): Map<string, string> {
  const files = new Map<string, string>();
  for (const abs of [...chosen.keys()].sort()) {
    const st = statFile(abs);
    if (!st) continue;
    try {
      files.set(abs, hashOf(abs, st, chosen.get(abs)!));
    } catch (e) {
      throw new Error(`${label}: cannot read ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  return files;
}

/**
 * The hash of the code a program's stage names (docs/protocol.md, "Stages"): `code` entries
 * relative to `cwd` by the rules of `inputs` (files, folders, patterns, `!pattern`); without
 * `code`, the run's whole dependency set. Paths enter relative to `cwd`, so moving the project
 * keeps the keys. Throws `code: …` for an entry that names nothing.
 */
export function stageCodeHashOf(run: { command: string; cwd: string; inputs: Value | undefined }, code: readonly string[] | undefined): string {
  let files: Map<string, string>;
  if (code === undefined) files = dependencySet(run.command, run.cwd, run.inputs).files;
  else {
    const chosen = new Map<string, number>();
    applyEntries('code', code, run.cwd, chosen);
    if (chosen.size === 0) throw new Error(`code: ${JSON.stringify(code)} names no file (name the files the stage runs, or leave code out for the whole program)`);
    files = hashChosen('code', chosen);
  }
  const h = createHash('sha256');
  for (const [abs, hash] of files) h.update(`${posix(path.relative(run.cwd, abs))}\0${hash}\0`);
  return h.digest('hex');
}

export interface DependencySet {
  /** The program's folder, whose files make the default set. */
  folder: string;
  /** How the default set was listed. */
  source: 'git' | 'family' | 'none';
  family?: string;
  /** Absolute path → hash (sha256 hex, or `size:N` for a big file of the folder). */
  files: Map<string, string>;
}

/**
 * The dependency set of a run with these `command`, `cwd` (absolute) and `inputs`. Throws a message
 * starting with the parameter at fault (`inputs: …`, `cwd: …`) for what no run could use.
 */
export function dependencySet(command: string, cwd: string, inputs: Value | undefined): DependencySet {
  const cwdSt = fs.statSync(cwd, { throwIfNoEntry: false });
  if (!cwdSt?.isDirectory()) throw new Error(`cwd: ${cwd} ${cwdSt ? 'is not a directory' : 'does not exist'} (cwd is relative to the .exp file)`);
  const prog = programOf(command, cwd);
  const entries = inputList(inputs);

  /** File → the most bytes hashed by content (bigger ones count by size). */
  const chosen = new Map<string, number>();
  const add = (abs: string, limit: number) => chosen.set(abs, Math.max(limit, chosen.get(abs) ?? 0));

  let source: DependencySet['source'] = 'none';
  // An ignored folder lists nothing in git: its files are then picked by language, as outside git.
  const git = gitFiles(prog.folder);
  if (git && git.length) {
    source = 'git';
    for (const r of git) add(path.join(prog.folder, r), MAX_TREE_HASH_BYTES);
  } else if (prog.family) {
    source = 'family';
    const exts = prog.family.exts;
    for (const r of walk(prog.folder, (rel) => exts.includes(path.extname(rel).toLowerCase()))) add(path.join(prog.folder, r), MAX_TREE_HASH_BYTES);
  }
  // `inputs`, in order: `!pattern` takes out what is chosen so far, the rest adds.
  applyEntries('inputs', entries, cwd, chosen);
  // The files the command line names (the program, `--config a.yaml`) always count.
  for (const w of command.split(/\s+/).filter(Boolean)) {
    const abs = path.resolve(cwd, w);
    const st = statFile(abs);
    if (st && st.size <= MAX_PROGRAM_HASH_BYTES) add(abs, MAX_PROGRAM_HASH_BYTES);
  }
  if (chosen.size > MAX_DEPENDENCY_FILES) {
    throw new Error(`inputs: the run depends on ${chosen.size.toLocaleString('en-US')} files (more than ${MAX_DEPENDENCY_FILES.toLocaleString('en-US')}) under ${prog.folder}: leave folders out with set inputs = "!data/" or point cwd at a smaller folder`);
  }
  const files = hashChosen('inputs', chosen);
  return { folder: prog.folder, source, ...(prog.family && source === 'family' ? { family: prog.family.name } : {}), files };
}

/**
 * For the experiment in `expFile`: a function from a run's params to its dependency set as
 * {path relative to the .exp file: hash}, memoised over one plan (runs that share `command`, `cwd`
 * and `inputs` share one object). Throws (a plan error) for what `dependencySet` refuses.
 */
export function commandFiles(expFile: string): (params: Readonly<Record<string, Value>>) => FileHashes {
  const expDir = path.dirname(path.resolve(expFile));
  const memo = new Map<string, FileHashes | Error>();
  return (params) => {
    const command = String(params.command ?? '');
    const cwd = path.resolve(expDir, String(params.cwd ?? '.'));
    const key = JSON.stringify([command, cwd, params.inputs ?? '']);
    let got = memo.get(key);
    if (!got) {
      try {
        const set = dependencySet(command, cwd, params.inputs);
        got = {};
        for (const [abs, h] of set.files) got[posix(path.relative(expDir, abs)) || path.basename(abs)] = h;
      } catch (e) {
        got = e as Error;
      }
      memo.set(key, got);
    }
    if (got instanceof Error) throw got;
    return got;
  };
}
