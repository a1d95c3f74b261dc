// Issue 19: preregistration in the user's hands, through the real CLI in real git repositories.
// `register` ends with the git command that commits the lock; `run` (and `submit`) stop before
// computing anything while registered predictions are not committed; verdicts show each
// prediction's registration status.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');

const PROG = `let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => { const p = JSON.parse(s); console.log(JSON.stringify({ acc: 0.9 + p.seed / 1000 })); });\n`;
const exp = (name: string) => `experiment "${name}" {
  runner command
  set command = "${process.execPath} prog.mjs"
  set timeout = 20
  set variant = "${name}"
  measure acc
  seeds 3
  predict acc > 0.5
}
`;

// Commits need an identity; HOME-less CI machines have none.
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const env = { ...process.env, ...gitEnv, SUBLAB_CACHE: '', SUBLAB_NO_GIT: '' };

let dir: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-prereg-flow-')));
  fs.mkdirSync(path.join(dir, 'exps'));
  fs.writeFileSync(path.join(dir, 'exps/a.exp'), exp('a'));
  fs.writeFileSync(path.join(dir, 'exps/b.exp'), exp('b'));
  fs.writeFileSync(path.join(dir, 'exps/prog.mjs'), PROG);
  fs.writeFileSync(path.join(dir, '.gitignore'), '.sublab/\n');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
function sublab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The command `register` printed, run as the user would paste it. */
function printedCommand(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.trim().startsWith('git add '));
  expect(line, stdout).toBeDefined();
  return line!.trim();
}
const cacheDir = () => path.join(dir, 'exps/.sublab/cache');

describe('register → commit → run (issue 19)', () => {
  it('register prints the exact git command; run stops until it is run; then the verdicts say [registered]', () => {
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'experiments');

    const reg = sublab('register', 'exps/a.exp');
    expect(reg.code, reg.stderr).toBe(0);
    const cmd = printedCommand(reg.stdout);
    // Paths relative to where the user stands; only what the registration changed.
    expect(cmd).toBe(`git add exps/sublab.lock && git commit -m 'Preregister predictions of a.exp' -- exps/sublab.lock`);

    // Not committed: nothing runs, and the message says what to do and what running anyway means.
    const stopped = sublab('run', 'exps/a.exp', '--no-progress');
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain('exps/a.exp: experiment "a": 1 registered prediction is not committed in exps/sublab.lock:');
    expect(stopped.stderr).toContain('line 8: predict acc > 0.5');
    expect(stopped.stderr).toContain('registered after results existed');
    expect(stopped.stderr).toContain(`  git add exps/sublab.lock && git commit -m 'Preregister predictions' -- exps/sublab.lock\n`);
    expect(stopped.stderr).toContain('--allow-uncommitted-lock');
    expect(stopped.stdout).toBe('');
    expect(fs.existsSync(cacheDir())).toBe(false);

    // The same check before a SLURM submission (nothing is written or submitted).
    const submit = sublab('submit', 'exps/a.exp', '--slurm');
    expect(submit.code).toBe(2);
    expect(submit.stderr).toContain('sublab submit: error: exps/a.exp: experiment "a": 1 registered prediction is not committed');

    execFileSync('sh', ['-c', cmd], { cwd: dir, env, stdio: 'ignore' });
    expect(git('status', '--porcelain')).toBe('');
    const again = sublab('register', 'exps/a.exp');
    expect(again.stdout).toContain('exps/sublab.lock: committed, nothing to commit.');
    expect(again.stdout).not.toContain('git add');

    const ran = sublab('run', 'exps/a.exp', '--no-progress');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/✔ confirmed\s+predict acc > 0\.5 {2}\[registered\] {2}\(line 8\)/);
    const status = sublab('register', '--status', 'exps/a.exp');
    expect(status.stdout).toContain('registered before its first result');
  }, 120_000);

  it('--allow-uncommitted-lock runs anyway, and the predictions are then exploratory', () => {
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'experiments');
    expect(sublab('register', 'exps/a.exp').code).toBe(0);
    const ran = sublab('run', 'exps/a.exp', '--no-progress', '--allow-uncommitted-lock');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/predict acc > 0\.5 {2}\[registered after results\] {2}\(line 8\)/);
    // Everything is cached now: a run computes nothing, so it is not stopped (and changes nothing).
    const cached = sublab('run', 'exps/a.exp', '--no-progress');
    expect(cached.code, cached.stderr).toBe(0);
    expect(cached.stdout).toContain('0 computed, 3 cached');
    expect(cached.stdout).toContain('[registered after results]');
  }, 120_000);

  it('checks each experiment: a committed registration runs while another in the same lock is not committed', () => {
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'experiments');
    const a = sublab('register', 'exps/a.exp');
    execFileSync('sh', ['-c', printedCommand(a.stdout)], { cwd: dir, env, stdio: 'ignore' });
    // b registered later, not committed: the lock has uncommitted changes, but a's entry is in git.
    fs.writeFileSync(path.join(dir, 'exps/b.exp'), exp('b') + '// edited\n');
    const b = sublab('register', 'exps/b.exp');
    // The edited .exp goes into the registration commit with the lock.
    expect(printedCommand(b.stdout)).toBe(`git add exps/sublab.lock exps/b.exp && git commit -m 'Preregister predictions of b.exp' -- exps/sublab.lock exps/b.exp`);
    expect(sublab('run', 'exps/a.exp', '--no-progress').code).toBe(0);
    const stopped = sublab('run', 'exps/a.exp', 'exps/b.exp', '--no-progress');
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain('exps/b.exp: experiment "b"');
    expect(stopped.stderr).not.toContain('experiment "a"');
  }, 120_000);

  it('a repository without a commit yet: nothing is committed, so run stops; unregistered predictions never stop a run', () => {
    git('init', '-q');
    // (b has its own setup: its results are not a's, so a stays "registered" with no results.)
    const plain = sublab('run', 'exps/b.exp', '--no-progress');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('[not registered]');
    const reg = sublab('register', 'exps/a.exp');
    expect(printedCommand(reg.stdout)).toBe(`git add exps/sublab.lock exps/a.exp && git commit -m 'Preregister predictions of a.exp' -- exps/sublab.lock exps/a.exp`);
    expect(sublab('run', 'exps/a.exp', '--no-progress').code).toBe(2);
  }, 120_000);

  it('outside git: register says order cannot be proven, and run does not check', () => {
    const reg = sublab('register', 'exps/a.exp');
    expect(reg.code).toBe(0);
    expect(reg.stdout).toContain('exps/sublab.lock is not in a git repository');
    expect(reg.stdout).not.toContain('git add');
    const ran = sublab('run', 'exps/a.exp', '--no-progress');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('[registered]');
  }, 120_000);

  it('a changed prediction shows [changed since registration] and does not stop the run', () => {
    git('init', '-q');
    expect(sublab('register', 'exps/a.exp').code).toBe(0);
    fs.writeFileSync(path.join(dir, 'exps/a.exp'), exp('a').replace('acc > 0.5', 'acc > 0.6'));
    const ran = sublab('run', 'exps/a.exp', '--no-progress');
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('predict acc > 0.6  [changed since registration]');
  }, 120_000);
});
