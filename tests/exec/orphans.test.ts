// Issue 20 (2, 3): SIGTERM, SIGHUP or kill -9 of `sublab run --jobs 2` leaves nothing it started
// alive 5 s later — its pool child, the programs (sleeping), and the daemons they started in their
// own session (setsid) — and the re-run gives the results of an uninterrupted run.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-orphans-'));
const pids = path.join(dir, 'pids');
const slow = path.join(dir, 'slow');

// The program: writes its pid and its daemon's pid, sleeps while `slow` exists, then prints a row
// that depends only on its parameters.
const prog = `
import fs from 'node:fs';
import { spawn } from 'node:child_process';
let s = '';
process.stdin.on('data', (d) => (s += d));
process.stdin.on('end', () => {
  const p = JSON.parse(s);
  fs.writeFileSync(${JSON.stringify(pids)} + '/prog-' + process.pid, '');
  if (p.daemon) {
    // detached: a new session (setsid), out of the run's process group.
    const d = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    d.unref();
    fs.writeFileSync(${JSON.stringify(pids)} + '/daemon-' + d.pid, '');
  }
  const done = () => console.log(JSON.stringify({ acc: 0.5 + p.seed / 100 + p.lr }));
  if (fs.existsSync(${JSON.stringify(slow)})) setTimeout(done, 120_000);
  else done();
});
`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed orphan may stay a zombie where nothing reaps it (a container without an init).
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const recorded = () => (fs.existsSync(pids) ? fs.readdirSync(pids).map((n) => Number(n.split('-')[1])) : []);
/** Direct children of `pid` (Linux /proc). */
const childrenOf = (pid: number) =>
  fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return fs.readFileSync(`/proc/${n}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);

const rowsOf = (file: string) =>
  (JSON.parse(fs.readFileSync(file, 'utf8')).experiments[0].rows as Record<string, unknown>[]).map(({ seed, lr, acc }) => ({ seed, lr, acc }));

const exp = (daemon: boolean) =>
  `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  set daemon = ${daemon}\n  set timeout = 0\n  sweep lr in [0.1, 0.2]\n  seeds 2\n  measure acc\n  predict acc > 0.5\n}\n`;

let clean: ReturnType<typeof rowsOf>;
beforeAll(() => {
  fs.writeFileSync(path.join(dir, 'prog.mjs'), prog);
  fs.mkdirSync(pids);
  fs.writeFileSync(path.join(dir, 'x.exp'), exp(true));
  const r = spawnSync(process.execPath, [bin, 'run', 'x.exp', '--no-progress', '--cache', path.join(dir, 'clean'), '--json', 'clean.json'], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  clean = rowsOf(path.join(dir, 'clean.json'));
  expect(clean).toHaveLength(4);
}, 60_000);
afterAll(() => {
  for (const p of recorded()) if (alive(p)) process.kill(p, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('stopping sublab run --jobs 2 ends everything it started', () => {
  for (const [sig, daemon] of [
    ['SIGTERM', true],
    ['SIGKILL', true],
    ['SIGHUP', false],
  ] as const) {
    it(`${sig}${daemon ? ' (programs with setsid daemons)' : ''}: nothing alive 5 s later; the re-run gives the uninterrupted results`, async () => {
      fs.rmSync(pids, { recursive: true, force: true });
      fs.mkdirSync(pids);
      fs.writeFileSync(slow, '');
      fs.writeFileSync(path.join(dir, 'x.exp'), exp(daemon));
      const cache = path.join(dir, `cache-${sig}`);
      const main = spawn(process.execPath, [bin, 'run', 'x.exp', '--no-progress', '--jobs', '2', '--cache', cache], { cwd: dir, stdio: 'ignore', env: { ...process.env, SUBLAB_JOBS: '' } });
      const ended = new Promise<void>((r) => main.on('close', () => r()));
      // Both processes have a program running (and each program its daemon).
      const want = daemon ? 4 : 2;
      for (let i = 0; i < 1500 && recorded().length < want; i++) await sleep(20);
      expect(recorded().length).toBeGreaterThanOrEqual(want);
      const started = [...recorded(), ...childrenOf(main.pid!)];
      expect(started.filter(alive).length).toBeGreaterThanOrEqual(want);
      main.kill(sig);
      await ended;
      const t0 = Date.now();
      while (Date.now() - t0 < 5000 && started.some(alive)) await sleep(50);
      expect(started.filter(alive)).toEqual([]);
      fs.rmSync(slow);
      const again = spawnSync(process.execPath, [bin, 'run', 'x.exp', '--no-progress', '--cache', cache, '--json', `${sig}.json`], { cwd: dir, encoding: 'utf8' });
      expect(again.status, again.stderr).toBe(0);
      expect(rowsOf(path.join(dir, `${sig}.json`))).toEqual(clean);
    }, 90_000);
  }
});

describe.skipIf(process.platform !== 'linux')('sublab worker', () => {
  it('SIGTERM (SLURM time limit, scancel): exit 143, its programs and their daemons gone, no claim left', async () => {
    fs.rmSync(pids, { recursive: true, force: true });
    fs.mkdirSync(pids);
    fs.writeFileSync(slow, '');
    fs.writeFileSync(path.join(dir, 'x.exp'), exp(true));
    const cache = path.join(dir, 'cache-worker');
    const w = spawn(process.execPath, [bin, 'worker', 'x.exp', '--task', '0', '--tasks', '1', '--cache', cache], { cwd: dir, stdio: 'ignore' });
    const ended = new Promise<number | null>((r) => w.on('close', (code) => r(code)));
    for (let i = 0; i < 1500 && recorded().length < 2; i++) await sleep(20);
    const started = recorded();
    expect(started.length).toBeGreaterThanOrEqual(2);
    w.kill('SIGTERM');
    expect(await ended).toBe(143);
    const t0 = Date.now();
    while (Date.now() - t0 < 5000 && started.some(alive)) await sleep(50);
    expect(started.filter(alive)).toEqual([]);
    expect(fs.readdirSync(cache).filter((n) => n.endsWith('.claim'))).toEqual([]);
    fs.rmSync(slow);
  }, 60_000);
});
