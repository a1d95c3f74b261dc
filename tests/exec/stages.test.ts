// Issue 21: stages. What runs share is computed once: keys derived from declarations, artifacts
// committed atomically and verified, claims across processes. Real runs through the executor, real
// child processes for kill -9 and concurrency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCache } from '../../src/exec/cache.ts';
import { executePlan } from '../../src/exec/executor.ts';
import type { ExecProgress } from '../../src/exec/progress.ts';
import { MANIFEST, stageDeclarationProblems, stageKeys, stageNeeds, StageStore } from '../../src/exec/stages.ts';
import { defineRunner } from '../../src/runners/define.ts';
import { schemas } from '../../src/runners/registry.ts';
import type { RunnerSchema } from '../../src/runners/schema.ts';
import { stagesProvenance } from '../../src/report/model.ts';
import { stagedPlan, stagedRunner, stagedSchema } from './fixtures/staged/runner.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-stages-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fresh = (name: string) => {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  return { cacheDir: path.join(d, 'cache'), file: path.join(d, 'x.exp'), log: path.join(d, 'teachers.log') };
};
const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []);
const child = path.resolve('tests/exec/fixtures/staged/child.ts');

function runChild(args: string[]): { proc: ReturnType<typeof spawn>; out: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const out = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((res) => proc.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
  return { proc, out };
}

describe('stage keys and reuse through the executor', () => {
  it('a sweep over a run-only parameter computes each seed\'s teacher once; progress and entries say so', async () => {
    const { cacheDir, file, log } = fresh('run-only');
    const cache = new ResultCache(cacheDir, { warn: () => {} });
    const plan = stagedPlan(file, { log, width: 3 }, { name: 'temp', values: [0.5, 1, 2] }, 2);
    const events: ExecProgress[] = [];
    const t = await executePlan(plan, { cache, runner: stagedRunner, onProgress: (p) => events.push(p) });
    expect(t.failed).toEqual([]);
    expect(t.rows).toHaveLength(6);
    expect(lines(log)).toHaveLength(2); // one teacher per seed, not per run
    const last = events[events.length - 1]!;
    expect(last.stages).toEqual({ teacher: { computed: 2, reused: 4, corrupt: 0 }, data: { computed: 2, reused: 4, corrupt: 0 } });
    // Each run records its keys; runs of one seed share them.
    const bySeed = new Map<number, Set<string>>();
    for (const r of t.rows) {
      expect(r.stages?.teacher).toMatch(/^[0-9a-f]{64}$/);
      (bySeed.get(r.seed) ?? bySeed.set(r.seed, new Set()).get(r.seed)!).add(r.stages!.teacher!);
      expect(cache.read(r.runId)!.stages).toEqual(r.stages);
      expect(r.metrics.score).toBe(3000 + r.seed + ((3000 + r.seed) % 7) + (r.params.temp as number));
    }
    expect([...bySeed.values()].map((s) => s.size)).toEqual([1, 1]);
    // Reports show it compactly in their provenance.
    expect(stagesProvenance(t.rows)).toMatch(/^teacher: 2 artifacts for 6 runs \([0-9a-f]{12}, [0-9a-f]{12}\); data: 2 artifacts for 6 runs \(/);
    // The plan knew: two teachers needed, all stored now.
    const store = new StageStore(path.join(cacheDir, 'stages'));
    expect(stageNeeds(plan, store).stages).toEqual([{ stage: 'teacher', needed: 2, cached: 2 }, { stage: 'data', needed: 2, cached: 2 }]);
    expect(stageNeeds(stagedPlan(file, { log, width: 4 }, undefined, 3), store).stages[0]).toEqual({ stage: 'teacher', needed: 3, cached: 0 });
    // Run again: everything cached, nothing computed; a new run-only value reuses both teachers.
    const again = await executePlan(stagedPlan(file, { log, width: 3 }, { name: 'temp', values: [0.5, 1, 2, 5] }, 2), { cache, runner: stagedRunner });
    expect(again.rows.filter((r) => !r.cached)).toHaveLength(2);
    expect(lines(log)).toHaveLength(2);
  });

  it('a parameter declared stage: "teacher" gives different values different teachers (and data after them)', async () => {
    const { cacheDir, file, log } = fresh('teacher-param');
    const cache = new ResultCache(cacheDir, { warn: () => {} });
    const t = await executePlan(stagedPlan(file, { log }, { name: 'width', values: [2, 3] }, 2), { cache, runner: stagedRunner });
    expect(t.failed).toEqual([]);
    expect(lines(log)).toHaveLength(4);
    const teachers = new Set(t.rows.map((r) => r.stages!.teacher));
    const data = new Set(t.rows.map((r) => r.stages!.data));
    expect(teachers.size).toBe(4);
    expect(data.size).toBe(4);
    const artifacts = fs.readdirSync(path.join(cacheDir, 'stages', 'staged_test', 'teacher')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(artifacts.sort()).toEqual([...teachers].sort());
    const m = JSON.parse(fs.readFileSync(path.join(cacheDir, 'stages', 'staged_test', 'teacher', artifacts[0]!, MANIFEST), 'utf8'));
    expect(m.files.map((f: { path: string }) => f.path)).toEqual(['sub/meta.json', 'teacher.txt']);
    expect(Object.keys(m.material.params)).toEqual(['width']);
  });

  it('without a result cache every artifact is computed in a temporary store and nothing is left', async () => {
    const { file, log } = fresh('no-cache');
    const before = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('sublab-stages-')).length;
    const t = await executePlan(stagedPlan(file, { log }, { name: 'temp', values: [1, 2] }, 1), { runner: stagedRunner });
    expect(t.failed).toEqual([]);
    expect(lines(log)).toHaveLength(2);
    expect(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('sublab-stages-')).length).toBe(before);
  });

  it('a corrupt artifact is reported, counted and recomputed, with the same results', async () => {
    const { cacheDir, file, log } = fresh('corrupt');
    const cache = new ResultCache(cacheDir, { warn: () => {} });
    const first = await executePlan(stagedPlan(file, { log }, undefined, 1), { cache, runner: stagedRunner });
    const key = first.rows[0]!.stages!.teacher!;
    fs.writeFileSync(path.join(cacheDir, 'stages', 'staged_test', 'teacher', key, 'teacher.txt'), '9999');
    const warnings: string[] = [];
    const events: ExecProgress[] = [];
    const second = await executePlan(stagedPlan(file, { log, temp: 7 }, undefined, 1), { cache, runner: stagedRunner, warn: (m) => warnings.push(m), onProgress: (p) => events.push(p) });
    expect(warnings.join('\n')).toMatch(/corrupt stage artifact .*teacher\/[0-9a-f]{64} \(file teacher\.txt: checksum mismatch\); it will be recomputed/);
    expect(events[events.length - 1]!.stages!.teacher).toEqual({ computed: 1, reused: 0, corrupt: 1 });
    expect(second.rows[0]!.metrics.score! - 7).toBe(first.rows[0]!.metrics.score! - 1);
    expect(lines(log)).toHaveLength(2);
    expect(new StageStore(path.join(cacheDir, 'stages')).inspect({ runner: 'staged_test', stage: 'teacher', key }).status).toBe('hit');
  });
});

describe('stage declarations', () => {
  it('every parameter of every staged built-in runner declares its stage, and every declaration is sound', () => {
    for (const s of [...schemas, stagedSchema] as RunnerSchema[]) {
      expect(stageDeclarationProblems(s), s.name).toEqual([]);
      if (s.stages?.length) for (const p of s.params) if (p.name !== 'seed' && !p.executionOnly) expect(p.stage, `${s.name}.${p.name}`).toBeDefined();
    }
  });

  it('removing a parameter\'s stage declaration, or naming an unknown stage, fails the declaration', () => {
    const params = stagedSchema.params.map((p) => (p.name === 'width' ? { ...p, stage: undefined } : p));
    expect(() => defineRunner({ ...stagedSchema, params })).toThrow('parameter "width" declares no stage');
    const typo = stagedSchema.params.map((p) => (p.name === 'width' ? { ...p, stage: 'teachr' } : p));
    expect(() => defineRunner({ ...stagedSchema, params: typo })).toThrow('parameter "width" declares stage "teachr", which is not declared');
    expect(() => defineRunner({ ...stagedSchema, stages: [{ name: 'data', after: ['teacher'], code: ['/x.ts'] }, { name: 'teacher', code: ['/x.ts'] }] }))
      .toThrow('stage "data" comes after "teacher", which is not a stage declared before it');
  });

  it('keys: a later stage\'s parameter does not feed earlier ones; code edits, seeds and data change them', () => {
    const code = path.join(dir, 'keys-code');
    fs.mkdirSync(code, { recursive: true });
    fs.writeFileSync(path.join(code, 'a.ts'), "import './b.ts';\n");
    fs.writeFileSync(path.join(code, 'b.ts'), 'export const v = 1;\n');
    const declare = () => defineRunner({
      name: 'keys_test', version: '1', description: 'x', seeded: true, metrics: [],
      params: [
        { name: 'a', type: 'number', default: 1, description: 'x', stage: 'first' },
        { name: 'b', type: 'number', default: 1, description: 'x', stage: 'second' },
        { name: 'c', type: 'number', default: 1, description: 'x', stage: 'run' },
        { name: 'path', type: 'string', default: 'd1', description: 'x', stage: 'run' },
      ],
      stages: [
        { name: 'first', code: [path.join(code, 'a.ts')], data: (p, env) => ({ dir: path.resolve(env.expDir, p.path) }) },
        { name: 'second', after: ['first'], code: [path.join(code, 'b.ts')], seeded: false },
      ],
    });
    let def = declare();
    const k = (params: Record<string, number | string>, seed = 0) => {
      const r = stageKeys(def, params, seed, { expDir: '/exp' });
      return { first: r.first!.key, second: r.second!.key };
    };
    const base = k({});
    expect(k({ c: 5 })).toEqual(base);
    expect(k({ b: 2 }).first).toBe(base.first);
    expect(k({ b: 2 }).second).not.toBe(base.second);
    expect(k({ a: 2 }).first).not.toBe(base.first);
    expect(k({ a: 2 }).second).not.toBe(base.second); // through the upstream key
    expect(k({}, 1).first).not.toBe(base.first);
    expect(k({ path: 'd2' }).first).not.toBe(base.first); // declared data identity
    fs.writeFileSync(path.join(code, 'b.ts'), 'export const v = 22;\n');
    // A process hashes a stage's code once (the code it loaded); a new declaration sees the edit.
    expect(k({})).toEqual(base);
    def = declare();
    const edited = k({});
    expect(edited.first).not.toBe(base.first); // b.ts is reached from first's a.ts
    expect(edited.second).not.toBe(base.second);
  });
});

describe('the store', () => {
  it('two requests for one artifact in one process: one computes, the other waits and loads it', async () => {
    const store = new StageStore(path.join(dir, 'one-process'), { pollMs: 10 });
    const ref = { runner: 'r', stage: 'teacher', key: 'a'.repeat(64) };
    const first = await store.acquire([ref]);
    expect(first[0]!.status).toBe('compute');
    const second = store.acquire([ref]);
    let settled = false;
    void second.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false); // waiting, not computing it a second time
    const tmp = (first[0] as { tmp: string }).tmp;
    fs.writeFileSync(path.join(tmp, 'w.bin'), Buffer.from([1, 2, 3]));
    const final = store.commit(ref, tmp, { any: 'material' });
    expect(await second).toEqual([{ ref, status: 'stored', dir: final }]);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(fs.readdirSync(path.dirname(final)).filter((n) => n.endsWith('.claim'))).toEqual([]);
  });

  it('an artifact may hold only plain files and folders, and not a file named like the manifest', async () => {
    const store = new StageStore(path.join(dir, 'refuse'));
    const ref = { runner: 'r', stage: 's', key: 'b'.repeat(64) };
    const [a] = await store.acquire([ref]);
    const tmp = (a as { tmp: string }).tmp;
    fs.symlinkSync('/etc/passwd', path.join(tmp, 'link'));
    expect(() => store.commit(ref, tmp, {})).toThrow(/link is a symbolic link; an artifact holds plain files and folders only/);
    expect(store.inspect(ref).status).toBe('miss');
    expect(fs.existsSync(tmp)).toBe(false);
    const [b] = await store.acquire([ref]); // the claim was released: claimable again
    expect(b!.status).toBe('compute');
    fs.writeFileSync(path.join((b as { tmp: string }).tmp, MANIFEST), '{}');
    expect(() => store.commit(ref, (b as { tmp: string }).tmp, {})).toThrow(`the artifact may not hold a file named ${MANIFEST}`);
  });
});

