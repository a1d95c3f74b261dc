// Short labels for predictions in test names and tables.

/** A prediction's text without its trailing `because "..."` rationale (kept in messages and JSON). */
export function withoutBecause(text: string): string {
  return text.replace(/\s+because\s+"(?:[^"\\]|\\.)*"\s*$/, '');
}
