// `sublab plan` counts every stage artifact a run reads: its own, and those its stages declare it
// reads besides (StageSchema.reads: lm_distill's cross-init student starts from the next seed's
// base). Checked against real `sublab run`s of a tiny lm_distill config from an empty store: what
// plan says is needed is what the run computes, and every key plan derives is the one the run records.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli.ts';
import { readKeys } from '../../src/exec/stages.ts';
import { stagedSchema } from './fixtures/staged/runner.ts';
import type { RunnerSchema } from '../../src/runners/schema.ts';

const dirs: string[] = [];
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

const SETS = {
  d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
  trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
};

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

type Needed = { stage: string; needed: number; cached: number }[];
type PlanJson = { experiments: { stages: Needed; runs: { id: string; seed: number; stages: Record<string, string> }[] }[] };

describe('plan counts the artifacts runs read beyond their own', () => {
  it('lm_distill: 2 seeds need 3 bases and 3 corpora (the cross-init one too), as the run computes and records', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-stage-reads-'));
    dirs.push(dir);
    const cache = path.join(dir, 'cache');
    const write = (name: string, extra: Record<string, number>) => {
      const f = path.join(dir, `${name}.exp`);
      const sets = Object.entries({ ...SETS, ...extra }).map(([k, v]) => `  set ${k} = ${v}\n`).join('');
      writeFileSync(f, `experiment "${name}" {\n  runner lm_distill\n${sets}  seeds 2\n}\n`);
      return f;
    };
    const plan = async (f: string) => {
      const text = await cli(['plan', f, '--cache', cache]);
      expect(text.code, text.err).toBe(0);
      const json = await cli(['plan', f, '--cache', cache, '--json']);
      return { text: text.out, json: (JSON.parse(json.out) as PlanJson).experiments[0]! };
    };
    const run = async (f: string) => {
      const json = path.join(dir, `${path.basename(f)}.json`);
      const r = await cli(['run', f, '--cache', cache, '--json', json, '--progress-json']);
      expect(r.code, r.err).toBeLessThanOrEqual(1);
      const last = r.err.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
      const rows = JSON.parse(readFileSync(json, 'utf8')).experiments[0].rows as { run_id: string; stage_keys: Record<string, string> }[];
      return { rows, computed: Object.fromEntries(Object.entries(last.stages as Record<string, { computed: number }>).map(([s, c]) => [s, c.computed])) };
    };
    const needed = (n: Needed) => Object.fromEntries(n.map((s) => [s.stage, s.needed]));

    // Seeds 0 and 1: bases 0, 1 and 2 (seed 1's cross-init student starts from base 2), each from its corpus.
    const own = write('own', {});
    const before = await plan(own);
    expect(before.json.stages).toEqual([
      { stage: 'corpus', needed: 3, cached: 0 }, { stage: 'base', needed: 3, cached: 0 },
      { stage: 'teacher', needed: 2, cached: 0 }, { stage: 'numbers', needed: 2, cached: 0 },
    ]);
    expect(before.text).toContain('  stages: corpus: 3 needed, 0 cached · base: 3 needed, 0 cached · teacher: 2 needed, 0 cached · numbers: 2 needed, 0 cached\n');
    expect(before.text).toContain('  computes: everything (the runner declares no parts)\n');
    const ran = await run(own);
    expect(ran.computed).toEqual(needed(before.json.stages));
    // Every artifact a run recorded (`base:cross` too) has the key plan derived, and plan names no other.
    for (const row of ran.rows) expect(before.json.runs.find((r) => r.id === row.run_id)!.stages).toEqual(row.stage_keys);
    const after = await plan(own);
    expect(after.json.stages.map((s) => s.cached)).toEqual(after.json.stages.map((s) => s.needed));
    expect(after.text).toContain('  computes: everything (the runner declares no parts); cached: 2 of 2 runs\n');

    // base_seed = 5: both seeds read bases 5 and 6, so two of each upstream artifact; new in this store.
    const shared = write('shared', { base_seed: 5 });
    const five = await plan(shared);
    expect(needed(five.json.stages)).toEqual({ corpus: 2, base: 2, teacher: 2, numbers: 2 });
    expect(five.json.stages.every((s) => s.cached === 0)).toBe(true);
    const ranFive = await run(shared);
    expect(ranFive.computed).toEqual(needed(five.json.stages));
    for (const row of ranFive.rows) expect(five.json.runs.find((r) => r.id === row.run_id)!.stages).toEqual(row.stage_keys);
  });

  it('a read names its role with a stage-like name', () => {
    const bad = { ...stagedSchema, stages: [{ ...stagedSchema.stages![0]!, reads: () => [{ as: 'next seed', seed: 1 }] }, stagedSchema.stages![1]!] } as RunnerSchema;
    expect(() => readKeys(bad, { width: 2, temp: 1 }, 0, { expDir: '.' })).toThrow(`runner staged_test, stage "teacher": a read's role "next seed" must be letters, digits, '_' or '-' (starting with a letter)`);
    // A read of the data stage takes its teacher from the same seed: both are recorded under the role.
    const ok = { ...stagedSchema, stages: [stagedSchema.stages![0]!, { ...stagedSchema.stages![1]!, reads: (_p: unknown, s: number) => [{ as: 'next', seed: s + 1 }] }] } as RunnerSchema;
    const keys = readKeys(ok, { width: 2, temp: 1 }, 0, { expDir: '.' });
    expect(Object.keys(keys).sort()).toEqual(['data:next', 'teacher:next']);
    expect(keys['teacher:next']!.material.seed).toBe(1);
    expect(keys['data:next']!.material.after).toEqual({ teacher: keys['teacher:next']!.key });
  });
});
