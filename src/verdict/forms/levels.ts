// Peak and flat compare means per value of X: the values (levels), their rows, and, when the
// rows share seeds across every level, the seed blocks that let each comparison be paired.
import type { FlatForm, PeakForm, Value } from '../../language/ast.ts';
import type { ResultRow } from '../../results/types.ts';
import { studentTQuantile } from '../distributions.ts';
import { formatValue, groupByColumn } from '../rows.ts';
import { attempt, pairedT, Untestable, welchT, type TTestResult } from '../stats.ts';
import type { TestName } from '../types.ts';
import { at, completeBlocks, meanOf, missingColumn, num, rowsWord, seedsWord, untestable, usability, type Ctx, type Fixed } from '../common.ts';

export interface Level {
  value: Value;
  rows: ResultRow[];
  values: number[];
}

export function levelsOf(rows: readonly ResultRow[], x: string, y: string): Level[] {
  const out: Level[] = [];
  for (const g of groupByColumn(rows, x)) {
    const ok = g.rows.filter((r) => usability(r, [y]) === 'ok');
    if (ok.length) out.push({ value: g.value, rows: ok, values: ok.map((r) => num(r, y)) });
  }
  return out;
}

/** The levels of X, or untestable when fewer than the form's `min` have usable rows (`noun`: its words). */
export function checkLevels(f: PeakForm | FlatForm, rows: readonly ResultRow[], ctx: Ctx, test: TestName, need: { min: number; noun: string }): Level[] | Fixed {
  const x = f.param.name;
  const y = f.metric.name;
  const miss = missingColumn(rows, x, 'column') ?? missingColumn(rows, y, 'metric');
  if (miss) return untestable(test, miss + at(ctx.scope));
  const lv = levelsOf(rows, x, y);
  if (lv.length < need.min) {
    return untestable(test, `only ${lv.length} value${lv.length === 1 ? '' : 's'} of ${x}${at(ctx.scope)}; ${need.noun} needs ≥ ${need.min}`, lv.reduce((a, l) => a + l.values.length, 0));
  }
  return lv;
}

export function allSingle(lv: Level[]): boolean {
  return lv.every((l) => l.values.length === 1);
}

export function tooFew(lv: Level[], x: string, ctx: Ctx, test: TestName): Fixed | null {
  const few = lv.find((l) => l.values.length < 2);
  if (!few) return null;
  return untestable(test, `only ${rowsWord(few.values.length)} at ${x} = ${formatValue(few.value)}${at(ctx.scope).replace(' at ', ', ')}; a ${test.startsWith('paired') ? 'paired' : 'Welch'} t needs ≥ 2 ${seedsWord(ctx)} per value of ${x}`, lv.reduce((a, l) => a + l.values.length, 0));
}

/** Seed blocks with one row at every level (≥ 2 of them), or null: then the comparisons are Welch. */
export function seedBlocks(lv: Level[], x: string, ctx: Ctx): ResultRow[][] | null {
  if (!ctx.seeded) return null;
  const { blocks, duplicates } = completeBlocks(lv.map((l) => l.rows), [x]);
  return !duplicates && blocks.length >= 2 ? blocks : null;
}

/**
 * Level values as used by the comparisons: per level, every usable value (Welch) or the values of
 * the matched blocks in block order (paired).
 */
export function comparer(lv: Level[], y: string, blocks: ResultRow[][] | null) {
  const vals = blocks ? lv.map((_, j) => blocks.map((b) => num(b[j]!, y))) : lv.map((l) => l.values);
  const means = vals.map(meanOf);
  /** One-sided p for mean(i) > mean(j); p = 1 when untestable (no variance). */
  const greater = (i: number, j: number): { p: number; res: TTestResult | null } => {
    const res = attempt(() => (blocks ? pairedT(vals[i]!, vals[j]!) : welchT(vals[i]!, vals[j]!)));
    return res instanceof Untestable ? { p: 1, res: null } : { p: res.pGreater, res };
  };
  return { vals, means, greater, used: blocks ? blocks.flat() : lv.flatMap((l) => l.rows) };
}

/** (t_{1−level} + t_{0.8}) · se: the true difference beyond the null boundary found with 80% power. */
export function detectable(se: number, df: number, level: number): number {
  return (studentTQuantile(1 - level, df) + studentTQuantile(0.8, df)) * se;
}
