// Issue 20 (1) through the real `sublab`: a cache and a report on a full filesystem (a 64 KB tmpfs)
// never hold a truncated file. The run that could not be stored fails naming the disk; the rest of
// the cache verifies; a report that does not fit leaves the previous one whole.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-fulldisk-'));
const mnt = path.join(dir, 'small');
fs.mkdirSync(mnt);
const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
afterAll(() => {
  if (mounted) spawnSync('umount', [mnt]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const sublab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
};

describe.skipIf(!mounted)('a full disk (64 KB tmpfs; skipped: mounting one needs root on Linux)', () => {
  it('cache: the runs that do not fit fail naming the disk; every entry there verifies', () => {
    // Each run prints ~10 KB of rows: 8 runs cannot all fit in 64 KB.
    fs.writeFileSync(
      path.join(dir, 'prog.mjs'),
      `let s=''; process.stdin.on('data',(d)=>(s+=d)); process.stdin.on('end',()=>{ const p=JSON.parse(s); for (let i=0;i<300;i++) console.log(JSON.stringify({acc: 0.9, step: i, tag: 'padding-' + p.seed})); });\n`,
    );
    fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  seeds 8\n  predict acc > 0.5\n}\n`);
    const cache = path.join(mnt, 'cache');
    const r = sublab('run', 'x.exp', '--no-progress', '--cache', cache);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/disk full: cannot write .*\.json \(no space left, ENOSPC, on the filesystem mounted at /);
    expect(r.out).not.toMatch(/\n\s+at .+:\d+:\d+/);
    const v = sublab('cache', 'verify', '--cache', cache);
    expect(v.out).toMatch(/^\d+ valid, 0 corrupt/);
    expect(v.code).toBe(0);
    expect(fs.readdirSync(cache).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('report: one that does not fit leaves the previous report whole', () => {
    fs.rmSync(path.join(mnt, 'cache'), { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'prog.mjs'), `process.stdin.resume(); process.stdin.on('end',()=>console.log('{"acc": 0.9}'));\n`);
    const out = path.join(mnt, 'reports');
    const first = sublab('report', 'x.exp', '--format', 'md', '--out', out, '--cache', path.join(dir, 'cache'));
    expect(first.code).toBe(0);
    const [name] = fs.readdirSync(out);
    const before = fs.readFileSync(path.join(out, name!), 'utf8');
    // Fill the disk, then write the report again.
    const fill = fs.openSync(path.join(mnt, 'fill'), 'w');
    try {
      const chunk = Buffer.alloc(1024, 120);
      for (;;) fs.writeSync(fill, chunk);
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fill);
    }
    // A longer report than before: truncating the old one in place would not free enough room.
    fs.writeFileSync(path.join(dir, 'x.exp'), fs.readFileSync(path.join(dir, 'x.exp'), 'utf8').replace('predict acc > 0.5', `predict acc > 0.5\n    because "${'long reason '.repeat(1500)}"`));
    const again = sublab('report', 'x.exp', '--format', 'md', '--out', out, '--cache', path.join(dir, 'cache'));
    expect(again.code).toBe(1);
    expect(again.out).toContain('disk full');
    expect(fs.readFileSync(path.join(out, name!), 'utf8')).toBe(before);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
