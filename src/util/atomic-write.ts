// Every file sublab keeps (cache entries, claims, reports, write-ups, --json output, locks) is
// written through here, so it is either complete or not there at all: the bytes go to a temp file
// in the same directory (write counts checked: `write(2)` may write less than asked on a nearly
// full disk), are fsynced, and the temp file is renamed over the final name; the directory is
// fsynced so the rename survives a crash. A full disk removes the temp file and throws
// DiskFullError, which names the file and the filesystem; what was at the final name stays.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Errno codes that mean "the filesystem cannot take these bytes". */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);

/** The write could not be completed because the filesystem is full (or failing). */
export class DiskFullError extends Error {
  readonly code: string;
  readonly file: string;
  /** Mount point of the filesystem holding `file`, when it can be found (Linux). */
  readonly mount: string | undefined;
  constructor(file: string, code: string) {
    const mount = mountPointOf(path.dirname(file));
    const what = code === 'EIO' ? 'input/output error' : code === 'EDQUOT' ? 'disk quota exceeded' : code === 'EFBIG' ? 'file too large for the filesystem' : 'no space left';
    super(`disk full: cannot write ${file} (${what}, ${code}, on the filesystem ${mount ? `mounted at ${mount}` : `holding ${path.dirname(file)}`}); nothing was written there`);
    this.name = 'DiskFullError';
    this.code = code;
    this.file = file;
    this.mount = mount;
  }
}

/** Whether `e` is an errno error meaning the disk is full (or failing). */
export function isNoSpace(e: unknown): boolean {
  return e instanceof DiskFullError || NO_SPACE.has((e as NodeJS.ErrnoException)?.code ?? '');
}

/** Longest mount point in /proc/self/mounts that holds `dir` (undefined off Linux). */
export function mountPointOf(dir: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return undefined;
  }
  let abs = path.resolve(dir);
  try {
    abs = fs.realpathSync(abs);
  } catch {
    /* keep the resolved name */
  }
  let best: string | undefined;
  for (const line of text.split('\n')) {
    // Spaces in mount points are written as \040.
    const mp = line.split(' ')[1]?.replace(/\\040/g, ' ');
    if (!mp) continue;
    const inside = mp === '/' || abs === mp || abs.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (inside && (!best || mp.length > best.length)) best = mp;
  }
  return best;
}

/** Write all of `data` at the fd's position; `write(2)` may take fewer bytes than asked. */
export function writeAllSync(fd: number, data: string | Uint8Array): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  let stalls = 0;
  while (off < buf.length) {
    const n = fs.writeSync(fd, buf, off, buf.length - off);
    if (n <= 0) {
      // A write of zero bytes makes no progress: treat persistent ones as a full disk.
      if (++stalls > 3) throw Object.assign(new Error('write made no progress'), { code: 'ENOSPC' });
      continue;
    }
    off += n;
  }
}

/** fsync a folder (a rename into it survives a crash); a no-op where the platform refuses. */
export function fsyncDir(dir: string): void {
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    /* not every platform allows fsync on a directory */
  }
}

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o666 less umask). */
  mode?: number;
  /**
   * Create only: fail with EEXIST (returning false) when the final name exists, instead of
   * replacing it. Done with link(2), which is atomic and exclusive, so a claim or lock file is
   * never seen half written.
   */
  exclusive?: boolean;
  /**
   * When the final name is a device or FIFO: 'write-into' it (default: `--json /dev/stdout`), or
   * 'replace' it with the file (a cache entry's name is never a device of ours).
   */
  special?: 'write-into' | 'replace';
}

/** Temp-file name beside `file` (same directory, so rename never crosses a filesystem). */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Write `data` to `file` completely or not at all. Returns true when written; false only with
 * `exclusive` when the file already exists. Throws DiskFullError when the disk is full.
 */
export function atomicWriteFileSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): boolean {
  // 'replace' and exclusive writes never look through the final name (a link stays a name).
  const st = opts.exclusive || opts.special === 'replace' ? undefined : fs.statSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile() && !st.isDirectory()) {
    // A device or FIFO (--json /dev/stdout): write into it; renaming over it would replace it.
    writeInPlace(file, data);
    return true;
  }
  // A symbolic link to a file: replace the file it names, not the link.
  if (st?.isFile()) file = fs.realpathSync(file);
  const tmp = tempNameFor(file);
  try {
    const fd = fs.openSync(tmp, 'wx', opts.mode);
    try {
      writeAllSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.exclusive) {
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } else fs.renameSync(tmp, file);
  } catch (e) {
    rmQuiet(tmp);
    const code = (e as NodeJS.ErrnoException).code;
    if (code && NO_SPACE.has(code)) throw new DiskFullError(file, code);
    throw e;
  } finally {
    if (opts.exclusive) rmQuiet(tmp);
  }
  fsyncDir(path.dirname(file));
  return true;
}

function writeInPlace(file: string, data: string | Uint8Array): void {
  try {
    const fd = fs.openSync(file, 'w');
    try {
      writeAllSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && NO_SPACE.has(code)) throw new DiskFullError(file, code);
    throw e;
  }
}

function rmQuiet(p: string): void {
  try {
    fs.rmSync(p, { force: true });
  } catch {
    /* already gone or not ours to remove */
  }
}
