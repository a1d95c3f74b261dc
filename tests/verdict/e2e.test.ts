// Issue 11 end to end, through the real CLI and the `command` runner (a small Node program): a
// seed effect (sd 1) dwarfs a within-seed effect (0.1 per step, noise 0.03) over 4 points × 10
// seeds. The blocked tests (paired t on matched seeds, Page's L within seed) confirm both
// predictions; the pooled tests on the same numbers leave both inconclusive. `sublab check`
// flags a trend over 3 rows; an inconclusive verdict prints its MDE and the seeds it needs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import type { ResultRow } from '../../src/results/types.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const fixture = path.join(here, 'fixtures/seed-effect.exp');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-verdict-e2e-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sublab(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SUBLAB_CACHE: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type JsonPrediction = { text: string; verdict: string; test: string; p: number; mde: number | null; n_needed: number | null; n_needed_unit: string | null; seeds: number[]; rows_per_point: { point: string; used: number }[]; standardized_name: string | null };

describe('a seed effect dwarfing a within-seed effect, through sublab run and the command runner', () => {
  it('confirms `y at x = 3 > y at x = 0` and `y increases with x` with the blocked tests; pooled, both are inconclusive', () => {
    const out = path.join(tmp, 'out.json');
    const r = sublab(['run', fixture, '--cache', path.join(tmp, 'cache'), '--json', out, '--no-progress']);
    expect(r.stderr).not.toMatch(/failed/);
    const exp = (JSON.parse(fs.readFileSync(out, 'utf8')) as { experiments: { rows: Record<string, unknown>[]; predictions: JsonPrediction[] }[] }).experiments[0]!;
    const [at, trend, noise] = exp.predictions as [JsonPrediction, JsonPrediction, JsonPrediction];
    expect([at.verdict, at.test]).toEqual(['confirmed', 'paired t']);
    expect([trend.verdict, trend.test]).toEqual(['confirmed', "Page's L"]);
    expect(at.standardized_name).toBe("Cohen's dz");
    expect(at.seeds).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(trend.rows_per_point.map((p) => [p.point, p.used])).toEqual([['x = 0', 10], ['x = 1', 10], ['x = 2', 10], ['x = 3', 10]]);
    expect(r.stdout).toMatch(/✔ confirmed +predict y at x = 3 > y at x = 0[^\n]*\n +confirmed: paired t\(9\)/);
    expect(r.stdout).toMatch(/✔ confirmed +predict y increases with x[^\n]*\n +confirmed: Page's L/);

    // What would decide it: the inconclusive noise prediction carries its MDE and seeds needed.
    expect(noise.verdict).toBe('inconclusive');
    expect(noise.mde).toBeGreaterThan(0);
    expect(noise.n_needed).toBeGreaterThan(10);
    expect(noise.n_needed_unit).toBe('seeds per point');
    expect(r.stdout).toMatch(/inconclusive: one-sample t\(9\)[^\n]* · MDE [\d.]+ \(dz [\d.]+\), ~\d+ seeds per point needed/);
    expect(r.code).toBe(1); // one prediction is inconclusive

    // The same numbers with the seeds made unrelated across points: the pooled tests cannot see it.
    const compiled = compileFile(fixture);
    const e = compiled.experiments[0]!;
    const rows: ResultRow[] = exp.rows.map((row, i) => ({
      runId: String(row.run_id),
      point: [0, 1, 2, 3].indexOf(row.x as number),
      seed: 100 * (row.x as number) + (row.seed as number),
      params: { x: row.x as number },
      metrics: { y: row.y as number, z: row.z as number },
      keys: {},
      backend: 'external',
      wallMs: 0,
      cached: i < 0,
    }));
    const pooled = judgeExperiment(e, { experiment: e.name, file: e.file, rows, failed: [], extras: {} });
    expect(pooled.slice(0, 2).map((v) => [v.outcome, v.test])).toEqual([
      ['inconclusive', 'Welch t'],
      ['inconclusive', 'Spearman rho'],
    ]);
  });

  it('sublab check flags a trend over 3 rows as undecidable (a warning, exit 0)', () => {
    const r = sublab(['check', path.join(here, 'fixtures/three-rows.exp')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: prediction can never be decided: the smallest p Spearman rho over 3 rows (3 values of x) can reach is 0.33 > alpha = 0.05; with ≥ 3 seeds per point the smallest p is 0.0093');
    // sublab plan says it for the runs it plans (here with --seeds 3 the floor is gone).
    expect(sublab(['plan', path.join(here, 'fixtures/three-rows.exp')]).stderr).toContain('warning: prediction can never be decided');
    const more = sublab(['plan', path.join(here, 'fixtures/three-rows.exp'), '--seeds', '3']);
    expect(more.code).toBe(0);
    expect(more.stderr).not.toContain('warning');
  });
});
