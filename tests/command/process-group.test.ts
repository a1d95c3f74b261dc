// Issue 13 (2): a command program's descendants end with its run: on exit (after a short pipe
// grace), on timeout, on cancel; and the run's stdout is capped.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner, CommandRunError } from '../../src/runners/command/runner.ts';
import type { Value } from '../../src/language/ast.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');
const ctx = { progress() {} };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed orphan may stay a zombie where nothing reaps it (a container without an init).
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
};
const pidFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-pg-')), 'pid');
const readPid = (f: string) => Number(fs.readFileSync(f, 'utf8').trim());
async function gone(pid: number, ms = 1000): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}
const run = (params: Record<string, Value>, signal?: AbortSignal) =>
  runner.run([{ id: 'pg', seed: 0, params: { cwd: fixtures, timeout: 20, ...params } }], { ...ctx, signal });
async function failure(p: Promise<unknown>): Promise<CommandRunError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CommandRunError);
    return e as CommandRunError;
  }
  throw new Error('expected the run to fail');
}

describe('command runner process groups', () => {
  it('a child left holding stdout neither delays nor outlives a run that exited 0', async () => {
    const f = pidFile();
    const t0 = Date.now();
    const [out] = await run({ command: `sh linger.sh ${f}` });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(out!.rows).toEqual([{ metrics: { score: 1 } }]);
    expect(await gone(readPid(f))).toBe(true);
  });

  it('a timeout kills the wrapper and the program it wraps, within timeout + grace', async () => {
    const f = pidFile();
    const t0 = Date.now();
    const e = await failure(run({ command: `sh wrap.sh ${f}`, timeout: 0.5 }));
    expect(e.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(0.5 * 1000 + 2000 + 1000);
    expect(await gone(readPid(f))).toBe(true);
  });

  it('cancelling (Ctrl-C) reaches the whole group', async () => {
    const f = pidFile();
    const ac = new AbortController();
    const p = run({ command: `sh wrap.sh ${f}`, timeout: 0 }, ac.signal);
    while (!fs.existsSync(f) || fs.readFileSync(f, 'utf8').trim() === '') await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    ac.abort();
    const e = await failure(p);
    expect(e.kind).toBe('cancelled');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await gone(readPid(f))).toBe(true);
  });

  it('stops a run that prints more than max_output_mb', async () => {
    const e = await failure(run({ command: `${process.execPath} -e process.stdout.write("x".repeat(3*1024*1024))`, max_output_mb: 1 }));
    expect(e.kind).toBe('output');
    expect(e.message).toContain('more than 1 MB on stdout');
  });

  it('names a cwd that is a file instead of a bare ENOTDIR', async () => {
    const e = await failure(run({ command: 'sh linger.sh x', cwd: path.join(fixtures, 'linger.sh') }));
    expect(e.kind).toBe('config');
    expect(e.message).toMatch(/cwd .*linger\.sh is not a directory/);
  });
});

describe('Ctrl-C on `sublab run` with a command program that never ends', () => {
  it('one SIGINT ends sublab and the program\'s whole group', async () => {
    const { spawn } = await import('node:child_process');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-sigint-'));
    const f = path.join(dir, 'pid');
    fs.copyFileSync(path.join(fixtures, 'wrap.sh'), path.join(dir, 'wrap.sh'));
    fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "x" {\n  runner command\n  set command = "sh wrap.sh ${f}"\n  set timeout = 0\n  measure acc\n  seeds 1\n  predict acc > 0.5\n}\n`);
    const bin = path.resolve(here, '../../bin/sublab.mjs');
    const child = spawn(process.execPath, [bin, 'run', 'x.exp', '--no-progress'], { cwd: dir, env: { ...process.env, SUBLAB_CACHE: path.join(dir, 'cache') }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const t0 = Date.now();
    while (!(fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim())) {
      if (Date.now() - t0 > 20_000) throw new Error('the program never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGINT');
    const t1 = Date.now();
    expect(await exited).toBe(130);
    expect(Date.now() - t1).toBeLessThan(4000);
    expect(await gone(readPid(f))).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});
