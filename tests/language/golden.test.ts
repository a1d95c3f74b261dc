// Golden files: valid cases → AST snapshot (ast.json); invalid cases → formatted diagnostics
// (expected.txt). UPDATE_GOLDEN=1 rewrites them; in CI they must already exist and match.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../src/language/parse.ts';
import { compileFile, formatDiagnostics } from '../../src/language/compile.ts';
import type { CstNode, IToken } from 'chevrotain';
import { ExpLexer, allTokens } from '../../grammar/tokens.ts';
import { currentParser } from '../../grammar/parser.ts';

const root = join(import.meta.dirname, 'cases');
const update = process.env.UPDATE_GOLDEN === '1';

function cases(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(join(root, kind)).sort();
}

function golden(path: string, actual: string): void {
  if (update) {
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 and review it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

/** Compile input.exp with `extends` read from the case's own folder, paths shown relative to it. */
function compileCase(dir: string) {
  return compileFile('input.exp', { readFile: (p) => readFileSync(join(dir, p), 'utf8') });
}

describe('valid cases: AST snapshots, and the checker accepts them', () => {
  it('has a case for every grammar rule (every prediction form among them) and every token', () => {
    const rules = new Set<string>();
    const tokens = new Set<string>();
    const walk = (n: CstNode) => {
      rules.add(n.name);
      for (const children of Object.values(n.children)) {
        for (const c of children) {
          if ('tokenType' in c) tokens.add((c as IToken).tokenType.name);
          else walk(c as CstNode);
        }
      }
    };
    const parser = currentParser();
    for (const name of cases('valid')) {
      parser.input = ExpLexer.tokenize(readFileSync(join(root, 'valid', name, 'input.exp'), 'utf8')).tokens;
      walk(parser.file());
    }
    expect([...Object.keys(parser.getGAstProductions())].filter((r) => !rules.has(r))).toEqual([]);
    // Tokens a valid file holds: not the lexer's error token, comments and white space (the parser
    // never sees them) or the categories Name and Word (no token is of those types).
    const unseen = allTokens.map((t) => t.name).filter((t) => !tokens.has(t) && !['UnterminatedString', 'Comment', 'WhiteSpace', 'Name', 'Word'].includes(t));
    expect(unseen).toEqual([]);
  });
  for (const name of cases('valid')) {
    it(name, () => {
      const dir = join(root, 'valid', name);
      const text = readFileSync(join(dir, 'input.exp'), 'utf8');
      const { ast, diagnostics } = parseSource(text, 'input.exp');
      expect(diagnostics).toEqual([]);
      golden(join(dir, 'ast.json'), JSON.stringify(ast, null, 2) + '\n');
      const result = compileCase(dir);
      expect(formatDiagnostics(result)).toBe('');
      expect(result.experiments.length).toBe(ast.experiments.length);
    });
  }
});

describe('invalid cases: every diagnostic with its line, column and message', () => {
  it('has at least 25 malformed inputs', () => {
    expect(cases('invalid').length).toBeGreaterThanOrEqual(25);
  });
  for (const name of cases('invalid')) {
    it(name, () => {
      const dir = join(root, 'invalid', name);
      const result = compileCase(dir);
      expect(result.diagnostics.length).toBeGreaterThan(0);
      golden(join(dir, 'expected.txt'), formatDiagnostics(result) + '\n');
    });
  }
});
