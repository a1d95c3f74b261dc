// No function in src/ over 150 lines (the compiler's parse, scripts/function-size.ts), except the
// ones the allow-list names while they are being split; a listed one that got short must leave it.
import { describe, expect, it } from 'vitest';
import { allowList, keyOf, longFunctions, MAX_FUNCTION_LINES } from '../../scripts/function-size.ts';

describe('function size', () => {
  const long = longFunctions();
  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines, but the allow-listed`, () => {
    const allowed = new Set(allowList());
    expect(long.filter((f) => !allowed.has(keyOf(f))).map((f) => `${f.file}:${f.line}: ${f.name}: ${f.lines} lines`)).toEqual([]);
  });
  it('every allow-listed function is still over the limit (else remove it from the list)', () => {
    const keys = new Set(long.map(keyOf));
    expect(allowList().filter((k) => !keys.has(k))).toEqual([]);
  });
  it('finds a long function when there is one', () => {
    expect(longFunctions(undefined, 100).length).toBeGreaterThan(long.length);
  });
});
