// The source files a piece of code depends on, found by following its relative imports, and one
// hash over them. Stage keys use it so that an edit to any file a stage's code can reach (and to
// nothing else) invalidates the stage's artifacts: the reuse must never hinge on a hand-kept list
// of files, nor on a read error quietly becoming a shared 'unknown'.
//
// Imports are found by a small tokenizer (comments, strings, template literals and regex literals
// are skipped, so an import written inside a string is not followed), which reads TypeScript
// sources and built JavaScript alike. Type-only imports (`import type …`, `export type … from`)
// are not followed: they cannot change what the code computes.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface SourceGraph {
  /** The directory `files` are relative to. */
  root: string;
  /** Paths relative to root, sorted, '/' separators ('../' where a file lies outside root). */
  files: string[];
  /** sha256 hex over, for each file in order: relative path, NUL, sha256 hex of its content, '\n'. */
  hash: string;
}

export class SourceGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceGraphError';
  }
}

/** Files whose imports are read; anything else reached (a .json import) is hashed, not parsed. */
const CODE = /\.(?:[cm]?[jt]s|[jt]sx)$/;
/** Extensions tried, in order, for a specifier without one and for index files. */
const TRY_EXT = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
/** The `.js → .ts` rewrite of TypeScript's NodeNext resolution, and the reverse for built output. */
const SWAP: Record<string, string[]> = {
  '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'], '.jsx': ['.tsx'],
  '.ts': ['.js'], '.mts': ['.mjs'], '.cts': ['.cjs'], '.tsx': ['.jsx', '.js'],
};

interface FileInfo { mtimeMs: number; size: number; sha: string; deps: string[] }
// Memoised per process by (path, mtime, size): a sweep computes the same graph for every run.
const memo = new Map<string, FileInfo>();

/**
 * The files reachable from `entries` through relative static imports (import/export … from,
 * import('literal'), require('literal')), resolving .ts/.tsx/.mts/.js/.mjs/.cjs, the .js→.ts
 * rewrite, and index files; bare package specifiers are not followed. Throws SourceGraphError
 * (which file, which import could not be resolved or read). Memoised per process by
 * (path, mtime, size). `root` defaults to the common ancestor directory of the entries.
 */
export function sourceGraph(entries: readonly string[], opts: { root?: string } = {}): SourceGraph {
  if (entries.length === 0) throw new SourceGraphError('sourceGraph: no entry files given');
  // An entry named by its source (`new URL('./engine.ts', import.meta.url)`) is its built `.js` in
  // an installed package: entries resolve like imports, with the same extension rewrites.
  const abs = entries.map((e) => {
    const a = path.resolve(e);
    return isFile(a) ? a : (resolveSpec(path.dirname(a), './' + path.basename(a)) ?? a);
  });
  const root = path.resolve(opts.root ?? commonDir(abs.map((e) => path.dirname(e))));
  const seen = new Map<string, FileInfo>();
  const stack = [...abs];
  for (const e of abs) {
    if (!isFile(e)) throw new SourceGraphError(`sourceGraph: entry ${e} is not a readable file`);
  }
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    const info = fileInfo(f);
    seen.set(f, info);
    for (const d of info.deps) if (!seen.has(d)) stack.push(d);
  }
  const rows = [...seen].map(([f, info]) => ({ rel: path.relative(root, f).split(path.sep).join('/'), sha: info.sha }));
  rows.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const h = createHash('sha256');
  for (const r of rows) h.update(`${r.rel}\0${r.sha}\n`);
  return { root, files: rows.map((r) => r.rel), hash: h.digest('hex') };
}

function commonDir(dirs: string[]): string {
  let common = dirs[0]!;
  for (const d of dirs.slice(1)) {
    while (common !== d && !d.startsWith(common.endsWith(path.sep) ? common : common + path.sep)) {
      const up = path.dirname(common);
      if (up === common) break;
      common = up;
    }
  }
  return common;
}

function isFile(f: string): boolean {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
}

function fileInfo(file: string): FileInfo {
  let st;
  let text: Buffer;
  try {
    st = statSync(file);
    const hit = memo.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    text = readFileSync(file);
  } catch (e) {
    throw new SourceGraphError(`sourceGraph: cannot read ${file} (${(e as Error).message})`);
  }
  const deps: string[] = [];
  if (CODE.test(file)) {
    const src = text.toString('utf8');
    for (const imp of findImports(src)) {
      if (!imp.spec.startsWith('./') && !imp.spec.startsWith('../') && imp.spec !== '.' && imp.spec !== '..' && !path.isAbsolute(imp.spec)) continue;
      const target = resolveSpec(path.dirname(file), imp.spec);
      if (!target) {
        const { line, col } = lineCol(src, imp.at);
        throw new SourceGraphError(`${file}:${line}:${col}: import '${imp.spec}' could not be resolved (no such file, with or without the extensions ${TRY_EXT.join(' ')}, nor an index file)`);
      }
      deps.push(target);
    }
  }
  const info = { mtimeMs: st.mtimeMs, size: st.size, sha: createHash('sha256').update(text).digest('hex'), deps };
  memo.set(file, info);
  return info;
}

