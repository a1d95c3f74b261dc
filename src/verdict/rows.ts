// Row selection for verdicts: `where` / `at` conditions, `for each` groups, sweep-point labels.
import type { Condition, Scalar, Value } from '../language/ast.ts';
import { column, type ResultRow } from '../results/types.ts';
import { formatValue } from '../util/format-value.ts';

/** Numeric equality: relative tolerance 1e-12, so 1e-3 written two ways still matches. */
export function numbersEqual(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

export function scalarValue(s: Scalar): Value {
  return s.value;
}

/** Does a row's value satisfy `op value`? Missing columns and mismatched types never match (except `!=`). */
export function valueMatches(rowValue: Value | undefined, op: Condition['op'], target: Value): boolean {
  if (rowValue === undefined) return false;
  if (typeof rowValue === 'number' && typeof target === 'number') {
    const eq = numbersEqual(rowValue, target);
    switch (op) {
      case '=':
        return eq;
      case '!=':
        return !eq;
      case '<':
        return rowValue < target && !eq;
      case '<=':
        return rowValue < target || eq;
      case '>':
        return rowValue > target && !eq;
      case '>=':
        return rowValue > target || eq;
    }
  }
  if (typeof rowValue === typeof target) {
    switch (op) {
      case '=':
        return rowValue === target;
      case '!=':
        return rowValue !== target;
      case '<':
        return rowValue < target;
      case '<=':
        return rowValue <= target;
      case '>':
        return rowValue > target;
      case '>=':
        return rowValue >= target;
    }
  }
  return op === '!=';
}

export function rowMatches(row: ResultRow, c: Condition): boolean {
  return valueMatches(column(row, c.param.name), c.op, scalarValue(c.value));
}

export { formatValue };

export function conditionText(c: Condition): string {
  const v = c.value;
  const text = v.kind === 'number' ? v.text : v.kind === 'string' ? JSON.stringify(v.value) : String(v.value);
  return `${c.param.name} ${c.op} ${text}`;
}

/** Group rows by the values of some columns, in order of first appearance. */
export function groupBy(
  rows: readonly ResultRow[],
  keyOf: (r: ResultRow) => Value[] | undefined,
): { key: Value[]; rows: ResultRow[] }[] {
  const map = new Map<string, { key: Value[]; rows: ResultRow[] }>();
  for (const r of rows) {
    const key = keyOf(r);
    if (key === undefined) continue;
    const id = JSON.stringify(key);
    let g = map.get(id);
    if (!g) {
      g = { key, rows: [] };
      map.set(id, g);
    }
    g.rows.push(r);
  }
  return [...map.values()];
}

/** Group by value of one column, merging numerically equal values; numeric keys sorted ascending. */
export function groupByColumn(rows: readonly ResultRow[], name: string): { value: Value; rows: ResultRow[] }[] {
  const groups: { value: Value; rows: ResultRow[] }[] = [];
  for (const r of rows) {
    const v = column(r, name);
    if (v === undefined) continue;
    let g = groups.find((x) =>
      typeof x.value === 'number' && typeof v === 'number' ? numbersEqual(x.value, v) : x.value === v,
    );
    if (!g) {
      g = { value: v, rows: [] };
      groups.push(g);
    }
    g.rows.push(r);
  }
  if (groups.every((g) => typeof g.value === 'number')) groups.sort((a, b) => (a.value as number) - (b.value as number));
  return groups;
}
