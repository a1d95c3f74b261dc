// Create an output folder (--out, --cache, --json's folder) or say plainly why it cannot be.
// fs.mkdirSync({ recursive: true }) spins forever under /proc on Linux (Node retries ENOENT) and
// reports a read-only parent as ENOENT, so the levels are made one at a time here.
import fs from 'node:fs';
import path from 'node:path';

export class OutputDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputDirError';
  }
}

/** Make `dir` (and missing parents); `what` names it in errors, e.g. "--out". */
export function ensureDir(dir: string, what: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    const st = fs.statSync(at, { throwIfNoEntry: false });
    if (st) {
      if (!st.isDirectory()) throw new OutputDirError(`${what} ${dir}: ${at} is not a directory`);
      break;
    }
    missing.unshift(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  if (missing.length === 0) return;
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && fs.statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue; // made meanwhile
      const parent = path.dirname(d);
      const why =
        code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `not writable (${parent} is ${code === 'EROFS' ? 'on a read-only filesystem' : 'not writable by this user'})`
          : code === 'ENOENT' || code === 'ENOTDIR'
            ? `not writable (${parent} is on a filesystem where directories cannot be made, e.g. /proc)`
            : code === 'ENOSPC' || code === 'EDQUOT'
              ? `disk full (cannot make ${d})`
              : `cannot make ${d} (${code ?? (e as Error).message})`;
      throw new OutputDirError(`${what} ${dir}: ${why}`);
    }
  }
}
