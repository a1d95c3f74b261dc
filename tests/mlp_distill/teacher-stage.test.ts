// Issue 21: mlp_distill's teacher is a stage. Its key comes from the declarations (schema.ts), so
// these tests check the declarations against the engine (a parameter the teacher phase reads but
// that is declared `stage: 'run'` would make runs silently share a wrong teacher), then reuse in
// real `sublab run`s: a sweep over a distillation parameter trains one teacher per seed, over a
// teacher parameter one per value and seed, with the numbers of a run without the store.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from '../../src/cli/run.ts';
import { runner } from '../../src/runners/mlp_distill/runner.ts';
import { mlpDistillSchema, type MlpDistillParams } from '../../src/runners/mlp_distill/schema.ts';
import { trainGroupOnnx } from '../../src/runners/mlp_distill/onnx/engine.ts';
import type { TeacherEntry } from '../../src/runners/mlp_distill/teacher-stage.ts';
import { stagesOfParam } from '../../src/exec/stages.ts';
import type { ParamSpec } from '../../src/runners/schema.ts';
import type { Value } from '../../src/language/ast.ts';

const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(os.tmpdir(), 'sublab-teacher-stage-')); dirs.push(d); return d; };
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

describe('the teacher stage declarations', () => {
  // A tiny group on few images: what the teacher phase hands over (onTeachers), per parameter value.
  const base = mlpDistillSchema.resolve({ hidden: 8, batch_size: 64, epochs_teacher: 1, epochs_distill: 1, noise_size: 64, lr: 1e-3 });
  const limits = { device: 'cpu' as const, threads: 1, trainLimit: 256, testLimit: 100 };
  const teacherOf = async (p: MlpDistillParams): Promise<TeacherEntry[]> => {
    let out: TeacherEntry[] = [];
    await trainGroupOnnx(p, [0, 1], { ...limits, teachers: [undefined, undefined], onTeachers: (t) => { out = t.map((x) => x.teacher); } });
    return out;
  };
  const fashion = existsSync('/usr/share/dataset-fashion-mnist');
  /** Another valid value (undefined: none can be tried here, e.g. a data directory). */
  const other = (s: ParamSpec, v: Value): Value | undefined => {
    if (s.type === 'enum') return s.values!.find((x) => x !== v && (fashion || !x.startsWith('fashion')));
    if (s.type === 'integer') return v === 0 ? 100 : s.max !== undefined && (v as number) + 1 > s.max ? (v as number) - 1 : (v as number) + 1;
    if (s.type === 'number') return v === 0 ? 0.01 : (v as number) * 2;
    return undefined;
  };

  it('every parameter declared for the run after the teacher leaves the teacher bit for bit as it is; every teacher parameter changes it', { timeout: 180_000 }, async () => {
    const ref = await teacherOf(base);
    expect(ref).toHaveLength(2);
    const untried: string[] = [];
    const declared = (mlpDistillSchema.params as readonly ParamSpec[]).filter((s) => !s.executionOnly && s.name !== 'seed');
    expect(declared.every((s) => stagesOfParam(s).length === 1)).toBe(true);
    for (const s of declared) {
      const v = other(s, base[s.name as keyof MlpDistillParams]);
      if (v === undefined) { untried.push(s.name); continue; }
      const got = await teacherOf({ ...base, [s.name]: v });
      if (stagesOfParam(s)[0] === 'run') expect(got, `${s.name} = ${v} is declared stage 'run' but changes the teacher`).toEqual(ref);
      else expect(got, `${s.name} = ${v} is declared stage '${stagesOfParam(s)[0]}' but leaves the teacher as it is`).not.toEqual(ref);
    }
    // Only data parameters could not be varied without data this machine may lack.
    expect(untried).toEqual(fashion ? ['data_dir'] : ['dataset', 'data_dir']);
  });
});

