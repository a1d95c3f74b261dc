// Issue 13 (4, 8, 11): concurrent registers, a lock that is a directory, a deleted last line.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withFileLock } from '../../src/prereg/filelock.ts';
import { parseLock, readLock } from '../../src/prereg/lock.ts';
import { command as registerCommand } from '../../src/cli/register.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const exp = (name: string) => `experiment "${name}" {
  runner superposition
  set steps = 10
  seeds 2
  predict transfer_ratio > 0.2
  predict transfer_ratio < 5
}
`;

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-lockh-'));
  for (const n of ['a', 'b']) fs.writeFileSync(path.join(dir, `${n}.exp`), exp(n));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sublab = (args: string[]) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, SUBLAB_CACHE: path.join(dir, 'cache') } });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('close', (code) => resolve({ code, out }));
  });

describe('the lock under concurrency and faults', () => {
  it('withFileLock admits one holder at a time', async () => {
    const file = path.join(dir, 'counter');
    fs.writeFileSync(file, '0');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(file, async () => {
          inside++;
          most = Math.max(most, inside);
          const n = Number(fs.readFileSync(file, 'utf8'));
          await new Promise((r) => setTimeout(r, 5));
          fs.writeFileSync(file, String(n + 1));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('8');
    expect(fs.existsSync(`${file}.lck`)).toBe(false);
  });

  it('takes over a lock left by a dead process', async () => {
    const file = path.join(dir, 'x');
    fs.writeFileSync(`${file}.lck`, JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), time: Date.now(), token: 't' }));
    expect(await withFileLock(file, () => 42, { timeoutMs: 2000 })).toBe(42);
  });

  it('two concurrent `sublab register`s on one folder leave a valid lock every time', async () => {
    for (let trial = 0; trial < 4; trial++) {
      fs.rmSync(path.join(dir, 'sublab.lock'), { force: true });
      const [a, b] = await Promise.all([sublab(['register', 'a.exp']), sublab(['register', 'b.exp'])]);
      expect([a.code, b.code], a.out + b.out).toEqual([0, 0]);
      const lock = parseLock(fs.readFileSync(path.join(dir, 'sublab.lock'), 'utf8'));
      expect(lock.problems).toEqual([]);
      expect(lock.entries).toHaveLength(4);
    }
  }, 30_000);

  it('register --status on a lock that is a directory: a message, exit 1, no stack trace', async () => {
    fs.mkdirSync(path.join(dir, 'sublab.lock'));
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
    expect(await registerCommand.run([path.join(dir, 'a.exp'), '--status'])).toBe(1);
    expect(err).toContain('a directory, not a lock file');
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('a deleted last line is noticed against the lock committed in git', async () => {
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: dir, stdio: 'ignore' });
    try {
      git('init', '-q');
    } catch {
      return;
    }
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(await registerCommand.run([path.join(dir, 'a.exp')])).toBe(0);
    git('add', 'a.exp', 'sublab.lock');
    git('commit', '-qm', 'register');
    const lp = path.join(dir, 'sublab.lock');
    expect(readLock(lp).tampered).toBe(false);
    const lines = fs.readFileSync(lp, 'utf8').trimEnd().split('\n');
    fs.writeFileSync(lp, lines.slice(0, -1).join('\n') + '\n');
    expect(parseLock(fs.readFileSync(lp, 'utf8')).tampered).toBe(false); // the chain alone cannot tell
    const st = readLock(lp);
    expect(st.tampered).toBe(true);
    expect(st.problems[0]!.message).toContain('committed at HEAD');
  });
});
