// Issue 20 (7): output folders that cannot be made fail at once with a clear reason (under /proc
// Node's recursive mkdir spun forever; a read-only parent said ENOENT); --jobs is capped by the
// runs left and the cores.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolSize } from '../../src/exec/pool.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-outputs-'));
const ro = path.join(dir, 'ro');
let roMounted = false;
const sublab = (...args: string[]) => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { ...process.env, SUBLAB_CACHE: path.join(dir, 'cache') } });
  return { code: r.status, out: r.stdout + r.stderr, ms: Date.now() - t0 };
};
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

beforeAll(() => {
  fs.writeFileSync(path.join(dir, 'prog.mjs'), `process.stdin.resume(); process.stdin.on('end', () => console.log('{"acc": 0.9}'));\n`);
  fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  predict acc > 0.5\n}\n`);
  fs.mkdirSync(ro);
  // A read-only folder: a read-only tmpfs as root (who may write anywhere else), else mode 555.
  roMounted = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=16k', 'tmpfs', ro]).status === 0;
  if (!roMounted) fs.chmodSync(ro, 0o555);
});
afterAll(() => {
  if (roMounted) spawnSync('umount', [ro]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('output folders under /proc', () => {
  it('--cache /proc/x fails fast: not writable', () => {
    const r = sublab('run', 'x.exp', '--no-progress', '--cache', '/proc/sublab-x/cache');
    expect(r.ms).toBeLessThan(20_000);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('result cache /proc/sublab-x/cache: not writable');
    noStack(r.out);
  });
  it('report --out /proc/x and run --json /proc/x/r.json fail fast: not writable', () => {
    const r = sublab('report', 'x.exp', '--format', 'md', '--out', '/proc/sublab-x');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('--out /proc/sublab-x: not writable');
    noStack(r.out);
    const j = sublab('run', 'x.exp', '--no-progress', '--json', '/proc/sublab-x/r.json');
    expect(j.code).toBe(2);
    expect(j.out).toContain('--json /proc/sublab-x: not writable');
  });
});

describe('a read-only parent of --out', () => {
  it('says not writable, not ENOENT', () => {
    const r = sublab('report', 'x.exp', '--format', 'md', '--out', path.join(ro, 'reports'));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain(`--out ${path.join(ro, 'reports')}: not writable (${ro} is`);
    expect(r.out).not.toContain('ENOENT');
    noStack(r.out);
  });
});

describe('--jobs is capped by the runs left and the cores', () => {
  it('poolSize', () => {
    expect(poolSize(6, 1, 8)).toEqual({ jobs: 1, capped: false });
    expect(poolSize(6, 100, 2)).toEqual({ jobs: 2, capped: true });
    expect(poolSize(4, 3, 16)).toEqual({ jobs: 3, capped: false });
    expect(poolSize(2, 0, 16)).toEqual({ jobs: 1, capped: false });
  });
});
