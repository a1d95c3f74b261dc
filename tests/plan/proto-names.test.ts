// Issue 20 (5): parameters and columns named like Object.prototype's properties (constructor,
// toString, valueOf, hasOwnProperty, __proto__) are ordinary names: checked, planned, hashed into
// run ids, carried by rows and judged like any other.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { runFile } from '../../src/exec/run-file.ts';

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

function checked(source: string) {
  const r = compileFile('t.exp', { source });
  expect(formatDiagnostics(r)).toBe('');
  return r.experiments[0]!;
}
const cmd = (body: string) => `experiment "p" {\n  runner command\n  set command = "node x.mjs"\n${body}\n  measure acc\n}\n`;

describe('Object.prototype names as parameters', () => {
  for (const name of NAMES) {
    it(`sweep ${name} in [1, 2, 3] plans 3 points with ids of their own; set ${name} = 2 is kept`, () => {
      const plain = planExperiment(checked(cmd('')));
      const swept = planExperiment(checked(cmd(`  sweep ${name} in [1, 2, 3]`)));
      expect(swept.points.map((p) => p.values[name])).toEqual([1, 2, 3]);
      expect(swept.runs.map((r) => r.params[name])).toEqual([1, 2, 3]);
      expect(new Set([...swept.runs.map((r) => r.id), plain.runs[0]!.id]).size).toBe(4);
      const set = planExperiment(checked(cmd(`  set ${name} = 2`)));
      expect(Object.hasOwn(set.runs[0]!.params, name)).toBe(true);
      expect(set.runs[0]!.params[name]).toBe(2);
      expect(set.runs[0]!.id).not.toBe(plain.runs[0]!.id);
      // An override of the swept name collapses its axis to one point.
      const over = planExperiment(checked(cmd(`  sweep ${name} in [1, 2, 3]`)), { overrides: { [name]: '3' } });
      expect(over.points).toHaveLength(1);
      expect(over.runs[0]!.params[name]).toBe(3);
      const none = planExperiment(checked(cmd(`  sweep ${name} in [1, 2, 3]`)), { overrides: {} });
      expect(none.points).toHaveLength(3);
    });
  }
});

describe('Object.prototype names end to end', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-proto-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('a swept "constructor" and a metric "valueOf" are judged as columns', async () => {
    fs.writeFileSync(path.join(dir, 'x.mjs'), `let s=''; process.stdin.on('data',(d)=>(s+=d)); process.stdin.on('end',()=>{ const p=JSON.parse(s); console.log(JSON.stringify({ valueOf: p.constructor * 0.1 + p.seed * 0.001, toString: 'k' })); });\n`);
    const f = path.join(dir, 'x.exp');
    fs.writeFileSync(f, `experiment "p" {\n  runner command\n  set command = "${process.execPath} x.mjs"\n  sweep constructor in [1, 2, 3]\n  seeds 3\n  measure valueOf\n  predict valueOf increases with constructor\n}\n`);
    const r = (await runFile(f, { cacheDir: path.join(dir, 'cache'), warn: () => {} })).experiments[0]!;
    expect(r.table.failed).toEqual([]);
    expect(r.table.rows).toHaveLength(9);
    expect(r.verdicts[0]!.outcome, r.verdicts[0]!.reason).toBe('confirmed');
  });
});
