// User runners named by path (`runner "./runners/toy.ts"`), in a project outside the checkout, as a
// user has them: checked, planned and run by the real CLI (with `--jobs 2`: the pool's children load
// it too), by `sublab worker` tasks, and under the Vitest plugin; their sources in the run ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWithRunners, compileFile } from '../../src/language/compile.ts';
import type { Diagnostic } from '../../src/language/diagnostics.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/sublab.mjs');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-urun-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A user's project: `import … from 'sublab'` resolves to this checkout's API, as an install would. */
function project(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  const api = fs.existsSync(path.join(root, 'src/index.ts')) ? 'src/index.ts' : 'src/runners/define.ts';
  const all: Record<string, string> = {
    'package.json': '{ "type": "module" }\n',
    'node_modules/sublab/package.json': '{ "name": "sublab", "type": "module", "exports": "./index.ts" }\n',
    'node_modules/sublab/index.ts': `export * from ${JSON.stringify(path.join(root, api))};\n`,
    ...files,
  };
  for (const [f, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  return dir;
}

interface Done {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sublab(cwd: string, args: string[], env: Record<string, string> = {}): Done {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SUBLAB_CACHE: '', SUBLAB_JOBS: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const planIds = (cwd: string, file: string): string[] => {
  const r = sublab(cwd, ['plan', file, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { experiments: { runs: { id: string }[] }[] }).experiments.flatMap((e) => e.runs.map((x) => x.id));
};

// The toy runner: each process that computes a run leaves its pid in $RENDEZVOUS and, for the
// first run, waits (up to 30 s) until another process has done the same, so `--jobs 2` shows that
// the pool's child really loaded and ran the module (rather than the parent doing everything).
const toyRunner = `import fs from 'node:fs';
import path from 'node:path';
import { defineRunner } from 'sublab';
import { loss } from './lib/helper.ts';

async function meet(): Promise<void> {
  const dir = process.env.RENDEZVOUS;
  if (!dir) return;
  fs.writeFileSync(path.join(dir, String(process.pid)), '');
  for (let t = 0; t < 300 && fs.readdirSync(dir).length < 2; t++) await new Promise((r) => setTimeout(r, 100));
}

export default defineRunner({
  name: 'toy', version: '1', seeded: true, description: 'A toy runner of the user.',
  params: [
    { name: 'width', type: 'integer', default: 16, min: 1, description: 'hidden width' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed' },
  ],
  metrics: [{ name: 'loss', description: 'final loss' }],
}).implement({
  async run(specs) {
    await meet();
    return specs.map((s) => ({ rows: [{ metrics: { loss: loss(s.params.width, s.seed) } }], backend: 'js' }));
  },
});
`;
const helper = (k: number) => `export function loss(width: number, seed: number): number {\n  return ${k} / width + seed * 1e-3;\n}\n`;
const toyExp = `experiment "toy" {
  runner "./runners/toy.ts"
  sweep width in [4, 8, 16]
  seeds 3
  predict loss decreases with width
}
`;

describe('a user runner by path, in a project outside the checkout', () => {
  let dir: string;
  beforeAll(() => {
    dir = project('toy', { 'runners/toy.ts': toyRunner, 'runners/lib/helper.ts': helper(1), 'exp/toy.exp': toyExp.replace('./runners/', '../runners/') });
  });

  it('is checked, documented by `sublab runners PATH`, planned and run with --jobs 2 (the child loads it too)', () => {
    const check = sublab(dir, ['check', 'exp/toy.exp']);
    expect(check.stderr).toBe('');
    expect(check.stdout).toBe('ok: 1 experiment in 1 file\n');

    const doc = sublab(dir, ['runners', './runners/toy.ts']);
    expect(doc.code, doc.stderr).toBe(0);
    expect(doc.stdout).toMatch(/^toy \(version 1\)\n {2}A toy runner of the user\.\n/);
    expect(doc.stdout).toMatch(/width +integer \[1\.\.\] +16 +hidden width/);
    expect(doc.stdout).toContain('module: ./runners/toy.ts (with 2 source files in its run ids: lib/helper.ts, toy.ts)');

    const ids = planIds(dir, 'exp/toy.exp');
    expect(ids).toHaveLength(9);

    const meet = fs.mkdtempSync(path.join(tmp, 'meet-'));
    const run = sublab(dir, ['run', 'exp/toy.exp', '--jobs', '2', '--no-progress'], { RENDEZVOUS: meet });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('runner toy · 3 points × 3 seeds = 9 runs · 9 computed, 0 cached, 0 failed');
    expect(run.stdout).toMatch(/✔ confirmed +predict loss decreases with width/);
    // Two processes computed runs: the parent and its pool child.
    expect(fs.readdirSync(meet)).toHaveLength(2);
    expect(fs.readdirSync(path.join(dir, '.sublab/cache')).filter((f) => f.endsWith('.json')).sort()).toEqual(ids.map((id) => `${id}.json`).sort());
  }, 120_000);

  it('has run ids that follow its sources (an imported helper included) and not the project folder', () => {
    const before = planIds(dir, 'exp/toy.exp');
    fs.writeFileSync(path.join(dir, 'runners/lib/helper.ts'), helper(2));
    const edited = planIds(dir, 'exp/toy.exp');
    expect(edited.filter((id) => before.includes(id))).toEqual([]);
    const run = sublab(dir, ['run', 'exp/toy.exp', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('9 runs · 9 computed, 0 cached');
    expect(run.stdout).toMatch(/4 +│ +0\.50[0-9]/); // 2 / 4 + seed / 1000: the edited helper ran
    fs.writeFileSync(path.join(dir, 'runners/lib/helper.ts'), helper(1));
    expect(planIds(dir, 'exp/toy.exp')).toEqual(before);
    // The same project elsewhere plans the same ids (and so finds its cache).
    const moved = path.join(tmp, 'moved', 'deeper');
    fs.mkdirSync(path.dirname(moved), { recursive: true });
    fs.cpSync(dir, moved, { recursive: true });
    expect(planIds(moved, 'exp/toy.exp')).toEqual(before);
    const again = sublab(moved, ['run', 'exp/toy.exp', '--no-progress']);
    expect(again.stdout).toContain('9 runs · 0 computed, 9 cached');
  }, 120_000);

  it('is run by `sublab worker` tasks (as under SLURM), whose results `sublab run` then reads', () => {
    const cache = path.join(tmp, 'worker-cache');
    for (const task of ['0', '1']) {
      const w = sublab(dir, ['worker', 'exp/toy.exp', '--task', task, '--tasks', '2', '--cache', cache]);
      expect(w.code, w.stderr + w.stdout).toBe(0);
    }
    const run = sublab(dir, ['run', 'exp/toy.exp', '--cache', cache, '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('9 runs · 0 computed, 9 cached, 0 failed');
  }, 120_000);

  it('runs under the Vitest plugin: the prediction is a test that passes', () => {
    fs.writeFileSync(path.join(dir, 'vitest.config.ts'), `import { sublabExp } from ${JSON.stringify(path.join(root, 'src/vitest/plugin.ts'))};\nexport default { plugins: [sublabExp()], test: { include: ['exp/**/*.exp'], hookTimeout: 120_000 } };\n`);
    const report = path.join(tmp, 'vitest-report.json');
    const cache = path.join(tmp, 'vitest-cache');
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'vitest.config.ts', '--reporter=json', `--outputFile=${report}`], {
      cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SUBLAB_CACHE: cache, CI: '1' },
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(fs.readFileSync(report, 'utf8'));
    const tests = j.testResults[0].assertionResults.map((t: { ancestorTitles: string[]; title: string; status: string }) => [t.ancestorTitles[0], t.title, t.status]);
    expect(tests).toEqual([['toy', 'predict loss decreases with width', 'passed']]);
    // The Vitest worker computed the runs itself, with the ids `sublab plan` gives.
    expect(fs.readdirSync(cache).filter((f) => f.endsWith('.json')).sort()).toEqual(planIds(dir, 'exp/toy.exp').map((id) => `${id}.json`).sort());
  }, 120_000);
});

describe('the Vitest plugin in watch mode', () => {
  it("re-runs an .exp file when its runner module or a file it imports changes (the transform's watch files)", async () => {
    const { generateTestModule } = await import('../../src/vitest/plugin.ts');
    const dir = project('watch', { 'runners/toy.ts': toyRunner, 'runners/lib/helper.ts': helper(1), 'toy.exp': toyExp });
    const out = await generateTestModule(path.join(dir, 'toy.exp'), toyExp, { runtime: 'x' });
    expect(out.code).toContain('expFile(');
    expect(out.deps.sort()).toEqual([path.join(dir, 'runners/lib/helper.ts'), path.join(dir, 'runners/toy.ts')]);
  });
});

describe("the README's by-path example", () => {
  it('works as written, in a project of its own', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Adding a runner'));
    const ts = /```ts\n(\/\/ runners\/toy\.ts\n[\s\S]*?)```/.exec(section)?.[1];
    const exp = /```\n(experiment [\s\S]*?runner "\.\/runners\/toy\.ts"[\s\S]*?)```/.exec(section)?.[1];
    expect(ts, 'README: the runners/toy.ts block').toBeDefined();
    expect(exp, 'README: the .exp block using it').toBeDefined();
    const dir = project('readme', {
      'runners/toy.ts': ts!,
      'runners/train.ts': 'export function train(width: number, act: string, seed: number): number {\n  return (act === "relu" ? 1 : 2) / width + (seed % 7) * 1e-3;\n}\n',
      'toy.exp': exp!,
    });
    const run = sublab(dir, ['run', 'toy.exp', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/runner toy · 3 points × 5 seeds = 15 runs · 15 computed/);
    expect(run.stdout).toMatch(/✔ confirmed +predict loss decreases with width/);
  }, 60_000);
});

describe('problems with a runner module are errors at the runner line', () => {
  const runnerBody = (name: string) => `defineRunner({ name: '${name}', version: '1', seeded: true, description: 'd', params: [{ name: 'seed', type: 'integer', default: 0, min: 0, description: 's' }], metrics: [{ name: 'y', description: 'y' }] })`;
  let dir: string;
  beforeAll(() => {
    dir = project('bad', {
      'syntax.ts': 'export default defineRunner({ name: "x", \n  version: "1" oops });\n',
      'throws.ts': 'throw new Error("no GPU here");\nexport default 1;\n',
      'plain.ts': 'export default { name: "toy" };\n',
      'named.ts': `import { defineRunner } from 'sublab';\nexport const runner = ${runnerBody('named')}.implement({ async run(s) { return s.map(() => ({ rows: [], backend: 'js' })); } });\n`,
      'declared.ts': `import { defineRunner } from 'sublab';\nexport default ${runnerBody('declared')};\n`,
      'clash.ts': `import { defineRunner } from 'sublab';\nexport default ${runnerBody('command')}.implement({ async run(s) { return s.map(() => ({ rows: [], backend: 'js' })); } });\n`,
      'one.mjs': `import { defineRunner } from 'sublab';\nexport default ${runnerBody('same')}.implement({ async run(s) { return s.map((x) => ({ rows: [{ metrics: { y: x.seed } }], backend: 'js' })); } });\n`,
      'two.ts': `import { defineRunner } from 'sublab';\nexport default ${runnerBody('same')}.implement({ async run(s) { return s.map(() => ({ rows: [], backend: 'js' })); } });\n`,
      'unresolved.ts': `import { defineRunner } from 'sublab';\nimport { x } from './nowhere.ts';\nexport default x;\n`,
      'data.json': '{}\n',
    });
  });

  const diags = async (runnerLine: string, extra = ''): Promise<Diagnostic[]> => {
    const f = path.join(dir, 'case.exp');
    fs.writeFileSync(f, `experiment "e" {\n  ${runnerLine}\n}\n${extra}`);
    return (await compileWithRunners(f)).diagnostics.filter((d) => d.severity === 'error');
  };
  const one = async (runnerLine: string) => {
    const ds = await diags(runnerLine);
    expect(ds, JSON.stringify(ds)).toHaveLength(1);
    expect([ds[0]!.line, ds[0]!.column]).toEqual([2, 10]);
    return ds[0]!;
  };

  it('a missing file, a folder, a file that is not a module', async () => {
    expect((await one('runner "./runners/missing.ts"')).message).toBe(`cannot use runner "./runners/missing.ts": no such file (looked for ${path.join(dir, 'runners/missing.ts')})`);
    expect((await one('runner "./node_modules"')).message).toMatch(/^cannot use runner "\.\/node_modules": a runner module is a \.ts, \.mts, \.js, \.mjs file$/);
    expect((await one('runner "./data.json"')).message).toBe('cannot use runner "./data.json": a runner module is a .ts, .mts, .js, .mjs file, not .json');
    expect((await one('runner ""')).code).toBe('bad-runner-module');
    expect((await one('runner "command"')).message).toBe('cannot use runner "command": a built-in runner is named without quotes: runner command');
  });

  it('a module that fails to load: its syntax error or its exception, and an import that does not resolve', async () => {
    const syntax = await one('runner "./syntax.ts"');
    expect(syntax.code).toBe('runner-load');
    expect(syntax.message).toMatch(/^cannot use runner "\.\/syntax\.ts": cannot load it: .*syntax\.ts:2:\d+: ERROR: Expected "}" but found "oops"/);
    expect((await one('runner "./throws.ts"')).message).toBe('cannot use runner "./throws.ts": cannot load it: no GPU here');
    expect((await one('runner "./unresolved.ts"')).message).toMatch(/unresolved\.ts:2:\d+: import '\.\/nowhere\.ts' could not be resolved/);
  });

  it('a default export that is not a runner says what was expected', async () => {
    const shape = 'expected export default defineRunner({ name, version, params, metrics, ... }).implement({ async run(specs, ctx) { ... } })';
    const plain = await one('runner "./plain.ts"');
    expect(plain.code).toBe('runner-export');
    expect(plain.message).toBe(`cannot use runner "./plain.ts": its default export is an object with name, not a runner; ${shape}`);
    expect((await one('runner "./named.ts"')).message).toBe(`cannot use runner "./named.ts": it has no default export (it exports a runner as "runner": export it as the default); ${shape}`);
    expect((await one('runner "./declared.ts"')).message).toMatch(/^cannot use runner "\.\/declared\.ts": its default export is a runner declaration without its implementation: add \.implement\(/);
  });

  it('a name clash: with a built-in runner, and two modules of one name in a file', async () => {
    const clash = await one('runner "./clash.ts"');
    expect(clash.code).toBe('runner-name-clash');
    expect(clash.message).toBe('cannot use runner "./clash.ts": its runner is named "command", as the built-in runner: give it a name of its own');
    const ds = await diags('runner "./one.mjs"', 'experiment "f" {\n  runner "./two.ts"\n}\n');
    expect(ds.map((d) => [d.line, d.column, d.code])).toEqual([[5, 10, 'runner-name-clash']]);
    expect(ds[0]!.message).toBe(`runner "./two.ts" is named "same", as the runner of experiment "e" (${path.join(dir, 'one.mjs')}): give one of them another name`);
  });

  it('a plain .mjs module loads with a normal import; a synchronous compile without loading says so', async () => {
    expect(await diags('runner "./one.mjs"')).toEqual([]);
    const f = path.join(dir, 'case.exp');
    fs.writeFileSync(f, 'experiment "e" {\n  runner "./never-loaded.ts"\n}\n');
    fs.writeFileSync(path.join(dir, 'never-loaded.ts'), 'export default 1;\n');
    const d = compileFile(f).diagnostics[0]!;
    expect([d.line, d.column, d.code]).toEqual([2, 10, 'runner-not-loaded']);
  });

  it('a path in an inherited setup is relative to the base file that has the runner line', async () => {
    fs.mkdirSync(path.join(dir, 'base'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'base/base.exp'), 'experiment "b" {\n  runner "../one.mjs"\n  seeds 2\n}\n');
    const f = path.join(dir, 'sub/child.exp');
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, 'experiment "c" extends "../base/base.exp" {\n  predict y > -1\n}\n');
    const r = await compileWithRunners(f);
    expect(r.diagnostics).toEqual([]);
    expect(r.experiments[0]!.runnerModule).toBe(path.join(dir, 'one.mjs'));
    expect(r.runnerSources).toEqual([path.join(dir, 'one.mjs')]);
  });

  it('a parse error after `runner` names both forms', async () => {
    const f = path.join(dir, 'case.exp');
    fs.writeFileSync(f, 'experiment "e" {\n  runner 3\n}\n');
    const d = compileFile(f).diagnostics.find((x) => x.code === 'parse')!;
    expect([d.line, d.column]).toEqual([2, 10]);
    expect(d.message).toBe('expected a runner name or the quoted path of a runner module (e.g. "./runners/toy.ts") but found "3"');
  });
});
