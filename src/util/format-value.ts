// A parameter value as text, everywhere one is shown (run tables, verdict texts, charts, reports,
// failure lines): exact, never rounded, since two sweep values such as 0.125 and 0.12 (or 0.1234
// and 0.1236) are different points; strings as they are, without quotes.
import type { Value } from '../language/ast.ts';

export function formatValue(v: Value): string {
  return String(v);
}
