// Issue 21, stages in users' programs: the JavaScript helper's `stage`, the Python helper's errors
// and run-alone fallback, and what a run records (stage events, progress counts), with real
// programs through the command runner on a real stage store.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runner, CommandRunError } from '../../src/runners/command/runner.ts';
import { StageStore, type StageEvent } from '../../src/exec/stages.ts';
import { pythonHelperDir } from '../../src/protocol/env.ts';
import { dependencySet } from '../../src/runners/command/files.ts';
import type { RunOutput } from '../../src/runners/schema.ts';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { executePlan } from '../../src/exec/executor.ts';
import { ResultCache } from '../../src/exec/cache.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// In the checkout the JS helper is TypeScript: the program runs with tsx's loader (absolute: the
// program's folder is outside the checkout).
const tsx = path.join(root, 'node_modules/tsx/dist/loader.mjs');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-progstage-h-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

async function runIn(dir: string, command: string, store: StageStore, events: StageEvent[], seed = 0, id = `run-${seed}`): Promise<RunOutput> {
  const [out] = await runner.run([{ id, seed, params: { command, cwd: dir, timeout: 60 } }], { progress() {}, measures: [], stageStore: store, onStage: (e) => events.push(e) });
  return out!;
}

const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected the run to fail'), (e: unknown) => e as CommandRunError);

describe('the JavaScript helper: stage()', () => {
  const program = `
import fs from 'node:fs';
import path from 'node:path';
const { params, emit, stage } = await import(${JSON.stringify(path.join(root, 'src/protocol/program.ts'))});
const p = params();
const bump = (f) => fs.appendFileSync(f, 'x');
// The callback form: fill runs only when the artifact is not stored; committed when it resolves.
const t = await stage('teacher', { seed: p.seed }, { code: ['prog.mjs'] }, async (dir) => {
  bump('teacher.count');
  fs.writeFileSync(path.join(dir, 'w.txt'), String(p.seed * 10));
});
// The explicit form, after the teacher.
const d = await stage('data', { n: 3 }, { after: [t] });
if (!d.done) {
  bump('data.count');
  const w = fs.readFileSync(path.join(t.dir, 'w.txt'), 'utf8');
  fs.writeFileSync(path.join(d.dir, 'd.txt'), w + '+data');
  await d.commit();
}
emit({ w: Number(fs.readFileSync(path.join(t.dir, 'w.txt'), 'utf8')), d: fs.readFileSync(path.join(d.dir, 'd.txt'), 'utf8'), done: t.done && d.done });
`;

  it('computes each stage once, commits it, and reuses it in the next run; the runner records both', async () => {
    const dir = project('js', { 'prog.mjs': program });
    const store = new StageStore(path.join(tmp, 'js-store'));
    const events: StageEvent[] = [];
    const command = `${process.execPath} --import ${tsx} prog.mjs`;
    const first = await runIn(dir, command, store, events, 4);
    expect(first.rows).toEqual([{ metrics: { w: 40 }, keys: { d: '40+data', done: true } }]);
    expect(events.map((e) => [e.stage, e.outcome, e.runIds])).toEqual([['teacher', 'computed', ['run-4']], ['data', 'computed', ['run-4']]]);
    const again = await runIn(dir, command, store, events, 4, 'run-4b');
    expect(again.rows).toEqual(first.rows);
    expect(events.slice(2).map((e) => [e.stage, e.outcome, e.runIds])).toEqual([['teacher', 'reused', ['run-4b']], ['data', 'reused', ['run-4b']]]);
    expect(fs.readFileSync(path.join(dir, 'teacher.count'), 'utf8')).toBe('x');
    expect(fs.readFileSync(path.join(dir, 'data.count'), 'utf8')).toBe('x');
    // A stored artifact is the committed folder, verified, with its manifest.
    expect(store.inspect({ runner: 'command', stage: 'data', key: events[1]!.key }).status).toBe('hit');
    // Another seed: another teacher, and another data set after it.
    await runIn(dir, command, store, events, 5);
    expect(fs.readFileSync(path.join(dir, 'teacher.count'), 'utf8')).toBe('xx');
    expect(events.slice(4).map((e) => e.outcome)).toEqual(['computed', 'computed']);
  }, 60_000);
});

describe('the Python helper: stage()', () => {
  it('an exception in the block discards the stage (nothing stored) and fails the run with the traceback', async () => {
    const dir = project('py-raise', {
      'prog.py': ['import sublab', 'with sublab.stage("teacher", {"a": 1}) as t:', '    open(t.path("half.txt"), "w").write("x")', '    raise RuntimeError("teacher diverged")', ''].join('\n'),
    });
    const storeDir = path.join(tmp, 'py-raise-store');
    const events: StageEvent[] = [];
    const e = await failure(runIn(dir, 'python3 prog.py', new StageStore(storeDir), events));
    expect(e.message).toContain('RuntimeError: teacher diverged');
    expect(events).toEqual([]);
    expect(fs.readdirSync(path.join(storeDir, 'command', 'teacher'))).toEqual([]);
  });

  it('bad requests fail the run naming what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['sublab.stage("data", {}, after=["teacher"])', /stage\(\): stage "data": after names "teacher", which this run has not opened \(opened: none\); open the upstream stage first/],
      ['sublab.stage("teacher", {}, code=["nope.py"])', /stage\(\): code: "nope\.py" does not exist \(looked for .*nope\.py; code entries are relative to cwd\)/],
      ['sublab.stage("run", {})', /stage\(\): stage name "run": letters, digits/],
      ['sublab.stage("t", {"x": float("nan")})', /stage\('t', inputs\): inputs must be JSON/],
      ['sublab.stage("t", {"a": 1}); sublab.stage("t", {"a": 2})', /stage "t" was opened already in this run with other inputs/],
    ];
    for (const [i, [line, re]] of cases.entries()) {
      const dir = project(`py-bad-${i}`, { 'prog.py': `import sublab\n${line}\nsublab.emit(a=1)\n` });
      const e = await failure(runIn(dir, 'python3 prog.py', new StageStore(path.join(tmp, `py-bad-store-${i}`)), []));
      expect(e.message).toMatch(re);
    }
  });

  it('run alone (not by sublab) it computes into a temporary folder, says so, and removes it at exit', () => {
    const dir = project('py-alone', {
      'prog.py': ['import os, sublab', 'with sublab.stage("teacher", {"a": 1}) as t:', '    assert not t.done', '    open(t.path("w.txt"), "w").write("1")', 'assert t.done', 'sublab.emit(ok=1, dir=t.dir)', ''].join('\n'),
    });
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: pythonHelperDir };
    delete env.SUBLAB_STAGE_FD;
    const out = execFileSync('python3', ['prog.py'], { cwd: dir, env, input: '{}', stdio: ['pipe', 'pipe', 'pipe'] }).toString();
    const row = JSON.parse(out) as { ok: number; dir: string };
    expect(row.ok).toBe(1);
    expect(fs.existsSync(row.dir)).toBe(false);
    // A process the program starts inherits the variable, not the channel: a clear refusal.
    const child = execFileSync('python3', ['-c', 'import sublab\ntry:\n    sublab.stage("t")\nexcept sublab.ProtocolError as e:\n    sublab.emit(err=str(e))'], { cwd: dir, env: { ...env, SUBLAB_STAGE_FD: '9' }, input: '{}' }).toString();
    expect(JSON.parse(child).err).toMatch(/SUBLAB_STAGE_FD=9 is not sublab's stage channel here/);
  });
});

