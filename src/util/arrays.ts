// Array helpers safe for any length. `a.push(...b)` and `Math.max(...b)` pass every element as a
// call argument, which overflows the stack somewhere past ~100,000 elements (a run may print
// 200,000 rows); these loop instead.

/** Append every element of `items` to `target`; returns `target`. */
export function appendAll<T>(target: T[], items: readonly T[]): T[] {
  for (const x of items) target.push(x);
  return target;
}

/** The largest of `xs` (-Infinity when empty, NaN if any is NaN), as Math.max would give. */
export function maxOf(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) {
    if (Number.isNaN(x)) return NaN;
    if (x > m) m = x;
  }
  return m;
}

/** The smallest of `xs` (Infinity when empty, NaN if any is NaN), as Math.min would give. */
export function minOf(xs: readonly number[]): number {
  let m = Infinity;
  for (const x of xs) {
    if (Number.isNaN(x)) return NaN;
    if (x < m) m = x;
  }
  return m;
}
