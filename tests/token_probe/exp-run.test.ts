// A full .exp → plan → executor → token_probe → verdict run on the tiny model, through the CLI.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeTinyModel } from '../../src/tiny-model/write.ts';
import { main } from '../../src/cli.ts';

let root: string;
let model: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sublab-token-probe-exp-'));
  model = join(root, 'tiny');
  await writeTinyModel(model);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Verdict { text: string; verdict: string; reason: string; n: number; group?: Record<string, unknown> }
interface Exp { rows: Record<string, unknown>[]; failed: unknown[]; predictions: Verdict[] }

async function run(file: string, ...extra: string[]): Promise<{ code: number; exp: Exp }> {
  const json = join(root, `out-${Math.random().toString(36).slice(2)}.json`);
  const write = process.stdout.write;
  const werr = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['run', file, '--set', `model=${model}`, '--no-progress', '--cache', join(root, 'cache'), '--json', json, ...extra]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = werr;
  }
  const exp = JSON.parse(await readFile(json, 'utf8')).experiments[0] as Exp;
  return { code, exp };
}

describe('token_probe .exp → verdicts on the tiny model', () => {
  it('topic-b experiments pass the checker', async () => {
    const files = readdirSync('experiments/topic-b').filter((f) => f.endsWith('.exp')).map((f) => join('experiments/topic-b', f));
    expect(files.length).toBeGreaterThanOrEqual(6);
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await main(['check', ...files])).toBe(0);
    } finally {
      process.stdout.write = write;
    }
  });

  it('judges the planted pairs', async () => {
    const { exp } = await run('tests/token_probe/tiny-planted.exp');
    expect(exp.failed).toEqual([]);
    expect(exp.rows).toHaveLength(9);
    const by = (prefix: string) => exp.predictions.filter((p) => p.text.startsWith(prefix));
    // Run-level metrics are one observation per run: judged exactly, not as 3 identical rows.
    const animal = by('predict animal_ratio > 10');
    expect(animal).toHaveLength(3);
    for (const v of animal) {
      expect(v.verdict).toBe('confirmed');
      expect(v.reason).toMatch(/exact, n = 1/);
    }
    expect(by('predict number_ratio > 2 where')[0]!.verdict).toBe('confirmed');
    const corr = by('predict number_ratio correlates')[0]!;
    expect(corr.verdict).toBe('confirmed');
    expect(corr.n).toBe(9);
    // Each animal has one planted number among the three: its ratio is far above 1.
    for (const v of by('predict number_ratio < 1 for each animal')) expect(v.verdict).not.toBe('confirmed');
  });

  it('runs experiments/topic-b/owl.exp with the model overridden', async () => {
    const { exp } = await run('experiments/topic-b/owl.exp', '--set', 'top_k=3');
    expect(exp.failed).toEqual([]);
    expect(exp.rows).toHaveLength(5 * 9);
    expect(exp.predictions).toHaveLength(6);
    for (const v of exp.predictions) expect(['confirmed', 'refuted', 'inconclusive']).toContain(v.verdict);
    for (const r of exp.rows) expect(['rose', 'fell', 'flat']).toContain(r.category);
  });
});
