// An exclusive lock on a file for a short read-modify-append (two `sublab register`s on one folder
// must not both chain onto the same last entry). The lock is `<file>.lck`, created with O_EXCL and
// holding the owner's pid, host and time; one whose owner is gone (same host) or that is older
// than `staleMs` is taken over.
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.ts';

export interface FileLockOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** A lock older than this is stale whoever holds it (default 60 s; a register takes milliseconds). */
  staleMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileLockTimeout extends Error {}

export async function withFileLock<T>(file: string, body: () => T | Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const lck = `${file}.lck`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 60_000;
  const token = `${os.hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const t0 = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      // Created whole or not at all: a half-written lock would look unreadable (stale after 5 s).
      if (atomicWriteFileSync(lck, JSON.stringify({ pid: process.pid, host: os.hostname(), time: Date.now(), token }), { exclusive: true })) break;
      throw Object.assign(new Error('held'), { code: 'EEXIST' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Held: by whom, and is it stale?
    let holder: { pid?: number; host?: string; time?: number } | undefined;
    let mtime = Date.now();
    try {
      mtime = fs.lstatSync(lck).mtimeMs;
      holder = JSON.parse(fs.readFileSync(lck, 'utf8'));
    } catch {
      holder = undefined;
    }
    const age = Date.now() - (typeof holder?.time === 'number' ? holder.time : mtime);
    const gone = holder?.host === os.hostname() && typeof holder.pid === 'number' && holder.pid !== process.pid && !alive(holder.pid);
    if (gone || age > staleMs || (!holder && age > 5_000)) {
      // Move it aside under a unique name; O_EXCL on the next turn decides who gets it.
      try {
        fs.renameSync(lck, `${lck}.stale-${process.pid}-${randomBytes(4).toString('hex')}`);
      } catch {
        /* someone else did */
      }
      for (const n of fs.readdirSync(path.dirname(lck))) if (n.startsWith(path.basename(lck) + '.stale-')) fs.rmSync(path.join(path.dirname(lck), n), { force: true });
      continue;
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new FileLockTimeout(`${file} is locked by ${holder ? `process ${holder.pid} on ${holder.host}` : 'another process'} (${lck}); if no sublab is running, remove that file`);
    }
    await sleep(Math.min(200, 5 + attempt * 10) + Math.random() * 20);
  }
  try {
    return await body();
  } finally {
    try {
      const cur = JSON.parse(fs.readFileSync(lck, 'utf8')) as { token?: string };
      if (cur.token === token) fs.rmSync(lck, { force: true });
    } catch {
      /* already gone */
    }
  }
}
