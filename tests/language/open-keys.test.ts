// Issue 20 (6): a command program's string/boolean columns are key columns usable in `where` and
// `for each`, as examples/command/README.md says: `sublab check` accepts them (a misspelt
// parameter is still pointed out), and the verdict uses them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { runFile } from '../../src/exec/run-file.ts';

const src = (pred: string) => `experiment "k" {\n  runner command\n  set command = "node x.mjs"\n  sweep width in [1, 2]\n  measure bias\n  ${pred}\n}\n`;
const diags = (source: string) => formatDiagnostics(compileFile('t.exp', { source }));

describe('key columns of an open runner in the checker', () => {
  it('accepts a program column in where and for each', () => {
    expect(diags(src('predict bias > 0 where layer = "mlp"'))).toBe('');
    expect(diags(src('predict bias > 0 for each layer'))).toBe('');
    expect(diags(src('predict bias increases with width for each layer where trained = true'))).toBe('');
  });
  it('a name close to a parameter is still pointed out (a warning), a metric in where is still an error', () => {
    expect(diags(src('predict bias > 0 where widht = 2'))).toMatch(/warning.*"widht".*did you mean.*width/);
    expect(diags(src('predict bias > 0 where bias = 2'))).toMatch(/error.*"bias" is a metric/);
  });
  it('a closed runner keeps refusing unknown names', () => {
    expect(formatDiagnostics(compileFile('t.exp', { source: 'experiment "c" {\n  runner superposition\n  predict transfer_ratio > 0 where layer = "mlp"\n}\n' }))).toMatch(/unknown parameter "layer"/);
  });
});

describe('key columns end to end', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('where and for each on a program column select and group its rows', async () => {
    fs.writeFileSync(path.join(dir, 'x.mjs'), `let s=''; process.stdin.on('data',(d)=>(s+=d)); process.stdin.on('end',()=>{ const p=JSON.parse(s); for (const layer of ['mlp','attn']) console.log(JSON.stringify({ layer, bias: (layer === 'mlp' ? 1 : -1) * (0.5 + p.seed / 100) })); });\n`);
    const f = path.join(dir, 'x.exp');
    fs.writeFileSync(f, `experiment "k" {\n  runner command\n  set command = "${process.execPath} x.mjs"\n  seeds 4\n  measure bias\n  predict bias > 0 where layer = "mlp"\n  predict bias < 0 where layer = "attn"\n  predict bias > 0 for each layer\n}\n`);
    expect(formatDiagnostics(compileFile(f))).toBe('');
    const r = (await runFile(f, { cacheDir: path.join(dir, 'cache'), warn: () => {} })).experiments[0]!;
    expect(r.verdicts.map((v) => v.outcome)).toEqual(['confirmed', 'confirmed', 'confirmed', 'refuted']);
  });
});
