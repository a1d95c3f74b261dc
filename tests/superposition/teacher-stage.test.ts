// Issue 21: superposition's teacher is a stage. The declarations are checked against the engine
// (a parameter declared for the child that changes the teacher would make runs share a wrong
// teacher), then reuse in a real `sublab run` of a child_init sweep: one teacher per seed, the
// numbers of a run without the store.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../src/cli/run.ts';
import { makePlan, runner } from '../../src/runners/superposition/runner.ts';
import { trainOnnx } from '../../src/runners/superposition/onnx-engine.ts';
import { superpositionSchema, type SuperpositionParams } from '../../src/runners/superposition/schema.ts';
import { stagesOfParam } from '../../src/exec/stages.ts';
import type { ParamSpec } from '../../src/runners/schema.ts';
import type { Value } from '../../src/language/ast.ts';

const dirs: string[] = [];
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

describe('the teacher stage declarations', () => {
  it('every parameter declared for the run leaves the teacher bit for bit as it is; every teacher parameter changes it', { timeout: 120_000 }, async () => {
    const base = superpositionSchema.resolve({ variant: 'ablated', features: 6, hidden: 2, steps: 50, ablate: 1 });
    const teacherOf = async (p: SuperpositionParams) => (await trainOnnx(makePlan(p, [0, 1]).plan, { device: 'cpu', threads: 1 }, { progress: () => {} })).teacher;
    const ref = await teacherOf(base);
    const other = (s: ParamSpec, v: Value): Value => {
      if (s.type === 'enum') return s.values!.find((x) => x !== v)!;
      if (s.type === 'integer') return (v as number) + 1;
      return v === 0 ? 0.5 : (v as number) / 2;
    };
    const declared = (superpositionSchema.params as readonly ParamSpec[]).filter((s) => !s.executionOnly && s.name !== 'seed');
    for (const s of declared) {
      const v = other(s, base[s.name as keyof SuperpositionParams]);
      // aux_features and aux_input only exist in the auxiliary variant: vary them there.
      const at = s.name.startsWith('aux_') ? { ...base, variant: 'auxiliary' as const } : base;
      const [before, after] = [await teacherOf(at), await teacherOf({ ...at, [s.name]: v })];
      if (stagesOfParam(s)[0] === 'run') expect(after, `${s.name} = ${v} is declared stage 'run' but changes the teacher`).toEqual(before);
      else expect(after, `${s.name} = ${v} is declared stage 'teacher' but leaves the teacher as it is`).not.toEqual(before);
    }
    expect(ref.W.length).toBe(2 * 2 * 6);
  });
});

describe('teacher reuse in sublab run', () => {
  it('a child_init sweep trains one teacher per seed; results as without the store', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-sp-stage-'));
    dirs.push(dir);
    const file = path.join(dir, 'shared.exp');
    writeFileSync(file, 'experiment "shared" {\n  runner superposition\n  set steps = 100\n  sweep child_init in ["shared", "independent"]\n  seeds 3\n  measure transfer_ratio\n}\n');
    const run = async (args: string[]) => {
      const json = path.join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
      let stderr = '';
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
      const code = await runCommand([file, '--json', json, '--progress-json', '--cache', path.join(dir, 'cache'), ...args]);
      vi.restoreAllMocks();
      expect(code, stderr).toBeLessThanOrEqual(1);
      const last = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
      return { exp: JSON.parse(readFileSync(json, 'utf8')).experiments[0], counts: last?.stages?.teacher };
    };
    const first = await run([]);
    expect(first.counts).toEqual({ computed: 3, reused: 3, corrupt: 0 });
    expect(first.exp.stages).toEqual([{ stage: 'teacher', artifacts: 3, runs: 6 }]);
    expect(readdirSync(path.join(dir, 'cache', 'stages', 'superposition', 'teacher')).filter((f) => /^[0-9a-f]{64}$/.test(f))).toHaveLength(3);
    const metrics = (rows: Record<string, Value>[]) => rows.map((r) => Object.fromEntries(superpositionSchema.metrics.map((m) => [m.name, r[m.name]])));
    // Without the store, each point alone (a group shares its parameters).
    const plain: Record<string, Value>[] = [];
    for (const childInit of ['shared', 'independent']) {
      const outs = await runner.run([0, 1, 2].map((seed) => ({ id: `r${seed}`, params: { steps: 100, child_init: childInit }, seed })), { progress: () => {} });
      plain.push(...outs.map((o) => o.rows[0]!.metrics));
    }
    expect(metrics(plain)).toEqual(metrics(first.exp.rows));
    // --fresh recomputes every run and no teacher.
    const again = await run(['--fresh']);
    expect(again.counts).toEqual({ computed: 0, reused: 6, corrupt: 0 });
    expect(metrics(again.exp.rows)).toEqual(metrics(first.exp.rows));
  });
});
