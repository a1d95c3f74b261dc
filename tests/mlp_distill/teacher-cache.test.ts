import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runner } from '../../src/runners/mlp_distill/runner.ts';
import { mlpDistillSchema } from '../../src/runners/mlp_distill/schema.ts';
import type { RunOutput } from '../../src/runners/schema.ts';
import type { Value } from '../../src/language/ast.ts';
import { teacherKey, teacherKeyMaterial } from '../../src/runners/mlp_distill/teacher-cache.ts';

// Tiny: hidden 16, one teacher epoch over the bundled 8,000 digits, 512 noise inputs.
const base = { hidden: 16, batch_size: 256, epochs_teacher: 1, epochs_distill: 1, noise_size: 512, lr: 1e-3, threads: 2, workers: 1 };
const seeds = [0, 1, 2];
const specs = (extra: Record<string, Value>) => seeds.map((seed) => ({ id: `s${seed}`, params: { ...base, ...extra }, seed }));
const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(os.tmpdir(), 'sublab-teacher-')); dirs.push(d); return d; };
afterEach(() => { vi.restoreAllMocks(); dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })); });

const numbers = (outs: RunOutput[]) => outs.map((o) => ({ metrics: o.rows[0]!.metrics, curves: o.extras!.curves }));
const cacheStates = (outs: RunOutput[]) => outs.map((o) => o.extras!.teacher_cache);

describe('teacher cache key', () => {
  const data = { sha256: 'x', nTrain: 8000, nTest: 2000 };
  const key = (p: Record<string, Value>, seed = 0) => teacherKey(teacherKeyMaterial(mlpDistillSchema.resolve({ ...base, ...p }), seed, data, 't'));
  it('ignores distillation-only parameters and depends on every teacher parameter and the seed', () => {
    const k0 = key({});
    for (const p of <Record<string, Value>[]>[{ temperature: 2 }, { loss: 'mse' }, { noise_size: 9 }, { epochs_distill: 3 }, { distill_data: 'gaussian' },
      { kl_reduction: 'published_batchmean' }, { init_noise: 0.1 }, { batch_size_distill: 7 }, { models: 3 }, { workers: 2 }]) {
      expect(key(p), JSON.stringify(p)).toBe(k0);
    }
    for (const p of <Record<string, Value>[]>[{ hidden: 17 }, { layers: 3 }, { aux_logits: 4 }, { lr: 2e-3 }, { batch_size: 128 }, { epochs_teacher: 2 },
      { weight_decay: 1e-4 }, { dataset: 'fashion_mnist' }, { data_dir: '/x' }]) {
      expect(key(p), JSON.stringify(p)).not.toBe(k0);
    }
    expect(key({}, 1)).not.toBe(k0);
    expect(teacherKey(teacherKeyMaterial(mlpDistillSchema.resolve(base), 0, { ...data, sha256: 'y' }, 't'))).not.toBe(k0);
  });
  it('keeps the key of a fixed config (cached teachers stay valid across refactors of the parameters)', () => {
    // engine_sha256 follows the engines' source; pinned out so the pin tests names and values only.
    const material = { ...teacherKeyMaterial(mlpDistillSchema.resolve(base), 0, data, 't'), engine_sha256: 'E' };
    expect(material).toEqual({
      format: 1, tag: 't', engine_sha256: 'E', dataset: 'mnist', data_dir: '', data_sha256: 'x', n_train: 8000, n_test: 2000,
      hidden: 16, layers: 2, aux_logits: 3, lr: 1e-3, batch_size: 256, epochs_teacher: 1, weight_decay: 0, seed: 0,
    });
    expect(teacherKey(material)).toBe('2b8f971f8d38e5b4f56450f6b4e8805f798b18414f1bb9a1b9d887dd40168a75');
  });
});

describe('teacher cache in the runner', () => {
  it('a distillation-only sweep trains one teacher per seed and is bit-identical to no cache', { timeout: 180_000 }, async () => {
    const dir = tmp();
    const details: string[] = [];
    const ctx = { progress: (p: { detail?: string }) => { if (p.detail) details.push(p.detail); }, cacheDir: dir };
    const plainT1 = await runner.run(specs({ temperature: 1 }), { progress: () => {} });
    expect(plainT1[0]!.extras!.teacher_cache).toBeUndefined(); // no cacheDir: no caching
    const cachedT1 = await runner.run(specs({ temperature: 1 }), ctx);
    expect(cacheStates(cachedT1)).toEqual(['miss', 'miss', 'miss']);
    expect(readdirSync(path.join(dir, 'teachers')).filter((f) => f.endsWith('.bin')).length).toBe(3);
    expect(numbers(cachedT1)).toEqual(numbers(plainT1));

    details.length = 0;
    const cachedT2 = await runner.run(specs({ temperature: 2 }), ctx);
    expect(cacheStates(cachedT2)).toEqual(['hit', 'hit', 'hit']);
    expect(details.some((d) => d.includes('teachers: 0 trained, 3 loaded'))).toBe(true);
    const plainT2 = await runner.run(specs({ temperature: 2 }), { progress: () => {} });
    expect(numbers(cachedT2)).toEqual(numbers(plainT2));
    // The factor matters (else equality above would prove nothing about the distillation phase).
    expect(numbers(plainT2)[0]!.curves).not.toEqual(numbers(plainT1)[0]!.curves);
    expect(readdirSync(path.join(dir, 'teachers')).length).toBe(3);

    // Worker threads (one session thread each) load the same files and give the same numbers.
    const workersT2 = await runner.run(specs({ temperature: 2, threads: 1, workers: 2 }), ctx);
    expect(cacheStates(workersT2)).toEqual(['hit', 'hit', 'hit']);
    expect(numbers(workersT2)).toEqual(numbers(plainT2));
  });

  it('a corrupt teacher file is ignored with a warning and retrained, with the same results', { timeout: 180_000 }, async () => {
    const dir = tmp();
    const ctx = { progress: () => {}, cacheDir: dir };
    const first = await runner.run(specs({}), ctx);
    const files = readdirSync(path.join(dir, 'teachers')).map((f) => path.join(dir, 'teachers', f));
    expect(files.length).toBe(3);
    // Flip one bit in the middle of one file (inside the weights).
    const victim = files[1]!;
    const buf = readFileSync(victim);
    buf[Math.floor(buf.length / 2)]! ^= 1;
    writeFileSync(victim, buf);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const second = await runner.run(specs({}), ctx);
    expect(cacheStates(second).filter((s) => s === 'miss').length).toBe(1);
    expect(cacheStates(second).filter((s) => s === 'hit').length).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/checksum mismatch.*retraining/);
    const warned = second.find((o) => o.extras!.teacher_cache === 'miss')!;
    expect(String((warned.extras!.warnings as string[])[0])).toContain('checksum mismatch');
    expect(numbers(second)).toEqual(numbers(first));
    // The retrained teacher was written back: a third run loads all three.
    const third = await runner.run(specs({}), ctx);
    expect(cacheStates(third)).toEqual(['hit', 'hit', 'hit']);
    expect(numbers(third)).toEqual(numbers(first));
    // A truncated file is handled the same way.
    writeFileSync(victim, readFileSync(victim).subarray(0, 20));
    const fourth = await runner.run(specs({}), ctx);
    expect(cacheStates(fourth).filter((s) => s === 'miss').length).toBe(1);
    expect(numbers(fourth)).toEqual(numbers(first));
  });
});
