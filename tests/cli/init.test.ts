// `sublab init` (issue 19): the scaffold in a fresh project, then the commands it prints — check,
// register, commit, run (the real CLI against python3) and Vitest — end to end, in a real git
// repository; and what it refuses to overwrite.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitignoreWithSublab } from '../../src/cli/init.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
const env = { ...process.env, ...gitEnv, SUBLAB_CACHE: '', SUBLAB_NO_GIT: '', SUBLAB_ALLOW_UNCOMMITTED_LOCK: '', CI: '1' };
const python = spawnSync('python3', ['--version']).status === 0;

let dir: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-init-')));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function sublab(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const git = (...a: string[]) => execFileSync('git', a, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const EXP = 'experiments/example/example.exp';

/** `npx vitest run` in the project, with the JSON reporter: [title, status] per test, and the messages. */
function vitest() {
  const out = path.join(dir, '.sublab-vitest.json');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${out}`], { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  const tests = j.testResults[0].assertionResults as { title: string; status: string; failureMessages: string[] }[];
  return { code: r.status, stderr: r.stderr, tests: tests.map((t) => [t.title, t.status]), messages: tests.flatMap((t) => t.failureMessages) };
}

describe('sublab init', () => {
  it.skipIf(!python)('scaffolds an experiment whose printed commands work end to end: check, register, commit, run, vitest', () => {
    git('init', '-q');
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "my-research", "private": true, "type": "module" }\n');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules');
    const init = sublab(['init']);
    expect(init.code, init.stderr).toBe(0);
    for (const f of [EXP, 'experiments/example/train.py', 'vitest.config.ts']) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    // Appended to, not clobbered (and the missing final newline is not glued to the new line).
    expect(fs.readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('node_modules\n# sublab: result cache and results ledger\n.sublab/\n');
    expect(fs.readFileSync(path.join(dir, 'vitest.config.ts'), 'utf8')).toContain(`import { sublabExp } from 'sublab/vitest';`);
    // The program speaks the protocol through the helper the command runner puts on PYTHONPATH.
    const train = fs.readFileSync(path.join(dir, 'experiments/example/train.py'), 'utf8');
    expect(train).toMatch(/^import sublab$/m);
    expect(train).toContain('sublab.emit(loss=loss, slope=w)');
    expect(init.stdout).not.toContain('git init'); // already a repository
    const steps = init.stdout.split('Next:\n')[1]!.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
    expect(steps.slice(0, 5)).toEqual([
      `npx sublab check ${EXP}`,
      `npx sublab register ${EXP}`,
      'git add experiments/example && git commit -m "Preregister example"',
      `npx sublab run ${EXP}`,
      'npx vitest run',
    ]);
    // The project's config imports sublab/vitest, as an installed package provides it; this
    // checkout is not installed in the project, so point that import at the plugin's source.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const config = path.join(dir, 'vitest.config.ts');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(`'sublab/vitest'`, JSON.stringify(path.join(root, 'src/vitest/plugin.ts'))));

    expect(sublab(['check', EXP]).code).toBe(0);
    const reg = sublab(['register', EXP]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toContain('registered experiments/example/example.exp:19  predict loss decreases with lr');

    // Registered, not committed: the CLI and Vitest both stop before training anything.
    const stopped = sublab(['run', EXP, '--no-progress']);
    expect(stopped.code).toBe(2);
    expect(stopped.stderr).toContain('2 registered predictions are not committed in experiments/example/sublab.lock');
    const vStopped = vitest();
    expect(vStopped.code).toBe(1);
    expect(vStopped.tests).toEqual([
      ['predict loss decreases with lr [registered, not committed]', 'failed'],
      ['predict slope > 1.5 where lr = 0.1 [registered, not committed]', 'failed'],
    ]);
    expect(vStopped.messages[0]).toContain('not committed in experiments/example/sublab.lock');
    expect(vStopped.messages[0]).toContain('SUBLAB_ALLOW_UNCOMMITTED_LOCK=1');
    expect(fs.existsSync(path.join(dir, '.sublab/cache'))).toBe(false);

    // The step init printed commits the lock (with the experiment).
    execFileSync('sh', ['-c', steps[2]!], { cwd: dir, env, stdio: 'ignore' });
    const ran = sublab(['run', EXP, '--no-progress']);
    expect(ran.code, ran.stderr + ran.stdout).toBe(0);
    expect(ran.stdout).toContain('15 computed, 0 cached, 0 failed');
    expect(ran.stdout).toMatch(/✔ confirmed\s+predict loss decreases with lr {2}\[registered\] {2}\(line 19\)/);
    expect(ran.stdout).toMatch(/✔ confirmed\s+predict slope > 1\.5 where lr = 0\.1 {2}\[registered\] {2}\(line 21\)/);
    const v = vitest();
    expect(v.code, v.stderr).toBe(0);
    expect(v.tests).toEqual([
      ['predict loss decreases with lr [registered]', 'passed'],
      ['predict slope > 1.5 where lr = 0.1 [registered]', 'passed'],
    ]);
  }, 300_000);

  it('refuses to overwrite (nothing written), --force overwrites; --name; DIR other than the current folder', () => {
    const proj = path.join(dir, 'proj');
    const first = sublab(['init', 'proj', '--name', 'wd']);
    expect(first.code, first.stderr).toBe(0);
    // Not a repository: it says to make one first; and it says where to cd.
    expect(first.stdout).toMatch(/Next:\n {2}cd proj\n {2}git init/);
    expect(first.stdout).toContain('npx sublab check experiments/wd/example.exp');
    expect(fs.readFileSync(path.join(proj, 'experiments/wd/example.exp'), 'utf8')).toContain('experiment "wd: fitting a noisy line"');

    const train = path.join(proj, 'experiments/wd/train.py');
    fs.writeFileSync(train, '# mine\n');
    fs.rmSync(path.join(proj, 'vitest.config.ts'));
    fs.writeFileSync(path.join(proj, 'vite.config.mjs'), 'export default {}\n');
    const again = sublab(['init', 'proj', '--name', 'wd']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('nothing written');
    expect(again.stderr).toContain('proj/experiments/wd/train.py exists');
    expect(again.stderr).toContain('proj/vite.config.mjs exists');
    expect(again.stderr).toContain(`import { sublabExp } from 'sublab/vitest'`);
    expect(fs.readFileSync(train, 'utf8')).toBe('# mine\n');
    expect(fs.existsSync(path.join(proj, 'vitest.config.ts'))).toBe(false);

    // Another name only clashes with the config.
    expect(sublab(['init', 'proj', '--name', 'other']).stderr).not.toContain('train.py exists');
    const forced = sublab(['init', 'proj', '--name', 'wd', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.readFileSync(train, 'utf8')).toContain('import sublab');
    // .gitignore already ignores .sublab/: left as it is.
    expect(fs.readFileSync(path.join(proj, '.gitignore'), 'utf8').match(/\.sublab\//g)).toHaveLength(1);

    expect(sublab(['init', '--name', '../x']).code).toBe(2);
    expect(sublab(['init', 'a', 'b']).stderr).toContain('give at most one folder');
  }, 120_000);

  it('is listed in sublab --help', () => {
    const r = sublab(['--help']);
    expect(r.stdout).toMatch(/\n {2}init\s+scaffold an experiment/);
  }, 60_000);
});

describe('.gitignore', () => {
  it('appends .sublab/ unless some line already ignores it', () => {
    expect(gitignoreWithSublab(null)).toBe('# sublab: result cache and results ledger\n.sublab/\n');
    expect(gitignoreWithSublab('dist\n')).toBe('dist\n# sublab: result cache and results ledger\n.sublab/\n');
    for (const line of ['.sublab', '.sublab/', '/.sublab/', '.sublab/**', '  .sublab/  ']) expect(gitignoreWithSublab(`x\n${line}\n`), line).toBeNull();
    expect(gitignoreWithSublab('.sublab/cache\n')).toContain('\n.sublab/\n');
  });
});
