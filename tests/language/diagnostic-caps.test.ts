// Issue 20 (7): a file of garbage gives the first 20 problems and a count, not thousands; a
// diagnostic on a 3 MB line echoes a window of it around the column, not the whole line.
import { describe, expect, it } from 'vitest';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import { formatDiagnostic } from '../../src/language/diagnostics.ts';
import { Rng } from '../../src/util/random.ts';

describe('diagnostic caps', () => {
  it('20 KB of binary garbage: at most 20 diagnostics and "N more"', () => {
    const rng = Rng.of(7, 'garbage');
    let src = '';
    for (let i = 0; i < 20_000; i++) src += String.fromCharCode(rng.nextU32() % 256);
    const r = compileFile('junk.exp', { source: src });
    expect(r.diagnostics.length).toBeLessThanOrEqual(21);
    const text = formatDiagnostics(r);
    expect(text).toMatch(/junk\.exp:\d+:\d+: error: \d+ more problems in this file \(the first 20 are shown\)/);
    expect(text.length).toBeLessThan(40_000);
  });

  it('a 3 MB line: the echoed line is a window around the column, marked with …', () => {
    const long = ' '.repeat(1_500_000) + 'set bogus_thing = 1' + ' '.repeat(1_500_000);
    const src = `experiment "x" {\n  runner superposition\n${long}\n}\n`;
    const r = compileFile('long.exp', { source: src });
    const text = formatDiagnostics(r);
    expect(text).toContain('unknown parameter "bogus_thing"');
    expect(text.length).toBeLessThan(2_000);
    const [, echo, caret] = text.split('\n');
    expect(echo).toMatch(/\| …\s+set bogus_thing = 1\s+…$/);
    // The caret stays under the name.
    expect(caret!.indexOf('^')).toBe(echo!.indexOf('bogus_thing'));
  });

  it('a short line is echoed whole, as before', () => {
    const d = { severity: 'error' as const, file: 'f.exp', line: 1, column: 5, length: 3, message: 'm', code: 'parse' as const };
    expect(formatDiagnostic(d, 'abc xyz def')).toBe('f.exp:1:5: error: m\n   1 | abc xyz def\n     |     ^^^');
  });
});
