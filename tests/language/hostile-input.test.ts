// Issue 13 (8, 9, 10, 11): hostile or odd input files give diagnostics, never a stack trace, a hang,
// unbounded memory or a foreign file's contents echoed back.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { escapeControl, formatDiagnostic } from '../../src/language/diagnostics.ts';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-hostile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BODY = `  runner superposition\n  set steps = 10\n  predict transfer_ratio > 0.2\n`;
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const errors = (f: string) => compileFile(f).diagnostics.filter((d) => d.severity === 'error');

describe('extends', () => {
  it('refuses anything but .exp files, without reading them', () => {
    process.env.SUBLAB_SECRET_FOR_TEST = 'hunter2-secret';
    for (const target of ['/proc/self/environ', '/dev/zero', '/etc/passwd']) {
      const f = write('e.exp', `experiment "e" extends "${target}" {\n${BODY}}\n`);
      const t0 = Date.now();
      const r = compileFile(f);
      expect(Date.now() - t0).toBeLessThan(2000);
      const text = formatDiagnostics(r);
      expect(text).toContain('only .exp files can be extended');
      expect(text).not.toContain('hunter2-secret');
      expect(text).not.toContain('root:');
    }
  });

  it('reads no main file that is not named *.exp, so nothing of it is echoed', () => {
    process.env.SUBLAB_SECRET_FOR_TEST = 'hunter2-secret';
    const text = formatDiagnostics(compileFile('/proc/self/environ'));
    expect(text).toContain('not an .exp file');
    expect(text).not.toContain('hunter2-secret');
    const link = path.join(dir, 'environ.exp');
    fs.symlinkSync('/proc/self/environ', link);
    const viaLink = formatDiagnostics(compileFile(link));
    expect(viaLink).toContain('a link to a file not named *.exp');
    expect(viaLink).not.toContain('hunter2-secret');
  });

  it('refuses a .exp that is not a regular file (a FIFO would hang) or is too large', () => {
    const fifo = path.join(dir, 'pipe.exp');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return;
    }
    const f = write('f.exp', `experiment "f" extends "pipe.exp" {\n${BODY}}\n`);
    expect(errors(f)[0]!.message).toContain('not a regular file');
    expect(errors(fifo)[0]!.message).toContain('not a regular file');
    const big = write('big.exp', '// ' + 'x'.repeat(5 * 1024 * 1024) + '\n');
    expect(errors(big)[0]!.message).toMatch(/more than the \d+ an \.exp file may have/);
  });

  it('a chain of 4,000 extends stops at the depth limit with a diagnostic', () => {
    const n = 4000;
    for (let i = 1; i < n; i++) write(`c${i}.exp`, `experiment "c${i}" extends "c${i + 1}.exp" {\n  set steps = 10\n}\n`);
    write(`c${n}.exp`, `experiment "c${n}" {\n${BODY}}\n`);
    const f = write('c0.exp', `experiment "c0" extends "c1.exp" {\n  set steps = 10\n}\n`);
    const r = compileFile(f);
    expect(formatDiagnostics(r)).toContain('extends chain longer than 64 files');
  });
});

describe('terminal and encodings', () => {
  it('escapes ESC / OSC sequences in diagnostics and keeps carets aligned', () => {
    const f = write('esc.exp', `experiment "x" {\n  runner superposition\n  set \x1b]0;pwned\x07steps = 1\n}\n`);
    const text = formatDiagnostics(compileFile(f));
    expect(text).not.toMatch(/[\x1b\x07]/);
    expect(escapeControl('a\x1b[31mb\u202e')).toBe('a\\x1b[31mb\\u202e');
    const d = formatDiagnostic({ severity: 'error', file: 'f', line: 1, column: 3, length: 1, message: 'm\x1b', code: 'parse' }, '\x1bab');
    expect(d.split('\n')).toEqual(['f:1:3: error: m\\x1b', '   1 | \ufffdab', '     |   ^']);
  });

  it('accepts a UTF-8 BOM', () => {
    const f = write('bom.exp', `\ufeffexperiment "bom" {\n${BODY}}\n`);
    expect(errors(f)).toEqual([]);
    expect(compileFile(f).experiments).toHaveLength(1);
  });

  it('shows the source line for CR-only files', () => {
    const f = write('cr.exp', `experiment "cr" {\r  runner superposition\r  set stepz = 10\r  predict transfer_ratio > 0.2\r}\r`);
    const text = formatDiagnostics(compileFile(f));
    expect(text).toMatch(/cr\.exp:3:\d+: error: unknown parameter "stepz"/);
    expect(text).toContain('   3 |   set stepz = 10');
  });

  it('an empty file is an error, not a silent success', () => {
    for (const text of ['', '// only a comment\n']) expect(errors(write('empty.exp', text))[0]!.message).toContain('no experiment in this file');
  });
});
