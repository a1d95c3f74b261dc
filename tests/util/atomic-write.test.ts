// Issue 20 (1): a write is complete or does not happen. Short writes (what write(2) does on a
// nearly full disk) are simulated by wrapping fs.writeSync; a full disk is a real 64 KB tmpfs
// where mounting is permitted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { atomicWriteFileSync, DiskFullError, writeAllSync } from '../../src/util/atomic-write.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-atomic-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

describe('atomicWriteFileSync', () => {
  it('completes a write that write(2) takes in short pieces', () => {
    const real = fs.writeSync.bind(fs) as (...a: unknown[]) => number;
    // At most 1000 bytes per call, as a nearly full or slow filesystem may do.
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off = 0, len = buf.length - off) => real(fd, buf, off, Math.min(len, 1000))) as unknown as typeof fs.writeSync);
    const f = path.join(dir, 'short.json');
    const text = 'x'.repeat(10_000);
    atomicWriteFileSync(f, text);
    expect(fs.readFileSync(f, 'utf8')).toBe(text);
  });

  it('ENOSPC part-way: DiskFullError naming the file, the old content kept, no temp file left', () => {
    const f = path.join(dir, 'full.json');
    fs.writeFileSync(f, 'previous report');
    const real = fs.writeSync.bind(fs) as (...a: unknown[]) => number;
    let calls = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off = 0, len = buf.length - off) => {
      if (++calls > 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return real(fd, buf, off, Math.min(len, 4096));
    }) as unknown as typeof fs.writeSync);
    let err: unknown;
    try {
      atomicWriteFileSync(f, 'y'.repeat(20_000));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as Error).message).toMatch(/^disk full: cannot write .*full\.json \(no space left, ENOSPC, on the filesystem/);
    expect(fs.readFileSync(f, 'utf8')).toBe('previous report');
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a write making no progress is a full disk, not an endless loop', () => {
    vi.spyOn(fs, 'writeSync').mockImplementation((() => 0) as unknown as typeof fs.writeSync);
    const fd = fs.openSync(path.join(dir, 'zero'), 'w');
    try {
      expect(() => writeAllSync(fd, 'abc')).toThrow(/no progress/);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('exclusive: creates once, never replaces, leaves no temp file', () => {
    const f = path.join(dir, 'claim');
    expect(atomicWriteFileSync(f, 'first', { exclusive: true })).toBe(true);
    expect(atomicWriteFileSync(f, 'second', { exclusive: true })).toBe(false);
    expect(fs.readFileSync(f, 'utf8')).toBe('first');
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('.claim'))).toEqual([]);
  });
});

// A real full filesystem: root may mount a 64 KB tmpfs; elsewhere this is skipped, saying why.
const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-tmpfs-'));
const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
afterAll(() => {
  if (mounted) spawnSync('umount', [mnt]);
  fs.rmSync(mnt, { recursive: true, force: true });
});

describe.skipIf(!mounted)('on a real 64 KB tmpfs (skipped: mounting a tmpfs needs root on Linux)', () => {
  it('fills up: every file there is whole or absent; the error names the mount point', () => {
    const written: string[] = [];
    let err: unknown;
    for (let i = 0; i < 40 && !err; i++) {
      const f = path.join(mnt, `f${i}.txt`);
      try {
        atomicWriteFileSync(f, String(i % 10).repeat(6000));
        written.push(f);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(DiskFullError);
    expect((err as DiskFullError).mount).toBe(fs.realpathSync(mnt));
    expect((err as Error).message).toContain(`mounted at ${fs.realpathSync(mnt)}`);
    for (const f of written) expect(fs.readFileSync(f, 'utf8')).toHaveLength(6000);
    expect(fs.readdirSync(mnt).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
