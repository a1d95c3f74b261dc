// Issue 21, stages in users' programs: examples/pipeline (plain Python: teacher → data → student)
// through the real CLI, over 3 student settings × 4 seeds. Its teacher and data bodies append a
// line to out/*.log (outside the stage folders) each time they really run: those counts are what
// these tests check, with the runs' recorded stage keys.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const example = path.join(root, 'examples/pipeline');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-progstage-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fresh copy of the example (outside git: its .py files are the dependency set). */
function copyExample(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(example, dir, { recursive: true, filter: (src) => !/(__pycache__|[/\\]out)$/.test(src) });
  return dir;
}

const count = (dir: string, what: 'teacher' | 'data') => {
  const f = path.join(dir, 'out', `${what}-runs.log`);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0;
};

interface JsonRow { run_id: string; seed: number; epochs: number; cached: boolean; stage_keys?: Record<string, string> }
interface Result { code: number | null; stdout: string; stderr: string; rows: JsonRow[]; stages: { stage: string; artifacts: number; runs: number }[] }

// The --json file goes outside the program's folder: a .json file there is part of its dependency set.
const jsonPath = (dir: string, json: string) => `${dir}-${json}`;
const cliArgs = (dir: string, exp: string, json: string) => [bin, 'run', exp, '--no-progress', '--cache', '.cache', '--json', jsonPath(dir, json)];

function run(dir: string, exp = 'pipeline.exp', json = 'out.json'): Result {
  const r = spawnSync(process.execPath, cliArgs(dir, exp, json), { cwd: dir, encoding: 'utf8', timeout: 110_000 });
  return withJson(dir, json, { code: r.status, stdout: r.stdout, stderr: r.stderr });
}

function withJson(dir: string, json: string, r: { code: number | null; stdout: string; stderr: string }): Result {
  const file = jsonPath(dir, json);
  const j = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { experiments: [{ rows: [] }] };
  const e = j.experiments[0];
  return { ...r, rows: e.rows, stages: e.stages ?? [] };
}

const keysOf = (r: Result, stage: string) => new Set(r.rows.map((row) => row.stage_keys?.[stage]));

describe('examples/pipeline: stages in a Python program through the CLI', () => {
  it('over 3 points × 4 seeds the teacher runs 4 times; a second run computes nothing; edits recompute what they touch', () => {
    const dir = copyExample('edits');
    const first = run(dir);
    expect(first.stderr).not.toContain('error');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('12 computed, 0 cached, 0 failed');
    expect(first.stdout).toContain('stages · teacher: 4 artifacts for 12 runs · data: 4 artifacts for 12 runs');
    expect(count(dir, 'teacher')).toBe(4);
    expect(count(dir, 'data')).toBe(4);
    // Each row records its stage keys; one teacher per seed, shared by that seed's three runs.
    expect(first.rows).toHaveLength(12);
    expect(keysOf(first, 'teacher').size).toBe(4);
    expect(keysOf(first, 'data').size).toBe(4);
    for (const seed of [0, 1, 2, 3]) expect(new Set(first.rows.filter((r) => r.seed === seed).map((r) => r.stage_keys!.teacher)).size).toBe(1);
    expect(first.stages).toEqual([{ stage: 'teacher', artifacts: 4, runs: 12 }, { stage: 'data', artifacts: 4, runs: 12 }]);

    const second = run(dir);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 computed, 12 cached');
    expect(count(dir, 'teacher')).toBe(4);
    // Cached runs keep their stage keys (the cache entries record them).
    expect(second.rows.map((r) => r.stage_keys)).toEqual(first.rows.map((r) => r.stage_keys));

    // `sublab cache ls` lists the artifacts with the cached runs that used them.
    const ls = spawnSync(process.execPath, [bin, 'cache', 'ls', '--cache', '.cache'], { cwd: dir, encoding: 'utf8' });
    const teacherLines = ls.stdout.split('\n').filter((l) => l.startsWith('command/teacher'));
    expect(teacherLines).toHaveLength(4);
    for (const l of teacherLines) expect(l).toMatch(/used by 3 runs: /);
    // Reports give each stage's artifacts in their provenance.
    const reports = `${dir}-reports`;
    const rep = spawnSync(process.execPath, [bin, 'report', 'pipeline.exp', '--cache', '.cache', '--out', reports], { cwd: dir, encoding: 'utf8' });
    expect(rep.status).toBe(0);
    const md = fs.readFileSync(path.join(reports, fs.readdirSync(reports).find((f) => f.endsWith('.md'))!), 'utf8');
    expect(md).toMatch(/\| stage artifacts \| teacher: 4 artifacts for 12 runs \([0-9a-f]{12}, .*\); data: 4 artifacts for 12 runs/);

    // Editing only the student: every run id changes (student.py is in the program's dependency
    // set), so the runs compute again, but teachers and data are reused.
    fs.appendFileSync(path.join(dir, 'student.py'), '\n# edited\n');
    const student = run(dir);
    expect(student.code).toBe(0);
    expect(student.stdout).toContain('12 computed, 0 cached');
    expect(count(dir, 'teacher')).toBe(4);
    expect(count(dir, 'data')).toBe(4);
    expect(new Set(student.rows.map((r) => r.run_id)).size).toBe(12);
    expect(student.rows.some((r) => first.rows.some((f) => f.run_id === r.run_id))).toBe(false);
    expect(keysOf(student, 'teacher')).toEqual(keysOf(first, 'teacher'));
    expect(keysOf(student, 'data')).toEqual(keysOf(first, 'data'));

    // Editing the teacher: new teachers, and the data after them (their keys hold the teacher's).
    fs.appendFileSync(path.join(dir, 'teacher.py'), '\n# edited\n');
    const teacher = run(dir);
    expect(teacher.code).toBe(0);
    expect(teacher.stdout).toContain('12 computed, 0 cached');
    expect(count(dir, 'teacher')).toBe(8);
    expect(count(dir, 'data')).toBe(8);
    for (const k of keysOf(teacher, 'teacher')) expect(keysOf(first, 'teacher').has(k)).toBe(false);
    for (const k of keysOf(teacher, 'data')) expect(keysOf(first, 'data').has(k)).toBe(false);
  }, 240_000);

  it('two `sublab run`s at once, of experiments sharing teachers and data, compute each stage once', async () => {
    const dir = copyExample('concurrent');
    const exp = fs.readFileSync(path.join(dir, 'pipeline.exp'), 'utf8');
    fs.writeFileSync(path.join(dir, 'other.exp'), exp.replace('sweep epochs in [1, 3, 10]', 'sweep epochs in [2, 4, 6]'));
    const start = (file: string, json: string) =>
      new Promise<Result>((resolve) => {
        const c = spawn(process.execPath, cliArgs(dir, file, json), { cwd: dir });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d));
        c.stderr.on('data', (d: Buffer) => (stderr += d));
        c.on('close', (code) => resolve(withJson(dir, json, { code, stdout, stderr })));
      });
    const [a, b] = await Promise.all([start('pipeline.exp', 'a.json'), start('other.exp', 'b.json')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout).toContain('12 computed');
    expect(b.stdout).toContain('12 computed');
    expect(count(dir, 'teacher')).toBe(4);
    expect(count(dir, 'data')).toBe(4);
    expect(keysOf(a, 'teacher')).toEqual(keysOf(b, 'teacher'));
    expect(keysOf(a, 'data')).toEqual(keysOf(b, 'data'));
  }, 240_000);
});

