// base_seed and what a run's cache entry records, through real `sublab run`s on a tiny config:
// runs of different seeds with one base_seed share one base (and its corpus) and one cross-init
// base; a run of that seed without base_seed shares them too; every run records every stage
// artifact it read, the cross-init student's base included, and `sublab cache ls` counts it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli.ts';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment, runId } from '../../src/plan/plan.ts';
import { predictionHash, setupHash } from '../../src/prereg/normalise.ts';
import { readLock } from '../../src/prereg/lock.ts';

const dirs: string[] = [];
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

const SETS = {
  d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
  trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
};
type Counts = Record<string, { computed: number; reused: number }>;
type Row = Record<string, number> & { seed: number; stage_keys: Record<string, string> };

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

async function run(dir: string, name: string, extra: Record<string, number>, seeds: number): Promise<{ rows: Row[]; counts: Counts }> {
  const f = path.join(dir, `${name}.exp`);
  const sets = Object.entries({ ...SETS, ...extra }).map(([k, v]) => `  set ${k} = ${v}\n`).join('');
  writeFileSync(f, `experiment "${name}" {\n  runner lm_distill\n${sets}  seeds ${seeds}\n}\n`);
  const json = path.join(dir, `${name}.json`);
  const r = await cli(['run', f, '--cache', path.join(dir, 'cache'), '--json', json, '--progress-json', '--all-metrics']);
  expect(r.code, r.err).toBeLessThanOrEqual(1);
  const last = r.err.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
  return { rows: JSON.parse(readFileSync(json, 'utf8')).experiments[0].rows, counts: last?.stages ?? {} };
}

describe('lm_distill base_seed and recorded stages', () => {
  it('seeds share the base of one base_seed; every run records the bases it read, the cross-init one too', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-lm-base-seed-'));
    dirs.push(dir);

    // Default: each run's own base; seed 0's cross-init student reads seed 1's base, seed 1's reads
    // base 2, which no run of the group owns, and both entries say so.
    const own = await run(dir, 'own', {}, 2);
    const [r0, r1] = [own.rows.find((r) => r.seed === 0)!, own.rows.find((r) => r.seed === 1)!];
    expect(Object.keys(r0.stage_keys).sort()).toEqual(['base', 'base:cross', 'corpus', 'corpus:cross', 'numbers', 'teacher']);
    expect(r0.stage_keys['base:cross']).toBe(r1.stage_keys.base);
    expect(r0.stage_keys['corpus:cross']).toBe(r1.stage_keys.corpus);
    const base2 = r1.stage_keys['base:cross']!;
    expect([r0.stage_keys.base, r1.stage_keys.base]).not.toContain(base2);
    expect(own.counts.base).toEqual({ computed: 3, reused: 0, corrupt: 0 });

    // `cache ls` counts base 2 as used (by seed 1's run), not as an orphan.
    const ls = await cli(['cache', 'ls', '--cache', path.join(dir, 'cache')]);
    const base2Line = ls.out.split('\n').find((l) => l.startsWith('lm_distill/base') && l.includes(base2.slice(0, 12)))!;
    expect(base2Line).toMatch(/used by 1 run: /);
    expect(ls.out).not.toMatch(/lm_distill\/(base|corpus) .*used by no cached run/);

    // base_seed = 5: both seeds pretrain from seed 5 (cross-init students from 6): two bases in all,
    // one corpus each; the teachers, numbers and students stay per seed.
    const shared = await run(dir, 'shared', { base_seed: 5 }, 2);
    expect(shared.counts.base).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    expect(shared.counts.corpus).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    expect(shared.counts.teacher).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    const [s0, s1] = [shared.rows.find((r) => r.seed === 0)!, shared.rows.find((r) => r.seed === 1)!];
    expect(s0.stage_keys.base).toBe(s1.stage_keys.base);
    expect(s0.stage_keys['base:cross']).toBe(s1.stage_keys['base:cross']);
    expect(s0.stage_keys.base).not.toBe(s0.stage_keys['base:cross']);
    expect(s0.stage_keys.teacher).not.toBe(s1.stage_keys.teacher);
    expect(s0.trait_base).toBe(s1.trait_base);
    expect(s0.pretrain_loss).toBe(s1.pretrain_loss);
    // The trait teacher's statements are one sentence repeated, so its shuffle changes nothing: one
    // base gives one teacher. The control teacher's statements, the sampling and the students are the seed's.
    expect(s0.trait_teacher).toBe(s1.trait_teacher);
    expect(s0.filter_pass_control).not.toBe(s1.filter_pass_control);
    expect(s0.trait_student).not.toBe(s1.trait_student);

    // A seed-5 run without base_seed pretrains nothing: its base and its cross-init base are those.
    const five = await run(dir, 'five', { seed: 5 }, 1);
    expect(five.counts.base).toEqual({ computed: 0, reused: 2, corrupt: 0 });
    expect(five.rows[0]!.stage_keys.base).toBe(s0.stage_keys.base);
    expect(five.rows[0]!.stage_keys['base:cross']).toBe(s0.stage_keys['base:cross']);
    expect(five.rows[0]!.trait_base).toBe(s0.trait_base);
  });
});

describe('base_seed added to a runner with registered experiments', () => {
  it('at its default it enters neither run ids nor the registered setup; set, it enters both', () => {
    const dir = path.join(import.meta.dirname, '../../experiments/topic-lm');
    const lock = readLock(path.join(dir, 'sublab.lock'), { git: false });
    const registered = new Set(lock.entries.map((l) => `${l.hash}:${l.setupHash}`));
    // A factor file on the first baseline's setup (baseline.exp sets teacher_target, added later).
    const e = compileFile(path.join(dir, 'distill.exp')).experiments[0]!;
    // The topic's predictions stay registered (their setup hash is the one in the lock).
    for (const p of e.predictions) expect(registered.has(`${predictionHash(p)}:${setupHash(e)}`), p.text).toBe(true);
    const ids = (params: Record<string, unknown>) => planExperiment({ ...e, params: { ...e.params, ...params } as typeof e.params }).runs.map((r) => r.id);
    // The run ids a runner without the parameters added later gives (the cached results stay valid).
    const older = { ...e.runner, params: e.runner.params.filter((q) => !q.addedLater) };
    const withoutAdded = (r: { params: Record<string, unknown> }) => Object.fromEntries(Object.entries(r.params).filter(([k]) => older.params.some((q) => q.name === k)));
    expect(ids({})).toEqual(planExperiment({ ...e, params: { ...e.params } }).runs.map((r) => runId(older as typeof e.runner, withoutAdded(r) as never, r.seed)));
    expect(e.runner.params.find((q) => q.name === 'base_seed')?.addedLater).toBe(true);
    expect(ids({ base_seed: 3 })[0]).not.toBe(ids({})[0]);
    expect(setupHash({ ...e, params: { ...e.params, base_seed: 3 } })).not.toBe(setupHash(e));
  });
});
