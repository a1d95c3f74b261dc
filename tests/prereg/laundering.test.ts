// Issue 13 (1): preregistration cannot be laundered by recomputing (`run --fresh`), by another
// cache folder, or by registering before committing the lock where git is there.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runFile } from '../../src/exec/run-file.ts';
import { statusesForResult } from '../../src/prereg/index.ts';
import { command as registerCommand } from '../../src/cli/register.ts';
import { ledgerPath } from '../../src/prereg/seen.ts';

const PROG = `let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => { const p = JSON.parse(s); console.log(JSON.stringify({ acc: 0.9 + p.seed / 1000 })); });\n`;
const EXP = `experiment "x" {
  runner command
  set command = "${process.execPath} prog.mjs"
  set timeout = 20
  measure acc
  seeds 2
  predict acc > 0.5
}
`;

let dir: string;
let file: string;
const saved = process.env.SUBLAB_CACHE;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-launder-'));
  file = path.join(dir, 'x.exp');
  fs.writeFileSync(file, EXP);
  fs.writeFileSync(path.join(dir, 'prog.mjs'), PROG);
  process.env.SUBLAB_CACHE = path.join(dir, 'cache-a');
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
  if (saved === undefined) delete process.env.SUBLAB_CACHE;
  else process.env.SUBLAB_CACHE = saved;
  fs.rmSync(dir, { recursive: true, force: true });
});

const run = async (opts: { fresh?: boolean; cacheDir?: string } = {}) => {
  const r = await runFile(file, { cacheDir: opts.cacheDir ?? path.join(dir, 'cache-a'), fresh: opts.fresh });
  return statusesForResult(r.experiments[0]!).map((s) => s.status);
};
const register = async () => expect(await registerCommand.run([file])).toBe(0);
// Registering once results exist is refused without --after-results.
const registerLate = async () => {
  expect(await registerCommand.run([file])).toBe(1);
  expect(fs.existsSync(path.join(dir, 'sublab.lock'))).toBe(false);
  expect(await registerCommand.run([file, '--after-results'])).toBe(0);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('preregistration laundering (issue 13)', () => {
  it('run, register, run --fresh: never registered-before', async () => {
    expect(await run()).toEqual(['not-registered']);
    await sleep(5);
    await registerLate();
    const lock = fs.readFileSync(path.join(dir, 'sublab.lock'), 'utf8');
    expect(JSON.parse(lock.split('\n')[0]!).resultsSince).toMatch(/^\d{4}-/);
    await sleep(5);
    expect(await run({ fresh: true })).toEqual(['registered-after']);
    // Another cache folder.
    expect(await run({ cacheDir: path.join(dir, 'cache-b') })).toEqual(['registered-after']);
    // Even with the ledger gone and a new cache: the lock recorded that results existed.
    fs.rmSync(ledgerPath(file));
    expect(await run({ cacheDir: path.join(dir, 'cache-c') })).toEqual(['registered-after']);
  });

  it('--fresh keeps the first result on record in the cache entry', async () => {
    await run();
    const cache = path.join(dir, 'cache-a');
    const entry = () => JSON.parse(fs.readFileSync(path.join(cache, fs.readdirSync(cache).filter((n) => n.endsWith('.json')).sort()[0]!), 'utf8'));
    const first = entry().finishedAt;
    await sleep(5);
    await run({ fresh: true });
    expect(entry().finishedAt > first).toBe(true);
    expect(entry().first.finishedAt).toBe(first);
  });

  it('results in another cache, not seen by register, are still seen through the ledger', async () => {
    await run({ cacheDir: path.join(dir, 'elsewhere') });
    await sleep(5);
    await registerLate();
    expect(await run({ cacheDir: path.join(dir, 'cache-new') })).toEqual(['registered-after']);
  });

  it('register --cache DIR records results found in that cache (even with no ledger)', async () => {
    await run({ cacheDir: path.join(dir, 'elsewhere') });
    fs.rmSync(ledgerPath(file));
    await sleep(5);
    expect(await registerCommand.run([file, '--cache', path.join(dir, 'elsewhere')])).toBe(1);
    expect(await registerCommand.run([file, '--cache', path.join(dir, 'elsewhere'), '--after-results'])).toBe(0);
    const entry = JSON.parse(fs.readFileSync(path.join(dir, 'sublab.lock'), 'utf8').split('\n')[0]!);
    expect(entry.resultsSince).toMatch(/^\d{4}-/);
    expect(await run({ cacheDir: path.join(dir, 'cache-new') })).toEqual(['registered-after']);
  });

  it("a factor file sweeping over a point another file already ran is refused, naming the point; without it, it registers clean", async () => {
    // The baseline's runs exist; a factor file whose sweep includes the baseline's value shares them.
    fs.writeFileSync(path.join(dir, 'prog.mjs'), PROG.replace('p.seed / 1000', '(p.lr ?? 0) + p.seed / 1000'));
    fs.writeFileSync(file, EXP.replace('  seeds 2', '  set lr = 0.1\n  seeds 2'));
    await run();
    const factor = path.join(dir, 'factor.exp');
    const write = (values: string) => fs.writeFileSync(factor, `experiment "factor" extends "x.exp" {\n  sweep lr in [${values}]\n  predict acc increases with lr\n}\n`);
    write('0.1, 0.2, 0.3');
    const err: string[] = [];
    vi.mocked(process.stderr.write).mockImplementation((s) => (err.push(String(s)), true));
    expect(await registerCommand.run([factor])).toBe(1);
    expect(err.join('')).toContain('lr = 0.1: 2 of 2 runs');
    expect(err.join('')).toContain('--after-results');
    expect(err.join('')).toContain('Leave those points out');
    expect(err.join('')).toContain("another file may share");
    expect(fs.existsSync(path.join(dir, 'sublab.lock'))).toBe(false);
    write('0.2, 0.3');
    expect(await registerCommand.run([factor])).toBe(0);
    const entry = JSON.parse(fs.readFileSync(path.join(dir, 'sublab.lock'), 'utf8').split('\n')[0]!);
    expect(entry.resultsSince).toBe(null);
  });

  it('register first, then run: registered before its first result', async () => {
    await register();
    await sleep(5);
    expect(await run()).toEqual(['registered-before']);
    expect(await run({ fresh: true })).toEqual(['registered-before']);
  });

  it('with git: the lock entry must be committed before the commit results are computed at', async () => {
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...a], { cwd: dir, stdio: 'ignore' });
    try {
      git('init', '-q');
    } catch {
      return; // no git here
    }
    fs.writeFileSync(path.join(dir, '.gitignore'), 'cache-*/\n.sublab/\n');
    git('add', 'x.exp', 'prog.mjs', '.gitignore');
    git('commit', '-qm', 'experiment');
    await register();
    await sleep(5);
    // Registered (by time) but not committed when the results were computed: git cannot vouch.
    const st = await runFile(file, { cacheDir: path.join(dir, 'cache-a') });
    const s = statusesForResult(st.experiments[0]!)[0]!;
    expect(s.status).toBe('registered-after');
    expect(s.detail).toContain('not committed');
    // Committed, then computed in a new cache at that commit: preregistered.
    git('add', 'sublab.lock');
    git('commit', '-qm', 'register');
    fs.rmSync(ledgerPath(file));
    expect(await run({ cacheDir: path.join(dir, 'cache-b') })).toEqual(['registered-before']);
  });
});
