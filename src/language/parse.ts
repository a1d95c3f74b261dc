// .exp text → tokens → CST → AST, collecting every lexer and parser error as a diagnostic.
import type { IToken } from 'chevrotain';
import { chevrotain } from '../../grammar/chevrotain.ts';
import { ExpLexer, StringLit, UnterminatedString } from '../../grammar/tokens.ts';
import { currentParser } from '../../grammar/parser.ts';
import type { FileCstNode } from '../../grammar/cst.d.ts';
import type { FileAst } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { buildFileAst } from './build-ast.ts';

function endOfText(text: string): { line: number; column: number } {
  const lines = text.split(/\r\n|\r|\n/);
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

export function parseSource(text: string, file: string): { ast: FileAst; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  try {
    const lexed = ExpLexer.tokenize(text);
    for (const e of lexed.errors) {
      const chars = text.slice(e.offset, e.offset + e.length);
      diagnostics.push({
        severity: 'error', file, line: e.line ?? 1, column: e.column ?? 1, length: Math.max(1, e.length), code: 'lex',
        message: `unexpected character${e.length > 1 ? 's' : ''} ${JSON.stringify(chars)}`,
      });
    }
    const unterminated = new WeakSet<IToken>();
    const tokens = lexed.tokens.map((t) => {
      if (t.tokenType !== UnterminatedString) return t;
      diagnostics.push({
        severity: 'error', file, line: t.startLine ?? 1, column: t.startColumn ?? 1, length: t.image.length, code: 'lex',
        message: 'unterminated string: expected a closing " before the end of the line',
      });
      // Parse it as a string so one missing quote gives one error, not a cascade.
      const fixed: IToken = { ...t, tokenType: StringLit, tokenTypeIdx: StringLit.tokenTypeIdx! };
      unterminated.add(fixed);
      return fixed;
    });
    const parser = currentParser();
    parser.input = tokens;
    const cst = parser.file() as FileCstNode;
    for (const e of parser.errors) {
      let t: IToken | undefined = e.token;
      let line = t?.startLine;
      let column = t?.startColumn;
      let length = t && t.tokenType !== chevrotain.EOF ? t.image.length : 1;
      if (!t || t.tokenType === chevrotain.EOF || !Number.isFinite(line) || !Number.isFinite(column)) {
        // At end of input: point just past the last real token (or the end of the text).
        t = (e as { previousToken?: IToken }).previousToken;
        if (t && Number.isFinite(t.endLine) && Number.isFinite(t.endColumn)) {
          line = t.endLine;
          column = (t.endColumn as number) + 1;
        } else {
          ({ line, column } = endOfText(text));
        }
        length = 1;
      }
      diagnostics.push({ severity: 'error', file, line: line as number, column: column as number, length: Math.max(1, length), message: e.message, code: 'parse' });
    }
    const ast = buildFileAst({ file, text, comments: lexed.groups.comments ?? [], unterminated, diagnostics }, cst);
    diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ast, diagnostics };
  } catch (err) {
    // The parser should never throw; if it does, the user still gets a located message, not a stack.
    diagnostics.push({ severity: 'error', file, line: 1, column: 1, length: 1, code: 'internal', message: `internal parser error: ${(err as Error).message}` });
    return { ast: { file, experiments: [] }, diagnostics };
  }
}
