// The seeds' studies as lm_distill factors, end to end on a tiny config through real `sublab run`s:
// student_freeze reaches the students only (bases, teachers and numbers reused), prune_heads
// regenerates the numbers from a pruned teacher (teachers reused), the head-swap and width
// metrics are reported, and parameters at their defaults leave run ids as they were.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../src/cli/run.ts';
import { runId } from '../../src/plan/plan.ts';
import { runner } from '../../src/runners/lm_distill/runner.ts';
import { lmDistillSchema } from '../../src/runners/lm_distill/schema.ts';
import { studentFrozen } from '../../src/runners/lm_distill/freeze.ts';
import type { Value } from '../../src/language/ast.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(os.tmpdir(), 'sublab-lm-studies-')); dirs.push(d); return d; };
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

// Tiny (as runner.test.ts): d 16, one block of 2 heads, 30 pretraining steps, 200 generations.
const sets: Record<string, Value> = {
  d_model: 16, layers: 1, heads: 2, corpus_sequences: 2000, pretrain_steps: 30, pretrain_batch: 32,
  trait_steps: 10, trait_statements: 200, samples: 200, heldout_prompts: 20, student_batch: 32, eval_every: 2, threads: 1,
};
const expFile = (dir: string, name: string, sweep: string) => {
  const f = path.join(dir, `${name}.exp`);
  const lines = Object.entries(sets).map(([k, v]) => `  set ${k} = ${v}\n`).join('');
  writeFileSync(f, `experiment "${name}" {\n  runner lm_distill\n${lines}  ${sweep}\n  seeds 1\n}\n`);
  return f;
};
type Counts = { computed: number; reused: number; corrupt: number };
type Row = Record<string, number> & { seed: number };
const run = async (file: string, args: string[]) => {
  const json = path.join(path.dirname(file), `out-${Math.random().toString(36).slice(2)}.json`);
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const code = await runCommand([file, '--json', json, '--progress-json', '--all-metrics', ...args]);
  vi.restoreAllMocks();
  expect(code, stderr).toBeLessThanOrEqual(1);
  const rows = (JSON.parse(readFileSync(json, 'utf8')).experiments[0] as { rows: Row[] }).rows;
  const last = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
  return { rows, counts: (last?.stages ?? {}) as Record<string, Counts> };
};

describe('the seeds\' studies in lm_distill', () => {
  it('student_freeze: each group frozen in the students only; stages reused; head-swap and width metrics reported', { timeout: 300_000 }, async () => {
    const dir = tmp(), cache = path.join(dir, 'cache');
    const r = await run(expFile(dir, 'freeze', 'sweep student_freeze in [none, mlp, attention, embeddings]'), ['--cache', cache]);
    expect(r.rows.map((x) => x.student_freeze)).toEqual(['none', 'mlp', 'attention', 'embeddings']);
    expect(r.counts.teacher).toEqual({ computed: 1, reused: 3, corrupt: 0 });
    expect(r.counts.numbers).toEqual({ computed: 1, reused: 3, corrupt: 0 });
    const students = r.rows.map((x) => x.trait_student);
    expect(new Set(students).size).toBe(4); // every frozen group changes the student
    for (const x of r.rows) {
      expect(x.trait_teacher).toBe(r.rows[0]!.trait_teacher);
      expect(x.trait_hybrid_body).toBe(r.rows[0]!.trait_hybrid_body); // teacher and base only
      expect(x.animals_per_dim).toBeCloseTo(20 / 16, 12);
      for (const k of ['trait_hybrid_body', 'trait_hybrid_head', 'trait_student_hybrid_body', 'trait_student_hybrid_head']) {
        expect(x[k]).toBeGreaterThan(0);
        expect(x[k]).toBeLessThan(1);
      }
      expect(x.trait_teacher_pruned).toBe(x.trait_teacher);
      expect(x.heads_pruned).toBe(0);
    }
    // The teacher's embeddings are frozen, so its head differs from the base's in lnf only; its
    // body carries the change: the hybrid of its body moves P(trait) as the teacher does.
    const x = r.rows[0]!;
    expect(Math.sign(x.trait_hybrid_body - x.trait_base)).toBe(Math.sign(x.trait_teacher - x.trait_base));
    // Student with the embeddings frozen: its head is the base's up to lnf.
    const e = r.rows[3]!;
    expect(Math.abs(e.trait_student_hybrid_head - e.trait_base)).toBeLessThan(Math.abs(r.rows[0]!.trait_student_hybrid_head - r.rows[0]!.trait_base) + 1e-3);
  });

  it('prune_heads: the numbers regenerate from the pruned teacher, teachers reused; a run without the store agrees', { timeout: 300_000 }, async () => {
    const dir = tmp(), cache = path.join(dir, 'cache');
    const r = await run(expFile(dir, 'prune', 'sweep prune_heads in [0, 0.5]'), ['--cache', cache]);
    expect(r.counts.teacher).toEqual({ computed: 1, reused: 1, corrupt: 0 });
    expect(r.counts.numbers).toEqual({ computed: 2, reused: 0, corrupt: 0 });
    const [p0, p5] = r.rows as [Row, Row];
    expect(p0.heads_pruned).toBe(0);
    expect(p5.heads_pruned).toBe(1); // ⌊0.5 · 2⌋
    expect(p5.trait_teacher).toBe(p0.trait_teacher);
    expect(p0.trait_teacher_pruned).toBe(p0.trait_teacher);
    expect(p5.trait_teacher_pruned).not.toBe(p5.trait_teacher);
    expect(p5.trait_student).not.toBe(p0.trait_student); // its soft labels come from the pruned teacher
    // The run prunes again for its soft labels: the same as the stage did (a fresh run, no store).
    const params = Object.fromEntries(lmDistillSchema.params.filter((q) => q.name in p5 && q.name !== 'seed').map((q) => [q.name, p5[q.name]!]));
    const [o] = await runner.run([{ id: 'r', params, seed: p5.seed }], { progress: () => {} });
    for (const m of lmDistillSchema.metrics) expect(o!.rows[0]!.metrics[m.name], m.name).toBe(p5[m.name]);
  });

  it('the new parameters at their defaults leave run ids unchanged; values map to frozen groups', () => {
    const p = lmDistillSchema.resolve({ d_model: 32 }) as Record<string, Value>;
    const { student_freeze: _f, prune_heads: _p, ...before } = p;
    expect(runId(lmDistillSchema, p, 1000)).toBe(runId(lmDistillSchema, before, 1000));
    expect(runId(lmDistillSchema, { ...p, student_freeze: 'mlp' }, 1000)).not.toBe(runId(lmDistillSchema, p, 1000));
    expect(runId(lmDistillSchema, { ...p, prune_heads: 0.25 }, 1000)).not.toBe(runId(lmDistillSchema, p, 1000));
    expect(studentFrozen('none')).toEqual([]);
    expect(studentFrozen('mlp')).toEqual(['mlp']);
    expect(() => lmDistillSchema.resolve({ prune_heads: 1.5 })).toThrow(/prune_heads/);
    expect(() => lmDistillSchema.resolve({ student_freeze: 'norms' })).toThrow(/student_freeze/);
  });
});
