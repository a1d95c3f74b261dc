// The files a command-runner run depends on, hashed into its run id: every word of `command` that
// names a regular file (relative to `cwd`; the program, e.g. `train.py`), and every file listed in
// `set inputs = "data.csv, labels.csv"`. Editing any of them gives new run ids, so nothing stale
// is read from the cache.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Value } from '../../language/ast.ts';

/** Command-line words naming bigger files (interpreters such as node or python) are not hashed. */
export const MAX_PROGRAM_HASH_BYTES = 16 * 1024 * 1024;
/** Largest `inputs` file hashed. */
export const MAX_INPUT_HASH_BYTES = 4 * 1024 * 1024 * 1024;

function hashFile(file: string, size: number): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 1 << 20) || 1);
    let pos = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** The comma-separated `inputs` list. */
export function inputList(v: Value | undefined): string[] {
  if (v === undefined || v === '') return [];
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * For the experiment in `expFile`: a function from a run's params to {file: sha256}, memoised over
 * one plan. Throws (a plan error) for an `inputs` entry that is missing or not a regular file.
 */
export function commandFiles(expFile: string): (params: Readonly<Record<string, Value>>) => Record<string, string> {
  const expDir = path.dirname(path.resolve(expFile));
  const memo = new Map<string, string | null>();
  const digest = (file: string, limit: number, required: boolean): string | null => {
    const key = `${file}\0${limit}\0${required}`;
    if (memo.has(key)) return memo.get(key)!;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(file);
    } catch {
      st = undefined;
    }
    let out: string | null = null;
    if (!st || !st.isFile()) {
      if (required) throw new Error(`inputs: ${file} ${st ? 'is not a regular file' : 'does not exist'} (set inputs lists files relative to cwd)`);
    } else if (st.size <= limit) {
      try {
        out = hashFile(file, st.size);
      } catch (e) {
        if (required) throw new Error(`inputs: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
    } else if (required) {
      throw new Error(`inputs: ${file} is ${st.size} bytes, more than the ${MAX_INPUT_HASH_BYTES} sublab hashes`);
    }
    memo.set(key, out);
    return out;
  };
  return (params) => {
    const cwd = path.resolve(expDir, String(params.cwd ?? '.'));
    const files: Record<string, string> = {};
    const words = String(params.command ?? '').split(/\s+/).filter(Boolean);
    for (const w of words) {
      const f = path.resolve(cwd, w);
      const h = digest(f, MAX_PROGRAM_HASH_BYTES, false);
      if (h) files[path.relative(expDir, f) || w] = h;
    }
    for (const i of inputList(params.inputs)) {
      const f = path.resolve(cwd, i);
      files[path.relative(expDir, f) || i] = digest(f, MAX_INPUT_HASH_BYTES, true)!;
    }
    return files;
  };
}
