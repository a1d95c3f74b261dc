// Issue 13 (3): a non-finite metric (1e999 parses as Infinity) survives the cache and is counted
// as an unusable row in the run summary instead of vanishing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFile } from '../../src/exec/run-file.ts';
import { formatExperiment } from '../../src/cli/run.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-nonfinite-'));
  fs.writeFileSync(
    path.join(dir, 'prog.mjs'),
    `let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => { const p = JSON.parse(s); process.stdout.write(p.seed === 1 ? '{"acc": 1e999}\\n' : p.seed === 2 ? '{"acc": -1e999}\\n' : '{"acc": 0.9}\\n'); });\n`,
  );
  fs.writeFileSync(
    path.join(dir, 'x.exp'),
    `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  seeds 4\n  predict acc > 0.5\n}\n`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('non-finite metrics', () => {
  it('keep their value through the cache and are counted as unusable rows', async () => {
    const opts = { cacheDir: path.join(dir, 'cache') };
    for (const pass of ['computed', 'cached']) {
      const r = (await runFile(path.join(dir, 'x.exp'), opts)).experiments[0]!;
      expect(r.table.rows.every((x) => x.cached === (pass === 'cached'))).toBe(true);
      expect(r.table.rows.map((x) => x.metrics.acc)).toEqual([0.9, Infinity, -Infinity, 0.9]);
      const text = formatExperiment(r, 'x.exp');
      expect(text).toContain('0 failed, 2 unusable rows');
      expect(text).toContain('acc = Infinity');
      expect(text).toContain('acc = -Infinity');
    }
    const files = fs.readdirSync(path.join(dir, 'cache')).filter((n) => n.endsWith('.json'));
    const stored = files.map((n) => fs.readFileSync(path.join(dir, 'cache', n), 'utf8'));
    expect(stored.filter((t) => t.includes('"nonFinite":{"acc":"Infinity"}'))).toHaveLength(1);
  });
});

describe('unusableRows', () => {
  it('counts ±Infinity, and NaN only where the run has no value for that metric', async () => {
    const { unusableRows } = await import('../../src/exec/executor.ts');
    const row = (runId: string, v: number) => ({ runId, point: 0, seed: 0, params: {}, metrics: { m: v }, keys: {}, backend: 'x', wallMs: 0, cached: false });
    const rows = [row('a', 1), row('a', NaN), row('b', NaN), row('c', Infinity)];
    expect(unusableRows(rows, ['m']).map((u) => u.row.runId)).toEqual(['b', 'c']);
  });
});