describe('the executor records program stages', () => {
  it('progress counts stages computed and reused; the cache entries keep each run\'s keys', async () => {
    const dir = project('progress', {
      'prog.py': ['import sublab', 'p = sublab.params()', 'with sublab.stage("teacher", {"seed": p["seed"]}, code=["prog.py"]) as t:', '    if not t.done:', '        open(t.path("w"), "w").write(str(p["seed"]))', 'sublab.emit(y=p["x"] + int(open(t.path("w")).read()))', ''].join('\n'),
      'p.exp': 'experiment "p" {\n  runner command\n  set command = "python3 prog.py"\n  sweep x in [1, 2, 3]\n  seeds 2\n  measure y\n}\n',
    });
    const compiled = compileFile(path.join(dir, 'p.exp'));
    expect(compiled.diagnostics).toEqual([]);
    const plan = planExperiment(compiled.experiments[0]!, {});
    const cache = new ResultCache(path.join(tmp, 'progress-cache'), { warn: () => {} });
    let last: { stages?: unknown } | undefined;
    const t = await executePlan(plan, { cache, onProgress: (p) => (last = p) });
    expect(t.failed).toEqual([]);
    expect(last?.stages).toEqual({ teacher: { computed: 2, reused: 4, corrupt: 0 } });
    for (const row of t.rows) expect(cache.read(row.runId)?.stages).toEqual({ teacher: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(new Set(t.rows.map((r) => r.stages!.teacher)).size).toBe(2);
  }, 60_000);
});

describe('the dependency set and a stage store inside the project', () => {
  it('never hashes stage artifacts, temporary folders or claims of a --cache inside the program\'s folder (even before it holds a run entry)', () => {
    const key = 'a'.repeat(64);
    const dir = project('store-inside', {
      'prog.py': 'print(1)\n',
      'conf.json': '{}\n',
    });
    const sd = path.join(dir, 'cache', 'stages', 'command', 'data');
    fs.mkdirSync(path.join(sd, key), { recursive: true });
    fs.mkdirSync(path.join(sd, `.${key}.tmp-1-ab`), { recursive: true });
    fs.writeFileSync(path.join(sd, key, 'data.json'), '[]');
    fs.writeFileSync(path.join(sd, `.${key}.tmp-1-ab`, 'half.json'), '[');
    fs.writeFileSync(path.join(sd, `${key}.claim`), '{}');
    const files = [...dependencySet('python3 prog.py', dir, '').files.keys()].map((f) => path.relative(dir, f));
    expect(files.sort()).toEqual(['conf.json', 'prog.py']);
  });
});
