// Issue 19: the command runner's code is part of a run's identity. Real git repositories, real
// python3 runs: editing a module the program imports recomputes its runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { runFile } from '../../src/exec/run-file.ts';
import { commandFiles, dependencySet, MAX_TREE_HASH_BYTES } from '../../src/runners/command/files.ts';
import { compileGlob, globBase, globMatches } from '../../src/runners/command/glob.ts';

let dir: string;
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-files-')));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (rel: string, text: string | Buffer) => {
  const f = path.join(dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
};
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: dir, stdio: 'pipe' }).toString();

const EXP = (set = '') => `experiment "e" {
  runner command
  set command = "python3 train.py"
  ${set}
  sweep lr in [0.1, 0.2]
  seeds 2
  measure acc
  predict acc > 0.5
}
`;
const TRAIN = `import sublab
from helper import score
p = sublab.params()
sublab.emit(acc=score(p["lr"], p["seed"]))
`;
const ids = (f: string) => planExperiment(compileFile(f).experiments[0]!).runs.map((r) => r.id);
const filesOf = (f: string, params: Record<string, string> = {}) => Object.keys(commandFiles(f)({ command: 'python3 train.py', cwd: '.', inputs: '', ...params })).sort();

describe('the dependency set in git', () => {
  beforeEach(() => {
    git('init', '-q');
    write('.gitignore', 'out/\n');
    write('train.py', TRAIN);
    write('helper.py', 'def score(lr, seed):\n    return 0.9\n');
    write('README.md', '# notes\n');
    write('e.exp', EXP());
    git('add', '-A');
    git('commit', '-qm', 'init');
  });

  it('holds what git tracks and untracked files it does not ignore; never .exp files, bytecode or sublab caches', () => {
    write('new_module.py', 'x = 1\n');
    write('out/model.bin', 'weights');
    write('__pycache__/helper.cpython-311.pyc', 'bytecode');
    write('sublab.lock', '');
    write('other.exp', EXP());
    write('mycache/0123456789abcdef.json', '{}');
    write('mycache/notes.txt', 'in the cache folder');
    write('.sublab/cache/x.json', '{}');
    expect(filesOf(path.join(dir, 'e.exp'))).toEqual(['.gitignore', 'README.md', 'helper.py', 'new_module.py', 'train.py']);
  });

  it('editing an imported module changes the ids; editing predictions or the lock does not; moving the project keeps them', () => {
    const f = path.join(dir, 'e.exp');
    const a = ids(f);
    expect(new Set(a).size).toBe(4);
    fs.appendFileSync(path.join(dir, 'helper.py'), '# a comment\n');
    const b = ids(f);
    expect(b.filter((id) => a.includes(id))).toEqual([]);
    fs.writeFileSync(f, EXP().replace('predict acc > 0.5', 'predict acc > 0.6'));
    write('sublab.lock', '{}\n');
    expect(ids(f)).toEqual(b);
    const moved = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-moved-')));
    try {
      fs.cpSync(dir, path.join(moved, 'project'), { recursive: true });
      expect(ids(path.join(moved, 'project', 'e.exp'))).toEqual(b);
    } finally {
      fs.rmSync(moved, { recursive: true, force: true });
    }
  });

  it('inputs add files, folders and patterns, and `!pattern` leaves files of the folder out', () => {
    write('data/a.csv', '1');
    write('data/b.csv', '2');
    write('../sublab-files-outside-' + path.basename(dir) + '/lib.py', 'x = 1\n');
    const outside = path.join(path.dirname(dir), 'sublab-files-outside-' + path.basename(dir));
    try {
      const f = path.join(dir, 'e.exp');
      expect(filesOf(f, { inputs: '!*.md, !.gitignore, !data/' })).toEqual(['helper.py', 'train.py']);
      expect(filesOf(f, { inputs: '!**/*.md, !data/b.csv' })).toEqual(['.gitignore', 'data/a.csv', 'helper.py', 'train.py']);
      expect(filesOf(f, { inputs: `!*, train.py, ../${path.basename(outside)}` })).toEqual([`../${path.basename(outside)}/lib.py`, 'train.py']);
      // In order: a `!` takes out only what was chosen before it.
      expect(filesOf(f, { inputs: '!*, data/*.csv' })).toEqual(['data/a.csv', 'data/b.csv', 'train.py']);
      expect(filesOf(f, { inputs: 'data/*.csv, !*' })).toEqual(['train.py']);
      expect(filesOf(f, { inputs: '!data/, {train,helper}.py' })).toContain('helper.py');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('a missing input is an error at its `set` line, at check time', () => {
    const f = write('bad.exp', EXP('set inputs = "data.csv, configs/*.yaml"'));
    const r = compileFile(f);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      expect.stringMatching(/^4:3 runner command: inputs: "data\.csv" does not exist \(looked for .*data\.csv; inputs are relative to cwd\)$/),
    ]);
    write('data.csv', 'x');
    expect(compileFile(f).diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('inputs: "configs/*.yaml" matches no file')]);
    const g = write('badcwd.exp', EXP('set cwd = "nowhere"'));
    expect(compileFile(g).diagnostics.map((d) => `${d.line}: ${d.message}`)).toEqual([expect.stringMatching(/^4: runner command: cwd: .*nowhere does not exist/)]);
  });

  it('a file of the folder over the size sublab reads counts by its size; named in inputs, by its contents', () => {
    const big = Buffer.alloc(MAX_TREE_HASH_BYTES + 1, 1);
    write('weights.bin', big);
    const set = dependencySet('python3 train.py', dir, '');
    expect(set.source).toBe('git');
    expect(set.files.get(path.join(dir, 'weights.bin'))).toBe(`size:${big.length}`);
    const named = dependencySet('python3 train.py', dir, 'weights.bin');
    expect(named.files.get(path.join(dir, 'weights.bin'))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sublab plan says how many files are hashed and how big; --files lists them', () => {
    const bin = path.resolve(import.meta.dirname, '../../bin/sublab.mjs');
    const plan = (...args: string[]) => execFileSync(process.execPath, [bin, 'plan', 'e.exp', ...args], { cwd: dir }).toString();
    const total = ['.gitignore', 'README.md', 'helper.py', 'train.py'].reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(plan()).toContain(`  code and inputs hashed into the run ids: 4 files, ${total} B (--files lists them)\n`);
    const listed = plan('--files');
    expect(listed).toContain(`4 files, ${total} B:\n`);
    expect(listed).toMatch(/\n {4}helper\.py {2,}\d+ B\n {4}train\.py {2,}\d+ B\n/);
    const json = JSON.parse(plan('--files', '--json'));
    expect(json.experiments[0].files.map((f: { file: string }) => f.file)).toEqual(['.gitignore', 'README.md', 'helper.py', 'train.py']);
  });

  it('inside a work tree where git cannot run, planning fails instead of hashing another set', () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(dir, 'no-bin-here');
    try {
      expect(() => dependencySet('python3 train.py', dir, '')).toThrow(/is in the git work tree .*but git cannot list its files \(git is not installed here\)/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('a command that names no source file hashes cwd; the program folder is where the program is', () => {
    write('sub/prog.py', 'print(1)\n');
    write('sub/util.py', 'x = 1\n');
    expect([...dependencySet('python3 sub/prog.py', dir, '').files.keys()].map((f) => path.relative(dir, f)).sort()).toEqual(['sub/prog.py', 'sub/util.py']);
    expect(dependencySet('python3 -m train', dir, '').files.size).toBe(6);
  });
});

describe('the dependency set outside git', () => {
  it("takes the program's language family: sources and config files, not notes or outputs", () => {
    write('train.py', TRAIN);
    write('helper.py', 'x = 1\n');
    write('pkg/mod.pyi', 'x: int\n');
    write('config.yaml', 'a: 1\n');
    write('notes.md', '# notes\n');
    write('out/model.pt', 'weights');
    write('node_modules/x/index.js', '');
    write('e.exp', EXP());
    const set = dependencySet('python3 train.py', dir, '');
    expect(set.source).toBe('family');
    expect(set.family).toBe('Python');
    expect(filesOf(path.join(dir, 'e.exp'))).toEqual(['config.yaml', 'helper.py', 'pkg/mod.pyi', 'train.py']);
    write('lib.mjs', '');
    write('main.ts', '');
    expect(Object.keys(commandFiles(path.join(dir, 'e.exp'))({ command: 'node main.ts', cwd: '.', inputs: '' })).sort()).toEqual(['config.yaml', 'lib.mjs', 'main.ts']);
  });

  it('hashes 3,000 files in well under a second when nothing changed (kept per process by stat)', () => {
    for (let i = 0; i < 3000; i++) write(`pkg${i % 30}/m${i}.py`, `x = ${i}\n`.repeat(20));
    write('train.py', TRAIN);
    const first = performance.now();
    expect(dependencySet('python3 train.py', dir, '').files.size).toBe(3001);
    const firstMs = performance.now() - first;
    const t0 = performance.now();
    dependencySet('python3 train.py', dir, '');
    const againMs = performance.now() - t0;
    expect(againMs).toBeLessThan(Math.max(1000, firstMs));
  });
});

describe('inputs patterns', () => {
  it('match like .gitignore: no slash matches a name at any depth, a slash the path from cwd', () => {
    const m = (g: string, p: string) => globMatches(compileGlob(g), p);
    expect(m('*.md', 'docs/a/README.md')).toBe(true);
    expect(m('data/', 'data/x/y.csv')).toBe(true);
    expect(m('data', 'src/data/y.csv')).toBe(true);
    expect(m('src/data', 'x/src/data/y.csv')).toBe(false);
    expect(m('**/*.py', 'a/b/c.py')).toBe(true);
    expect(m('**/*.py', 'c.py')).toBe(true);
    expect(m('configs/*.yaml', 'configs/sub/a.yaml')).toBe(false);
    expect(m('m[0-9].py', 'm7.py')).toBe(true);
    expect(m('m[!0-9].py', 'm7.py')).toBe(false);
    expect(m('{a,b}.txt', 'b.txt')).toBe(true);
    expect(m('a.txt', 'axtxt')).toBe(false);
    expect(globBase('../lib/**/*.py')).toBe('../lib');
    expect(globBase('*.csv')).toBe('.');
  });
});

describe('a Python program that imports a local module, run for real', () => {
  it('recomputes its runs after the module is edited, and only then', async () => {
    git('init', '-q');
    write('train.py', TRAIN);
    write('helper.py', 'def score(lr, seed):\n    return 0.9 + lr / 10 + seed / 100\n');
    const f = write('e.exp', EXP().replace('seeds 2', 'seeds 5'));
    git('add', '-A');
    git('commit', '-qm', 'init');
    const cacheDir = path.join(dir, '.sublab', 'cache');
    const run = async () => (await runFile(f, { cacheDir, warn: (m) => expect.fail(m) })).experiments[0]!;
    const first = await run();
    expect(first.cacheHits).toBe(0);
    expect(first.verdicts.map((v) => v.outcome)).toEqual(['confirmed']);
    const again = await run();
    expect(again.cacheHits).toBe(10);
    // The edit breaks the prediction: the cached "confirmed" must not survive it.
    write('helper.py', 'def score(lr, seed):\n    return 0.1 + seed / 100\n');
    const edited = await run();
    expect(edited.cacheHits).toBe(0);
    expect(edited.verdicts.map((v) => v.outcome)).toEqual(['refuted']);
    expect(edited.plan.runs.map((r) => r.id).filter((id) => first.plan.runs.some((r) => r.id === id))).toEqual([]);
  });
});
