// The `sublab run` summary counts every row the verdicts cannot use, with why: a run whose only
// row is NaN, and a row the command runner refused for a key given twice (its run has other,
// usable rows, so its NaN alone would not mark it).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFile } from '../../src/exec/run-file.ts';
import { formatExperiment, unusableNote } from '../../src/cli/run.ts';

const PROG = `let s = '';
process.stdin.on('data', (d) => (s += d)).on('end', () => {
  const { seed } = JSON.parse(s);
  if (seed === 0) console.log('{"y": NaN}');
  else if (seed === 1) { console.log('{"y": 0.5}'); console.log('{"y": 0.1, "y": 0.9}'); }
  else console.log('{"y": 0.7}');
});
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-unusable-'));
  fs.writeFileSync(path.join(dir, 'prog.mjs'), PROG);
  fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure y\n  seeds 3\n  predict y > 0.2\n}\n`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('unusable rows in the run summary', () => {
  it('counts a NaN run and a duplicate-key row, each with its reason, computed and from the cache', async () => {
    for (const pass of ['computed', 'cached']) {
      const r = (await runFile(path.join(dir, 'x.exp'), { cacheDir: path.join(dir, 'cache'), warn: () => {} })).experiments[0]!;
      expect(r.table.rows.every((x) => x.cached === (pass === 'cached'))).toBe(true);
      const text = formatExperiment(r, 'x.exp');
      expect(text, pass).toContain('0 failed, 2 unusable rows (1 NaN, 1 duplicate key) ·');
      expect(text).toContain('2 rows unusable (the verdicts cannot use them):');
      expect(text).toMatch(/! run [0-9a-f]{12} \(seed 0\): y = NaN/);
      expect(text).toMatch(/! run [0-9a-f]{12} \(seed 1\): duplicate key: field "y" appears twice \(stdout line 2\)/);
      // The verdict leaves out the same two rows.
      expect(r.verdicts[0]!.n).toBe(2);
      expect(r.verdicts[0]!.rows!.points[0]!.nan).toBe(2);
    }
  });

  it('one reason is named once, several are counted', () => {
    expect(unusableNote([])).toBe('');
    expect(unusableNote([{ reason: 'NaN' }])).toBe(', 1 unusable row (NaN)');
    expect(unusableNote([{ reason: 'duplicate key' }, { reason: 'duplicate key' }])).toBe(', 2 unusable rows (duplicate key)');
    expect(unusableNote([{ reason: 'infinite' }, { reason: 'NaN' }, { reason: 'infinite' }])).toBe(', 3 unusable rows (2 infinite, 1 NaN)');
  });
});
