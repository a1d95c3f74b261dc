// Diagnostic codes are one table (src/language/diagnostic-codes.ts). A code once given keeps its
// number and category: the pins below may grow, never change. Every diagnostic the goldens show
// carries a code of the table with the severity its category allows.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, diagnosticId, type DiagnosticCode } from '../../src/language/diagnostic-codes.ts';
import { compileFile } from '../../src/language/compile.ts';
import { languageDoc, languageDocPath } from '../../scripts/generate-reference.ts';

/** code: [number, category]. Add a line for a new code; never edit or remove one. */
const PINNED: Record<string, [number, string]> = {
  read: [1001, 'error'], 'not-exp': [1002, 'error'], lex: [1003, 'error'], parse: [1004, 'error'], 'empty-file': [1005, 'error'],
  internal: [1006, 'error'], 'too-many': [1007, 'either'],
  'empty-name': [2001, 'error'], 'duplicate-experiment': [2002, 'error'], 'bad-extends': [2003, 'error'], 'missing-file': [2004, 'error'],
  'bad-base': [2005, 'error'], 'missing-experiment': [2006, 'error'], 'ambiguous-extends': [2007, 'error'], 'extends-cycle': [2008, 'error'],
  'extends-too-deep': [2009, 'error'], 'duplicate-runner': [2010, 'error'], 'duplicate-option': [2011, 'error'], 'duplicate-set': [2012, 'error'],
  'duplicate-sweep': [2013, 'error'], 'set-and-swept': [2014, 'error'], 'unknown-correction': [2015, 'error'],
  'missing-runner': [3001, 'error'], 'unknown-runner': [3002, 'error'], 'bad-runner-module': [3003, 'error'], 'runner-not-loaded': [3004, 'error'],
  'runner-not-found': [3005, 'error'], 'runner-load': [3006, 'error'], 'runner-export': [3007, 'error'], 'runner-name-clash': [3008, 'error'],
  'unknown-parameter': [3009, 'error'], 'bad-value': [3010, 'error'], 'empty-sweep': [3011, 'error'], 'duplicate-value': [3012, 'warning'],
  'missing-parameter': [3013, 'error'], 'bad-combination': [3014, 'error'], 'bad-file-dependency': [3015, 'error'], 'bad-seeds': [3016, 'error'],
  'seeds-ignored': [3017, 'warning'], 'too-many-runs': [3018, 'error'], 'bad-seed': [3019, 'error'], 'bad-alpha': [3020, 'error'],
  'unknown-metric': [3021, 'error'], 'missing-measure': [3022, 'error'], 'program-key': [3023, 'warning'],
  'unmeasured-metric': [4001, 'error'], 'bad-at': [4002, 'error'], 'bad-condition': [4003, 'error'], 'empty-selection': [4004, 'error'],
  'not-swept': [4005, 'error'], 'not-numeric': [4006, 'error'], 'too-few-values': [4007, 'error'], 'bad-tolerance': [4008, 'error'],
  'self-correlation': [4009, 'error'], 'constant-comparison': [4010, 'error'], 'for-each-fixed': [4011, 'warning'], undecidable: [4012, 'warning'],
  'export-model': [5001, 'error'],
};

describe('diagnostic codes', () => {
  it('docs/language.md lists them, generated from the table (npm run gen:docs)', () => {
    const doc = readFileSync(languageDocPath, 'utf8');
    expect(doc).toBe(languageDoc(doc));
    expect(doc).toContain('| SL3009 | `unknown-parameter` | error |');
  });
  it('every pinned code keeps its number and category', () => {
    const table = Object.fromEntries(Object.entries(DIAGNOSTIC_CODES).map(([k, v]) => [k, [v.number, v.category]]));
    for (const [code, pin] of Object.entries(PINNED)) expect([code, table[code]]).toEqual([code, pin]);
  });
  it('every code of the table is pinned, and no two share a number', () => {
    expect(Object.keys(DIAGNOSTIC_CODES).filter((c) => !(c in PINNED))).toEqual([]);
    const numbers = Object.values(DIAGNOSTIC_CODES).map((v) => v.number);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(diagnosticId('undecidable')).toBe('SL4012');
  });
  it("every diagnostic of the invalid golden cases has a code of the table, with its category's severity", () => {
    const root = join(import.meta.dirname, 'cases', 'invalid');
    const seen = new Set<string>();
    for (const name of readdirSync(root)) {
      const dir = join(root, name);
      const r = compileFile('input.exp', { readFile: (p) => readFileSync(join(dir, p), 'utf8') });
      for (const d of r.diagnostics) {
        const info = DIAGNOSTIC_CODES[d.code as DiagnosticCode];
        expect(info, `${name}: ${d.code}`).toBeDefined();
        if (info.category !== 'either') expect([name, d.code, d.severity]).toEqual([name, d.code, info.category]);
        seen.add(d.code);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(20);
  });
});
