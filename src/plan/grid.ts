// The points of a sweep grid, one place for the planner and the checker.
import { record } from '../util/records.ts';
import type { Value } from '../language/ast.ts';

/** Every combination of the axes' values, row-major (the last axis varies fastest), lazily. */
export function* gridPoints(axes: readonly { name: string; values: readonly Value[] }[]): Generator<Record<string, Value>> {
  function* walk(i: number, values: Record<string, Value>): Generator<Record<string, Value>> {
    if (i === axes.length) {
      yield Object.assign(record<Value>(), values);
      return;
    }
    const axis = axes[i]!;
    for (const v of axis.values) yield* walk(i + 1, Object.assign(record<Value>(), values, { [axis.name]: v }));
  }
  yield* walk(0, record<Value>());
}
