// The glob patterns of the command runner's `inputs` (`configs/*.yaml`, `!data/`), matched against
// `/`-separated paths relative to `cwd`. Small and dependency-free: `*`, `?`, `[abc]`, `[!abc]`,
// `{a,b}` and `**` (any number of folders), with .gitignore's one rule for slashes: a pattern with
// no slash (besides a trailing one) matches a file or folder name at any depth.

/** Characters that make an `inputs` entry a pattern rather than a path. */
export const GLOB_CHARS = /[*?[{]/;

export interface Glob {
  /** As written (without `!`). */
  text: string;
  /** No slash: matched against each name along a path, not the whole path. */
  anyDepth: boolean;
  re: RegExp;
}

function escape(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** The regular expression of one pattern (no slash handling: the whole text against the whole path). */
function toRegExp(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        // `**/` is zero or more folders; a bare `**` anything, slashes included.
        const slash = p[i + 2] === '/';
        out += slash ? '(?:[^/]*/)*' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = p.slice(i + 1, end);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else if (c === '{') {
      const end = p.indexOf('}', i);
      if (end < 0) {
        out += '\\{';
        continue;
      }
      out += `(?:${p.slice(i + 1, end).split(',').map(toRegExp).join('|')})`;
      i = end;
    } else out += escape(c);
  }
  return out;
}

export function compileGlob(text: string): Glob {
  const trimmed = text.replace(/^\.\//, '').replace(/\/+$/, '');
  return { text, anyDepth: !trimmed.includes('/'), re: new RegExp(`^${toRegExp(trimmed)}$`) };
}

/**
 * Whether `rel` (a `/`-separated path) or a folder above it matches: `data/` and `data` both take
 * in `data/x/y.csv`.
 */
export function globMatches(g: Glob, rel: string): boolean {
  const parts = rel.split('/');
  if (g.anyDepth) return parts.some((name) => g.re.test(name));
  for (let i = 1; i <= parts.length; i++) if (g.re.test(parts.slice(0, i).join('/'))) return true;
  return false;
}

/** The folder a pattern's matches lie under: its leading segments that hold no wildcard. */
export function globBase(text: string): string {
  const parts = text.replace(/^\.\//, '').split('/');
  const fixed: string[] = [];
  for (const seg of parts.slice(0, -1)) {
    if (GLOB_CHARS.test(seg)) break;
    fixed.push(seg);
  }
  return fixed.join('/') || '.';
}
