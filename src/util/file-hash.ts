// The sha256 of a file's contents, kept per process while the file's stat says it is unchanged:
// planning again (a sweep, `check` then `run` in one process, a long-lived worker) reads only the
// files that changed. Run ids read files through it (the command runner's dependency set,
// token_probe's local model folder).
import { createHash } from 'node:crypto';
import fs from 'node:fs';

interface Known {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  hash: string;
}
/** Hashes computed in this process, valid while (size, mtime, ctime, inode) are unchanged. */
const known = new Map<string, Known>();

function sha256File(file: string, size: number): string {
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

/**
 * sha256 hex of `file`'s contents (`st`: its stat, taken by the caller), from this process's memory
 * when the file is unchanged. Throws the file system's error for a file that cannot be read.
 */
export function fileSha256(file: string, st: fs.Stats): string {
  const k = known.get(file);
  if (k && k.size === st.size && k.mtimeMs === st.mtimeMs && k.ctimeMs === st.ctimeMs && k.ino === st.ino) return k.hash;
  const hash = sha256File(file, st.size);
  known.set(file, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, hash });
  return hash;
}
