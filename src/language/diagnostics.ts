// Errors are values with a location until the edge of the program prints them.
import type { Loc } from './ast.ts';
import { diagnosticId, type DiagnosticCode } from './diagnostic-codes.ts';

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  file: string;
  /** 1-based. */
  line: number;
  column: number;
  /** Length of the offending span on its line (for the caret underline); at least 1. */
  length: number;
  message: string;
  /** Stable machine-readable kind, e.g. "unknown-parameter", "parse": one of DIAGNOSTIC_CODES. */
  code: DiagnosticCode;
}

export function diagnosticAt(loc: Loc, message: string, code: DiagnosticCode, severity: Severity = 'error'): Diagnostic {
  const length = loc.line === loc.endLine ? Math.max(1, loc.endColumn - loc.column + 1) : 1;
  return { severity, file: loc.file, line: loc.line, column: loc.column, length, message, code };
}

// C0 controls but tab and newline, DEL, C1 controls, line/paragraph separators and bidi overrides:
// anything that could drive a terminal (ESC [ …, OSC …) or reorder what the reader sees.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text safe to print on a terminal: control characters shown as `\xNN` / `\uNNNN`, never emitted. */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** A source line for display: each control character becomes one U+FFFD, so carets stay aligned. */
function displayLine(s: string): string {
  return s.replace(CONTROL, '\ufffd');
}

/** Most characters of a source line echoed under a diagnostic (a window around the column). */
export const MAX_ECHO = 200;
/** Most diagnostics kept per file; the rest are counted in one more (garbage makes thousands). */
export const MAX_PER_FILE = 20;

/**
 * The first MAX_PER_FILE diagnostics of each file (in the given order), then, where more were
 * found, one saying how many more: at the first left out, an error if any left out is one.
 */
export function capPerFile(ds: readonly Diagnostic[], max = MAX_PER_FILE): Diagnostic[] {
  const seen = new Map<string, Diagnostic[]>();
  for (const d of ds) {
    const l = seen.get(d.file);
    if (l) l.push(d);
    else seen.set(d.file, [d]);
  }
  const out: Diagnostic[] = [];
  for (const [, list] of seen) {
    out.push(...list.slice(0, max));
    const rest = list.slice(max);
    if (rest.length === 0) continue;
    const first = rest[0]!;
    const severity = rest.some((d) => d.severity === 'error') ? 'error' : 'warning';
    out.push({ ...first, severity, length: 1, code: 'too-many', message: `${rest.length} more problems in this file (the first ${max} are shown)` });
  }
  return out;
}

/**
 * `path:line:col: error: message`, then the source line and a caret under the span:
 * the compiler format editors know how to jump to. A line longer than MAX_ECHO is shown as a
 * window around the column, cut ends marked with …
 */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  // A message may quote the source (a 3 MB token): cut it too.
  const message = d.message.length > 5 * MAX_ECHO ? `${d.message.slice(0, 5 * MAX_ECHO)}…` : d.message;
  const head = escapeControl(`${d.file}:${d.line}:${d.column}: ${d.severity}: ${message}`);
  if (source === undefined) return head;
  // CR-only (old Mac) files count lines by CR, as the lexer does.
  const raw = source.split(/\r\n|\r|\n/)[d.line - 1];
  if (raw === undefined) return head;
  let lineText = displayLine(raw);
  let column = d.column;
  if (lineText.length > MAX_ECHO) {
    const start = Math.max(0, Math.min(d.column - 1 - MAX_ECHO / 2, lineText.length - MAX_ECHO));
    const end = start + MAX_ECHO;
    lineText = `${start > 0 ? '…' : ''}${lineText.slice(start, end)}${end < lineText.length ? '…' : ''}`;
    column = d.column - start + (start > 0 ? 1 : 0);
  }
  const gutter = `${String(d.line).padStart(4)} | `;
  const pad = ' '.repeat(gutter.length - 2) + '| ';
  const caretPad = lineText.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  const span = Math.max(1, Math.min(d.length, lineText.length - column + 1));
  return `${head}\n${gutter}${lineText}\n${pad}${caretPad}${'^'.repeat(span)}`;
}

/** A diagnostic as `--json` prints it: its code and the code's number (SL####) with the rest. */
export function diagnosticJson(d: Diagnostic): Diagnostic & { id: string } {
  return { severity: d.severity, code: d.code, id: diagnosticId(d.code), file: d.file, line: d.line, column: d.column, length: d.length, message: d.message };
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