describe('stages across processes', () => {
  it('kill -9 in the middle of a stage leaves no half artifact; the next run takes over and gc cleans up', async () => {
    const { cacheDir, file, log } = fresh('kill');
    const spec = JSON.stringify({ set: { log, hold_ms: 60_000 }, seeds: 1 });
    const { proc, out } = runChild([cacheDir, file, spec]);
    let holding = '';
    await new Promise<void>((res, rej) => {
      proc.stdout!.on('data', (d: Buffer) => {
        const m = /holding (\S+)/.exec(String(d));
        if (m) { holding = m[1]!; res(); }
      });
      proc.on('close', () => rej(new Error('child ended before holding the stage')));
    });
    expect(fs.readFileSync(path.join(holding, 'teacher.txt'), 'utf8')).toBe('half');
    proc.kill('SIGKILL');
    expect((await out).signal).toBe('SIGKILL');
    const stageDir = path.dirname(holding);
    const names = fs.readdirSync(stageDir);
    expect(names.filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([]); // no artifact, not even a half one
    expect(names.some((n) => n.endsWith('.claim'))).toBe(true);
    // The next run: the dead process's claim is taken over, the teacher computed whole.
    const warnings: string[] = [];
    const cache = new ResultCache(cacheDir, { warn: (m) => warnings.push(m) });
    const t = await executePlan(stagedPlan(file, { log }, undefined, 1), { cache, runner: stagedRunner, warn: (m) => warnings.push(m) });
    expect(t.failed).toEqual([]);
    expect(warnings.join('\n')).toMatch(/took over stale claim on stage staged_test\/teacher artifact [0-9a-f]{12} \(process \d+ is gone\)/);
    expect(lines(log)).toHaveLength(2);
    const key = t.rows[0]!.stages!.teacher!;
    expect(fs.readFileSync(path.join(stageDir, key, 'teacher.txt'), 'utf8')).toBe('2000');
    // What the killed process left is removed by gc once it is older than a minute.
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(holding, old, old);
    const store = new StageStore(path.join(cacheDir, 'stages'));
    expect(store.gc().removed.map((r) => r.reason)).toContain('unfinished artifact (its process is gone)');
    expect(fs.existsSync(holding)).toBe(false);
    expect(store.list().items.every((i) => !i.problem)).toBe(true);
  });

  it('two processes at once compute each stage artifact once', async () => {
    const { cacheDir, file, log } = fresh('two');
    const a = runChild([cacheDir, file, JSON.stringify({ set: { log, hold_ms: 1000 }, sweep: { name: "temp", values: [1, 2] }, seeds: 3 })]);
    const b = runChild([cacheDir, file, JSON.stringify({ set: { log, hold_ms: 1000 }, sweep: { name: "temp", values: [3, 4] }, seeds: 3 })]);
    const [ra, rb] = await Promise.all([a.out, b.out]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const last = (t: string) => JSON.parse(t.trim().split('\n').pop()!);
    expect(last(ra.stdout)).toEqual({ rows: 6, failed: [] });
    expect(last(rb.stdout)).toEqual({ rows: 6, failed: [] });
    expect(lines(log)).toHaveLength(3); // three seeds, three teachers, whoever computed them
  }, 60_000);
});