function resolveSpec(dir: string, spec: string): string | undefined {
  const clean = spec.replace(/[?#].*$/, '');
  const base = path.resolve(dir, clean);
  if (isFile(base)) return base;
  const ext = path.extname(base);
  for (const alt of SWAP[ext] ?? []) {
    const f = base.slice(0, -ext.length) + alt;
    if (isFile(f)) return f;
  }
  for (const e of TRY_EXT) if (isFile(base + e)) return base + e;
  for (const e of TRY_EXT) {
    const f = path.join(base, 'index' + e);
    if (isFile(f)) return f;
  }
  return undefined;
}

function lineCol(src: string, at: number): { line: number; col: number } {
  let line = 1, last = -1;
  for (let i = 0; i < at; i++) if (src.charCodeAt(i) === 10) { line++; last = i; }
  return { line, col: at - last };
}

type Tok = { t: 'id' | 'str' | 'punct'; v: string; at: number };

/** The specifiers of a file's runtime imports, each with its offset (for error messages). */
export function findImports(src: string): { spec: string; at: number }[] {
  const toks = tokenize(src);
  const out: { spec: string; at: number }[] = [];
  // Whether the current statement began `import type` / `export type` (type-only: skipped).
  let typeOnly = false;
  for (let i = 0; i < toks.length; i++) {
    const k = toks[i]!;
    const prev = toks[i - 1];
    const afterDot = prev?.t === 'punct' && prev.v === '.';
    if (k.t === 'punct' && k.v === ';') typeOnly = false;
    if (k.t !== 'id' || afterDot) continue;
    const n1 = toks[i + 1], n2 = toks[i + 2], n3 = toks[i + 3];
    if (k.v === 'import' || k.v === 'export') {
      typeOnly = n1?.t === 'id' && n1.v === 'type' && !(n2?.t === 'punct' && (n2.v === '=' || n2.v === ',')) && !(n2?.t === 'id' && n2.v === 'from');
      if (k.v === 'import' && n1?.t === 'str') out.push({ spec: n1.v, at: n1.at }); // import './side-effect'
      else if (k.v === 'import' && n1?.t === 'punct' && n1.v === '(' && n2?.t === 'str' && n3?.t === 'punct' && (n3.v === ')' || n3.v === ',')) {
        out.push({ spec: n2.v, at: n2.at });
      }
    } else if (k.v === 'from' && n1?.t === 'str') {
      if (!typeOnly) out.push({ spec: n1.v, at: n1.at });
      typeOnly = false;
    } else if (k.v === 'require' && n1?.t === 'punct' && n1.v === '(' && n2?.t === 'str' && n3?.t === 'punct' && n3.v === ')') {
      out.push({ spec: n2.v, at: n2.at });
    }
  }
  return out;
}

const ID_START = /[A-Za-z_$\u0080-\uffff]/;
const ID_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
// After these keywords a '/' starts a regex literal, not a division.
const REGEX_AFTER_KW = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  const n = src.length;
  let i = 0;
  // Template literal nesting: for each open `${`, the brace depth at which it closes.
  const tmpl: number[] = [];
  let depth = 0;
  const regexAllowed = () => {
    const p = toks[toks.length - 1];
    if (!p) return true;
    if (p.t === 'str') return false;
    if (p.t === 'id') return REGEX_AFTER_KW.has(p.v);
    return !(p.v === ')' || p.v === ']' || p.v === '}');
  };
  const readString = (q: string): string => {
    let s = '';
    i++;
    while (i < n && src[i] !== q) {
      if (src[i] === '\\') { s += src[i + 1] ?? ''; i += 2; continue; }
      if (src[i] === '\n') break; // unterminated: stop at the line end
      s += src[i++];
    }
    i++;
    return s;
  };
  // Reads template text from i (just after ` or }) up to the closing ` or an opening ${.
  const readTemplate = () => {
    while (i < n) {
      const c = src[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '`') { i++; toks.push({ t: 'str', v: '', at: i }); return; }
      if (c === '$' && src[i + 1] === '{') { i += 2; tmpl.push(depth); depth++; toks.push({ t: 'punct', v: '(', at: i }); return; }
      i++;
    }
  };
  while (i < n) {
    const c = src[i]!;
    if (c === '/' && src[i + 1] === '/') { while (i < n && src[i] !== '\n') i++; continue; }
    if (c === '/' && src[i + 1] === '*') { const e = src.indexOf('*/', i + 2); i = e < 0 ? n : e + 2; continue; }
    if (c === '#' && i === 0 && src[1] === '!') { while (i < n && src[i] !== '\n') i++; continue; }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === '"' || c === "'") { const at = i; toks.push({ t: 'str', v: readString(c), at }); continue; }
    if (c === '`') { i++; readTemplate(); continue; }
    if (ID_START.test(c)) {
      const at = i;
      while (i < n && ID_PART.test(src[i]!)) i++;
      toks.push({ t: 'id', v: src.slice(at, i), at });
      continue;
    }
    if (/[0-9]/.test(c)) { while (i < n && /[0-9A-Za-z_.]/.test(src[i]!)) i++; toks.push({ t: 'id', v: '0', at: i }); continue; }
    if (c === '/' && regexAllowed()) {
      // Regex literal: skip to the unescaped closing '/', outside character classes.
      i++;
      let cls = false;
      while (i < n && src[i] !== '\n') {
        const d = src[i];
        if (d === '\\') { i += 2; continue; }
        if (d === '[') cls = true;
        else if (d === ']') cls = false;
        else if (d === '/' && !cls) break;
        i++;
      }
      i++;
      while (i < n && ID_PART.test(src[i]!)) i++; // flags
      toks.push({ t: 'str', v: '', at: i });
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      if (tmpl.length && tmpl[tmpl.length - 1] === depth - 1) {
        tmpl.pop();
        depth--;
        toks.push({ t: 'punct', v: ')', at: i });
        i++;
        readTemplate();
        continue;
      }
      depth--;
    }
    toks.push({ t: 'punct', v: c, at: i });
    i++;
  }
  return toks;
}
