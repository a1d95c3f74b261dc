// The error a file that does not compile raises once it leaves the language stage: it carries the
// diagnostics, and its message is their printed form (file:line:col, the line, a caret).
import { formatDiagnostics, type CompileResult } from './compile.ts';

/** The file does not compile; carries the diagnostics. */
export class LanguageError extends Error {
  constructor(readonly compile: CompileResult) {
    super(formatDiagnostics(compile));
    this.name = 'LanguageError';
  }
}
