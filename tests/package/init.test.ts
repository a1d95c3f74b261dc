// Issue 19: `npx sublab init` in an empty project, then each command it prints, run as printed
// (sh -c): git init, check, register, commit the lock, run, vitest. The project is a folder inside
// the shared installed one with a package.json of its own (so its cache and results ledger are its
// own, fresh each time: the shared project outlives a test run) and its node_modules linked to the
// shared install; git does not look above it (a new repository, not the shared project's).
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { installedProject, type InstalledProject } from './project.ts';

let project: InstalledProject;
beforeAll(async () => {
  project = await installedProject();
}, 15 * 60_000);

const EXP = 'experiments/example/example.exp';

describe('sublab init in an installed project', () => {
  it('scaffolds an experiment whose printed commands work as printed: git init, check, register, commit, run, vitest', () => {
    const dir = project.folder('init');
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "name": "my-research", "private": true, "type": "module" }\n');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules\n');
    fs.symlinkSync(path.join(project.dir, 'node_modules'), path.join(dir, 'node_modules'));
    const env = {
      GIT_CEILING_DIRECTORIES: project.dir,
      ...{ GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
      ...{ SUBLAB_CACHE: '', SUBLAB_NO_GIT: '', SUBLAB_ALLOW_UNCOMMITTED_LOCK: '' },
    };
    const init = project.sublab(dir, ['init'], env);
    expect(init.code, init.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'experiments/example/train.py'), 'utf8')).toMatch(/^import sublab$/m);
    const steps = init.stdout
      .split('Next:\n')[1]!
      .split('\n\n')[0]!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    expect(steps).toEqual([
      'git init',
      `npx sublab check ${EXP}`,
      `npx sublab register ${EXP}`,
      'git add experiments/example && git commit -m "Preregister example"',
      `npx sublab run ${EXP}`,
      'npx vitest run',
    ]);
    const out: string[] = [];
    for (const step of steps) {
      const r = project.exec(dir, 'sh', ['-c', step], env);
      expect(r.code, `${step}\n${r.stdout}\n${r.stderr}`).toBe(0);
      out.push(r.stdout);
    }
    const [, , register, , run, vitest] = out;
    expect(register).toContain('registered experiments/example/example.exp:19  predict loss decreases with lr');
    expect(run).toContain('15 computed, 0 cached, 0 failed');
    expect(run).toMatch(/✔ confirmed\s+predict loss decreases with lr {2}\[registered\] {2}\(line 19\)/);
    expect(run).toMatch(/✔ confirmed\s+predict slope > 1\.5 where lr = 0\.1 {2}\[registered\] {2}\(line 21\)/);
    expect(vitest).toMatch(/2 passed/);
    // The cache is in the project's .sublab/, which init's .gitignore line keeps out of the
    // repository (and so out of the program folder's dependency set).
    expect(fs.existsSync(path.join(dir, '.sublab/cache'))).toBe(true);
    const status = project.exec(dir, 'git', ['status', '--porcelain', '--untracked-files=all'], env).stdout;
    expect(status.split('\n').filter(Boolean).sort()).toEqual(['?? .gitignore', '?? package.json', '?? vitest.config.ts']);
  }, 300_000);
});