describe('teacher reuse in sublab run', () => {
  // Tiny: hidden 8, one teacher epoch over the bundled 8,000 digits, 256 distillation inputs.
  const sets = { hidden: 8, batch_size: 256, epochs_teacher: 1, noise_size: 256, lr: 0.001, threads: 1 };
  const expFile = (dir: string, name: string, sweep: string) => {
    const f = path.join(dir, `${name}.exp`);
    const lines = Object.entries(sets).filter(([k]) => !sweep.startsWith(`sweep ${k} `)).map(([k, v]) => `  set ${k} = ${v}\n`).join('');
    writeFileSync(f, `experiment "${name}" {\n  runner mlp_distill\n${lines}  ${sweep}\n  seeds 2\n  measure student_acc\n}\n`);
    return f;
  };
  // --json rows: the run's parameters, metrics, seed and stage keys side by side.
  type Row = Record<string, Value> & { seed: number; stage_keys: { teacher: string } };
  const run = async (file: string, args: string[]) => {
    const json = path.join(path.dirname(file), `out-${Math.random().toString(36).slice(2)}.json`);
    let stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
    const code = await runCommand([file, '--json', json, '--progress-json', '--all-metrics', ...args]);
    vi.restoreAllMocks();
    expect(code, stderr).toBeLessThanOrEqual(1); // 1: no predictions to confirm is fine
    const exp = JSON.parse(readFileSync(json, 'utf8')).experiments[0] as { rows: Row[]; stages?: { stage: string; artifacts: number; runs: number }[] };
    const last = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).progress).pop();
    return { exp, counts: last?.stages?.teacher as { computed: number; reused: number } | undefined, stderr };
  };
  const artifacts = (cache: string) => readdirSync(path.join(cache, 'stages', 'mlp_distill', 'teacher')).filter((f) => /^[0-9a-f]{64}$/.test(f));
  const metricsOf = (rows: Row[]) => rows.map((r) => Object.fromEntries(mlpDistillSchema.metrics.map((m) => [m.name, r[m.name]])));
  /** The same runs computed by the runner with no store at all (the declared parameters of each row). */
  const plain = async (rows: Row[]) => {
    const params = (r: Row) => Object.fromEntries(mlpDistillSchema.params.filter((p) => p.name in r && p.name !== 'backend' && p.name !== 'seed').map((p) => [p.name, r[p.name]!]));
    const out = [];
    // One run a call: a group shares its parameters (the runner reads the first spec's).
    for (const r of rows) {
      const [o] = await runner.run([{ id: 'r', params: params(r), seed: r.seed }], { progress: () => {} });
      out.push(Object.fromEntries(mlpDistillSchema.metrics.map((m) => [m.name, o!.rows[0]!.metrics[m.name]])));
    }
    return out;
  };

  it('a distillation sweep trains one teacher per seed, a teacher sweep one per value and seed; results as without the store', { timeout: 300_000 }, async () => {
    const dir = tmp(), cache = path.join(dir, 'cache');
    const temp = await run(expFile(dir, 'temperature', 'sweep temperature in [1, 2, 4]'), ['--cache', cache]);
    expect(temp.counts).toEqual({ computed: 2, reused: 4, corrupt: 0 });
    expect(temp.exp.stages).toEqual([{ stage: 'teacher', artifacts: 2, runs: 6 }]);
    const keyOf = (r: Row) => r.stage_keys!.teacher;
    for (const r of temp.exp.rows) expect(keyOf(r)).toBe(keyOf(temp.exp.rows.find((x) => x.seed === r.seed)!));
    expect(artifacts(cache)).toHaveLength(2);
    expect(await plain(temp.exp.rows)).toEqual(metricsOf(temp.exp.rows));
    // The factor matters (else equal numbers would prove nothing about the distillation phase).
    expect(new Set(temp.exp.rows.map((r) => r.student_all_acc)).size).toBeGreaterThan(2);

    // A teacher parameter: one teacher per value and seed.
    const hidden = await run(expFile(dir, 'hidden', 'sweep hidden in [9, 10]'), ['--cache', cache]);
    expect(hidden.counts).toEqual({ computed: 4, reused: 0, corrupt: 0 });
    expect(hidden.exp.stages).toEqual([{ stage: 'teacher', artifacts: 4, runs: 4 }]);
    expect(artifacts(cache)).toHaveLength(6);
    expect(await plain(hidden.exp.rows)).toEqual(metricsOf(hidden.exp.rows));

    // Recomputing every run (--fresh) retrains no teacher: all loaded, the same numbers bit for bit.
    const again = await run(expFile(dir, 'temperature', 'sweep temperature in [1, 2, 4]'), ['--cache', cache, '--fresh']);
    expect(again.counts).toEqual({ computed: 0, reused: 6, corrupt: 0 });
    expect(again.stderr).toContain('teacher: 0 computed, 2 reused');
    expect(metricsOf(again.exp.rows)).toEqual(metricsOf(temp.exp.rows));

    // Worker threads (one session each) hand their trained teachers to the stage: the same artifacts and numbers.
    const cache2 = path.join(dir, 'cache2');
    const split = await run(expFile(dir, 'temperature', 'sweep temperature in [1, 2, 4]'), ['--cache', cache2, '--set', 'workers=2']);
    expect(split.counts).toEqual({ computed: 2, reused: 4, corrupt: 0 });
    expect(artifacts(cache2).sort()).toEqual(artifacts(cache).filter((k) => temp.exp.rows.some((r) => keyOf(r) === k)).sort());
    expect(metricsOf(split.exp.rows)).toEqual(metricsOf(temp.exp.rows));

    // A corrupt artifact is warned about, recomputed and replaced; the numbers stay the same.
    const victim = path.join(cache, 'stages', 'mlp_distill', 'teacher', keyOf(temp.exp.rows[0]!), 'params.f32');
    const buf = readFileSync(victim);
    buf[Math.floor(buf.length / 2)]! ^= 1;
    writeFileSync(victim, buf);
    const healed = await run(expFile(dir, 'temperature', 'sweep temperature in [1, 2, 4]'), ['--cache', cache, '--fresh']);
    expect(healed.counts).toEqual({ computed: 1, reused: 5, corrupt: 1 });
    expect(healed.stderr).toMatch(/warning: .*teacher.*params\.f32/);
    expect(metricsOf(healed.exp.rows)).toEqual(metricsOf(temp.exp.rows));
  });
});
