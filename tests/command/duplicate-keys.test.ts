// Issue 20 (7): a result row with a key twice ({"y":0.1,"y":0.9}) is refused (kept, unusable,
// counted), never silently read as its last value.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRows } from '../../src/runners/command/runner.ts';
import { duplicateTopLevelKey } from '../../src/util/json-duplicates.ts';
import { runFile } from '../../src/exec/run-file.ts';

describe('duplicateTopLevelKey', () => {
  it('finds a repeated top-level key, escapes decoded; nested and string content do not count', () => {
    expect(duplicateTopLevelKey('{"y":0.1,"y":0.9}')).toBe('y');
    expect(duplicateTopLevelKey('{"y":0.1,"\\u0079":0.9}')).toBe('y');
    expect(duplicateTopLevelKey('{"y":0.1,"z":"\\"y\\": 2, \\"y\\""}')).toBeUndefined();
    expect(duplicateTopLevelKey('{"a":{"y":1,"y":2},"b":[{"y":1}],"y":3}')).toBeUndefined();
    expect(duplicateTopLevelKey('{"a": 1, "b": "x", "c": true}')).toBeUndefined();
    expect(duplicateTopLevelKey('{"__proto__":1,"__proto__":2}')).toBe('__proto__');
  });
  it('parseRows keeps the row unusable (NaN) and says why', () => {
    const problems: string[] = [];
    const rows = parseRows('{"y": 0.5}\n{"y":0.1,"y":0.9}\n', ['y'], problems);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.metrics.y).toBe(0.5);
    expect(rows[1]!.metrics.y).toBeNaN();
    expect(problems).toEqual(['stdout line 2: field "y" appears twice; the row is not used: {"y":0.1,"y":0.9}']);
  });
});

describe('duplicate keys end to end', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-dupkeys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('the row is counted as not used by the verdict', async () => {
    fs.writeFileSync(path.join(dir, 'x.mjs'), `process.stdin.resume(); process.stdin.on('end', () => { console.log('{"y": 0.5}'); console.log('{"y": 0.1, "y": 0.9}'); console.log('{"y": 0.6}'); });\n`);
    const f = path.join(dir, 'x.exp');
    fs.writeFileSync(f, `experiment "d" {\n  runner command\n  set command = "${process.execPath} x.mjs"\n  measure y\n  seeds 3\n  predict y > 0.2\n}\n`);
    const r = (await runFile(f, { cacheDir: path.join(dir, 'cache'), warn: () => {} })).experiments[0]!;
    expect(r.table.rows).toHaveLength(9);
    const v = r.verdicts[0]!;
    expect(v.n).toBe(6);
    expect(v.rows!.points[0]!.nan).toBe(3);
    expect(Object.values(r.table.extras).every((e) => (e.row_problems as string[])[0]!.includes('field "y" appears twice'))).toBe(true);
  });
});