describe('a program killed inside a stage leaves no half artifact', () => {
  // teacher: writes half its artifact, then (while the file "die" exists) kills itself with SIGKILL.
  const program = [
    'import os, signal, sublab',
    'p = sublab.params()',
    'with sublab.stage("teacher", {"seed": p["seed"]}, code=["prog.py"]) as t:',
    '    if not t.done:',
    '        open(t.path("part1.txt"), "w").write("first half")',
    '        if os.path.exists("die"):',
    '            open("started", "w").write(t.dir)',
    '            if os.environ.get("HANG"):',
    '                import time; time.sleep(60)',
    '            os.kill(os.getpid(), signal.SIGKILL)',
    '        open(t.path("part2.txt"), "w").write("second half")',
    'sublab.emit(n=len([f for f in os.listdir(t.dir) if f.endswith(".txt")]))',
  ].join('\n');
  const exp = 'experiment "killed" {\n  runner command\n  set command = "python3 prog.py"\n  seeds 1\n  measure n\n}\n';
  const teacherDir = (dir: string) => path.join(dir, '.cache', 'stages', 'command', 'teacher');
  const listing = (dir: string) => (fs.existsSync(teacherDir(dir)) ? fs.readdirSync(teacherDir(dir)) : []);

  function project(name: string): string {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'prog.py'), program);
    fs.writeFileSync(path.join(dir, 'k.exp'), exp);
    fs.writeFileSync(path.join(dir, 'die'), '');
    return dir;
  }

  it('kill -9 of the program: the run fails, its claim and temporary folder are discarded, the next run computes it', () => {
    const dir = project('kill-program');
    const killed = run(dir, 'k.exp', 'k1.json');
    expect(killed.code).not.toBe(0);
    expect(killed.stdout + killed.stderr).toMatch(/killed by SIGKILL/);
    expect(fs.existsSync(path.join(dir, 'started'))).toBe(true);
    expect(listing(dir)).toEqual([]); // no artifact, no temporary folder, no claim

    fs.rmSync(path.join(dir, 'die'));
    const again = run(dir, 'k.exp', 'k2.json');
    expect(again.code).toBe(0);
    expect(again.rows[0]!.stage_keys?.teacher).toMatch(/^[0-9a-f]{64}$/);
    const key = again.rows[0]!.stage_keys!.teacher!;
    expect(fs.readdirSync(path.join(teacherDir(dir), key)).sort()).toEqual(['.sublab-stage.json', 'part1.txt', 'part2.txt']);
    expect((again.rows[0] as unknown as { n: number }).n).toBe(2);
  }, 120_000);

  it('kill -9 of sublab itself mid-stage: only a temporary folder is left; the next run takes the claim over and computes it', async () => {
    const dir = project('kill-sublab');
    const c = spawn(process.execPath, cliArgs(dir, 'k.exp', 'k1.json'), { cwd: dir, stdio: 'ignore', env: { ...process.env, HANG: '1' } });
    const t0 = Date.now();
    while (!fs.existsSync(path.join(dir, 'started')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    expect(fs.existsSync(path.join(dir, 'started'))).toBe(true);
    c.kill('SIGKILL');
    await new Promise((r) => c.on('close', r));
    // What is there: the temporary folder and the dead process's claim, never an artifact folder.
    expect(listing(dir).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]);
    expect(listing(dir).some((n) => /^\.[0-9a-f]{64}\.tmp-/.test(n))).toBe(true);

    fs.rmSync(path.join(dir, 'die'));
    const again = run(dir, 'k.exp', 'k2.json');
    expect(again.stderr).toMatch(/took over stale claim on stage command\/teacher artifact [0-9a-f]{12}/);
    expect(again.code).toBe(0);
    const key = again.rows[0]!.stage_keys!.teacher!;
    expect(fs.readdirSync(path.join(teacherDir(dir), key)).sort()).toEqual(['.sublab-stage.json', 'part1.txt', 'part2.txt']);
  }, 120_000);
});
