// Each prediction form on hand-made tables with a known right verdict, plus selection, grouping,
// correction and the never-NaN guarantees of judgeExperiment.
import { describe, expect, it } from 'vitest';
import { judgeExperiment } from '../../src/verdict/judge.ts';
import { holmAdjust, pairedT, welchT } from '../../src/verdict/stats.ts';
import type { Verdict } from '../../src/verdict/types.ts';
import type { Prediction } from '../../src/language/ast.ts';
import { compare, cond, correlates, experiment, flat, konst, metric, peak, predict, sweepRows, table, trend, type RowSpec } from './helpers.ts';

const X = [1, 2, 3, 4, 5];
const SWEEP = [{ name: 'x', values: X }];
/** A fixed, mean-zero wobble so hand-made tables have variance but known means. */
const W = [-0.1, 0.05, 0.05];
const at3 = (means: number[], wobble = W) => means.map((m) => wobble.map((w) => m + w));
/** Different seeds at every sweep point (seed 100·point + s): nothing to pair, so the unpaired tests. */
const unpaired = (rows: RowSpec[]) => rows.map((r) => ({ ...r, seed: 100 * (r.point ?? 0) + (r.seed ?? 0) }));

function judge1(pred: Prediction, rows: RowSpec[], opts: Parameters<typeof experiment>[1] = { sweeps: SWEEP }): Verdict {
  const v = judgeExperiment(experiment([pred], opts), table(rows));
  expect(v).toHaveLength(1);
  assertNoNaN(v[0]!);
  return v[0]!;
}

function assertNoNaN(v: Verdict) {
  const nums = [v.p, v.pAdjusted, v.n, v.statistic?.value, v.statistic?.df, v.effect?.value, ...(v.effect?.ci ?? [])];
  for (const x of nums) if (x !== null && x !== undefined) expect(Number.isNaN(x)).toBe(false);
  expect(v.reason).not.toMatch(/NaN|undefined/);
}

describe('trend: Y increases / decreases with X (Spearman)', () => {
  it('confirmed on a rising table', () => {
    const v = judge1(predict(trend('y', 'increases', 'x')), unpaired(sweepRows('x', X, 'y', at3([1, 2, 3, 4, 5]))));
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('Spearman rho');
    expect(v.n).toBe(15);
    expect(v.effect!.value).toBeGreaterThan(0.9);
    expect(v.reason).toMatch(/rho = 0.9\d+ between x and y over 15 rows \(5 distinct values of x\)/);
  });
  it('refuted when it falls instead', () => {
    const v = judge1(predict(trend('y', 'increases', 'x')), unpaired(sweepRows('x', X, 'y', at3([5, 4, 3, 2, 1]))));
    expect(v.outcome).toBe('refuted');
    expect(v.reason).toMatch(/y decreases with x instead/);
  });
  it('`decreases` confirmed on the falling table', () => {
    expect(judge1(predict(trend('y', 'decreases', 'x')), sweepRows('x', X, 'y', at3([5, 4, 3, 2, 1]))).outcome).toBe('confirmed');
  });
  it('inconclusive on a flat, noisy table', () => {
    const v = judge1(predict(trend('y', 'increases', 'x')), sweepRows('x', X, 'y', at3([0, 0, 0, 0, 0], [-1, 0.4, 0.6]).map((r, i) => r.map((y) => y * (i % 2 ? 1 : -1)))));
    expect(v.outcome).toBe('inconclusive');
    expect(v.p).toBeGreaterThan(0.05);
  });
  it('inconclusive, untestable, with 2 rows', () => {
    const v = judge1(predict(trend('y', 'increases', 'x')), sweepRows('x', [1, 2], 'y', [[1], [2]]));
    expect(v.outcome).toBe('inconclusive');
    expect(v.p).toBeNull();
    expect(v.reason).toBe("only 2 rows; Spearman's rho needs ≥ 3");
  });
});

describe('peak: Y peaks in X', () => {
  it('confirmed with an interior maximum', () => {
    const v = judge1(predict(peak('y', 'x')), unpaired(sweepRows('x', X, 'y', at3([0, 1, 3, 1, 0]))));
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('Welch t (peak)');
    expect(v.effect!.name).toBe('peak minus end');
    expect(v.effect!.value).toBeCloseTo(3, 10); // peak 3 vs both ends 0
    // p = 2 sides × (k - 2) candidates × max of the two one-sided Welch p's (both ends identical here)
    const w = welchT(at3([3])[0]!, at3([0])[0]!);
    expect(v.p).toBeCloseTo(2 * 3 * w.pGreater, 12);
    expect(v.standardized!.name).toBe("Hedges' g");
  });
  it('refuted when an end is significantly above every interior value', () => {
    const v = judge1(predict(peak('y', 'x')), unpaired(sweepRows('x', X, 'y', at3([0, 1, 2, 3, 4]))));
    expect(v.outcome).toBe('refuted');
    expect(v.effect!.name).toBe('end minus best interior');
    expect(v.effect!.value).toBeCloseTo(1, 10); // x = 5 (4) minus x = 4 (3)
    expect(v.reason).toMatch(/highest at the end x = 5/);
  });
  it('inconclusive when the bump is within the noise', () => {
    const v = judge1(predict(peak('y', 'x')), unpaired(sweepRows('x', X, 'y', at3([0, 0.1, 0.2, 0.1, 0], [-1, 0.5, 0.5]))));
    expect(v.outcome).toBe('inconclusive');
  });
  it('untestable with 2 values of X, or 1 seed at a value', () => {
    expect(judge1(predict(peak('y', 'x')), sweepRows('x', [1, 2], 'y', at3([0, 1]))).reason).toBe('only 2 values of x; a peak needs ≥ 3');
    const rows = unpaired(sweepRows('x', X, 'y', at3([0, 1, 3, 1, 0])));
    const v = judge1(predict(peak('y', 'x')), rows.filter((r) => !(r.params!.x === 2 && r.seed! > 100)));
    expect(v.reason).toBe('only 1 row at x = 2; a Welch t needs ≥ 2 seeds per value of x');
  });
});

describe('flat: Y is flat in X within d (TOST)', () => {
  it('confirmed when every pair of means is within d', () => {
    const v = judge1(predict(flat('y', 'x', 1)), unpaired(sweepRows('x', X, 'y', at3([0, 0.1, 0, -0.1, 0.05]))));
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('TOST');
    expect(Math.abs(v.effect!.value)).toBeCloseTo(0.2, 10); // largest pairwise difference
  });
  it('refuted when some pair differs by clearly more than d', () => {
    const v = judge1(predict(flat('y', 'x', 1)), unpaired(sweepRows('x', X, 'y', at3([0, 0, 3, 0, 0]))));
    expect(v.outcome).toBe('refuted');
    expect(v.reason).toMatch(/exceeds ±1/);
  });
  it('inconclusive when the noise is too large to tell', () => {
    const v = judge1(predict(flat('y', 'x', 1)), unpaired(sweepRows('x', X, 'y', at3([0, 0.2, 0, 0.2, 0], [-2, 1, 1]))));
    expect(v.outcome).toBe('inconclusive');
  });
});

describe('compare: two metrics on the same rows (paired t)', () => {
  const rowsAB = (delta: number, n = 6) =>
    Array.from({ length: n }, (_, i): RowSpec => ({ seed: i, metrics: { a: 0.5 + 0.01 * i + delta + (i % 2 ? 0.01 : -0.01), b: 0.5 + 0.01 * i } }));
  it('confirmed, with the numbers of ttest_rel', () => {
    const rows = rowsAB(0.1);
    const v = judge1(predict(compare(metric('a'), '>', metric('b'))), rows, {});
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('paired t');
    const ref = pairedT(rows.map((r) => r.metrics.a!), rows.map((r) => r.metrics.b!));
    expect(v.statistic).toEqual({ name: 't', value: ref.t, df: 5 });
    expect(v.effect).toEqual({ name: 'mean diff', value: ref.estimate, ci: ref.ci });
    expect(v.p).toBeCloseTo(ref.pTwoSided, 14);
    expect(v.n).toBe(6);
  });
  it('refuted when B is significantly larger', () => {
    expect(judge1(predict(compare(metric('a'), '>', metric('b'))), rowsAB(-0.1), {}).outcome).toBe('refuted');
  });
  it('`<` confirmed on the same table', () => {
    expect(judge1(predict(compare(metric('a'), '<', metric('b'))), rowsAB(-0.1), {}).outcome).toBe('confirmed');
  });
  it('inconclusive when the difference is noise', () => {
    expect(judge1(predict(compare(metric('a'), '>', metric('b'))), rowsAB(0.001), {}).outcome).toBe('inconclusive');
  });
  it('untestable on a single seed, saying why', () => {
    const rows = [0, 1e-3].flatMap((wd, p) => [0, 1].map((s) => ({ point: p, seed: s, params: { weight_decay: wd }, metrics: { a: 1 + s, b: 0 } })));
    const v = judge1(
      predict(compare(metric('a'), '>', metric('b')), { where: [cond('weight_decay', '=', 0)] }),
      rows.filter((r) => !(r.point === 0 && r.seed === 1)),
      { sweeps: [{ name: 'weight_decay', values: [0, 1e-3] }] },
    );
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toBe('only 1 row at weight_decay = 0; a paired t needs ≥ 2 seeds');
    expect(v.p).toBeNull();
  });
  it('at every sweep point: confirmed only if confirmed at each (p = max)', () => {
    const rows = X.flatMap((x, p) => W.map((w, s) => ({ point: p, seed: s, params: { x }, metrics: { a: 1 + w * (s + 1), b: 0 } })));
    const v = judge1(predict(compare(metric('a'), '>', metric('b'))), rows);
    expect(v.outcome).toBe('confirmed');
    expect(v.n).toBe(15);
    expect(v.reason).toMatch(/at 5 sweep points/);
  });
  it('at every sweep point: refuted if refuted at one (p = min × points)', () => {
    const rows = X.flatMap((x, p) => W.map((w, s) => ({ point: p, seed: s, params: { x }, metrics: { a: (x === 4 ? -1 : 0.001) + w * (s + 1), b: 0 } })));
    const v = judge1(predict(compare(metric('a'), '>', metric('b'))), rows);
    const at4 = pairedT(W.map((w, s) => -1 + w * (s + 1)), [0, 0, 0]);
    expect(v.outcome).toBe('refuted');
    expect(v.p).toBeCloseTo(5 * at4.pTwoSided, 12);
    expect(v.reason).toMatch(/strongest against at x = 4/);
  });
});

describe('compare: metric against a constant (one-sample t)', () => {
  const rows = (m: number) => [-0.02, 0.01, 0.03, -0.01, -0.01].map((w, i) => ({ seed: i, metrics: { acc: m + w } }));
  it('confirmed / refuted / inconclusive', () => {
    expect(judge1(predict(compare(metric('acc'), '>', konst(0.2))), rows(0.5), {}).outcome).toBe('confirmed');
    expect(judge1(predict(compare(metric('acc'), '>', konst(0.2))), rows(0.1), {}).outcome).toBe('refuted');
    expect(judge1(predict(compare(metric('acc'), '>', konst(0.2))), rows(0.205), {}).outcome).toBe('inconclusive');
  });
  it('constant on the left is the same claim mirrored', () => {
    const v = judge1(predict(compare(konst(0.2), '<', metric('acc'))), rows(0.5), {});
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('one-sample t');
    expect(v.effect!.name).toBe('mean');
    expect(v.effect!.value).toBeCloseTo(0.5, 12);
  });
  it('`>=` is tested like `>`', () => {
    expect(judge1(predict(compare(metric('acc'), '>=', konst(0.2))), rows(0.5), {}).outcome).toBe('confirmed');
  });
  it('zero variance is untestable, not infinite t', () => {
    const v = judge1(predict(compare(metric('acc'), '>', konst(0.2))), [0, 1, 2].map((s) => ({ seed: s, metrics: { acc: 0.9 } })), {});
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toMatch(/all 3 values are equal .*needs some variance/);
  });
});

describe('compare: Y at X = a vs Y at X = b (Welch t)', () => {
  const rows = unpaired(sweepRows('x', X, 'y', at3([1, 2, 3, 4, 1.02], [-0.3, 0.1, 0.2])));
  const p = (op: '>' | '<', a: number, b: number) => predict(compare(metric('y', cond('x', '=', a)), op, metric('y', cond('x', '=', b))));
  it('confirmed, with the numbers of the Welch test', () => {
    const v = judge1(p('<', 1, 4), rows);
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('Welch t');
    const ref = welchT(at3([1], [-0.3, 0.1, 0.2])[0]!, at3([4], [-0.3, 0.1, 0.2])[0]!);
    expect(v.p).toBeCloseTo(ref.pTwoSided, 14);
    expect(v.statistic!.df).toBeCloseTo(ref.df, 12);
    expect(v.n).toBe(6);
  });
  it('refuted / inconclusive', () => {
    expect(judge1(p('>', 1, 4), rows).outcome).toBe('refuted');
    expect(judge1(p('>', 1, 5), rows).outcome).toBe('inconclusive');
  });
  it('no rows at a point is untestable, saying where', () => {
    expect(judge1(p('>', 1, 7), rows).reason).toBe('no rows at x = 7');
  });
});

describe('correlates', () => {
  const zs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const rows = (f: (z: number) => number) => zs.map((z, i) => ({ seed: i, metrics: { y: f(z), z } }));
  it('positively: confirmed / refuted / inconclusive', () => {
    expect(judge1(predict(correlates('y', 'z', 'positively')), rows((z) => z + (z % 3) * 0.5), {}).outcome).toBe('confirmed');
    expect(judge1(predict(correlates('y', 'z', 'positively')), rows((z) => -z), {}).outcome).toBe('refuted');
    expect(judge1(predict(correlates('y', 'z', 'positively')), rows((z) => [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8][z - 1]! * (z % 2 ? 1 : -1)), {}).outcome).toBe('inconclusive');
  });
  it('negatively: confirmed on a falling table', () => {
    expect(judge1(predict(correlates('y', 'z', 'negatively')), rows((z) => -z), {}).outcome).toBe('confirmed');
  });
  it('any direction: confirmed either way, never refuted', () => {
    expect(judge1(predict(correlates('y', 'z', 'any')), rows((z) => -z), {}).outcome).toBe('confirmed');
    expect(judge1(predict(correlates('y', 'z', 'any')), rows((z) => z), {}).outcome).toBe('confirmed');
  });
});

describe('deterministic runners: exact, n = 1', () => {
  it('a single value is compared exactly', () => {
    const v = judge1(predict(compare(metric('ratio'), '>', konst(2))), [{ metrics: { ratio: 3.2 } }], { seeded: false });
    expect(v.outcome).toBe('confirmed');
    expect(v.test).toBe('exact');
    expect(v.p).toBeNull();
    expect(v.n).toBe(1);
    expect(v.reason).toBe('exact, n = 1: ratio = 3.2 vs 2, so ratio > 2');
    expect(judge1(predict(compare(metric('ratio'), '>', konst(4))), [{ metrics: { ratio: 3.2 } }], { seeded: false }).outcome).toBe('refuted');
  });
  it('`>=` holds with equality exactly, `>` does not', () => {
    expect(judge1(predict(compare(metric('r'), '>=', konst(2))), [{ metrics: { r: 2 } }], { seeded: false }).outcome).toBe('confirmed');
    expect(judge1(predict(compare(metric('r'), '>', konst(2))), [{ metrics: { r: 2 } }], { seeded: false }).outcome).toBe('refuted');
  });
  it('many rows (numbers) are a sample as usual', () => {
    const rows = [2.5, 3, 3.5, 2.8, 3.1].map((r, i) => ({ keys: { number: i }, metrics: { ratio: r } }));
    const v = judge1(predict(compare(metric('ratio'), '>', konst(2))), rows, { seeded: false });
    expect(v.test).toBe('one-sample t');
    expect(v.outcome).toBe('confirmed');
  });
  it('peak and flat with one row per value are decided exactly', () => {
    const rows = (ys: number[]) => X.map((x, p) => ({ point: p, params: { x }, metrics: { y: ys[p]! } }));
    const det = { seeded: false, sweeps: SWEEP };
    expect(judge1(predict(peak('y', 'x')), rows([0, 1, 3, 1, 0]), det)).toMatchObject({ outcome: 'confirmed', test: 'exact', p: null });
    expect(judge1(predict(peak('y', 'x')), rows([0, 1, 3, 1, 4]), det).outcome).toBe('refuted');
    expect(judge1(predict(flat('y', 'x', 0.5)), rows([0, 0.1, 0.2, 0.1, 0]), det).outcome).toBe('confirmed');
    const v = judge1(predict(flat('y', 'x', 0.5)), rows([0, 0.1, 0.6, 0.1, 0]), det);
    expect(v.outcome).toBe('refuted');
    expect(v.reason).toBe('exact, n = 1 per value: y spans 0.6 over 5 values of x (≥ 0.5)');
  });
  it('trend on deterministic rows: Spearman with the exact permutation p', () => {
    const rows = X.map((x, p) => ({ point: p, params: { x }, metrics: { y: x * x } }));
    const v = judge1(predict(trend('y', 'increases', 'x')), rows, { seeded: false, sweeps: SWEEP });
    expect(v.outcome).toBe('confirmed');
    expect(v.p).toBeCloseTo(2 / 120, 12);
    expect(v.reason).toMatch(/exact permutation p = 0.017/);
  });
  it('for each animal: one exact verdict per group', () => {
    const rows = ['owls', 'eagles'].map((animal, p) => ({ point: p, params: { animal }, metrics: { number_ratio: p === 0 ? 3 : 1.5 } }));
    const v = judgeExperiment(
      experiment([predict(compare(metric('number_ratio'), '>', konst(2)), { forEach: ['animal'], text: 'predict number_ratio > 2 for each animal' })], {
        seeded: false,
        sweeps: [{ name: 'animal', values: ['owls', 'eagles'] }],
      }),
      table(rows),
    );
    expect(v.map((x) => [x.text, x.outcome, x.group])).toEqual([
      ['predict number_ratio > 2 for each animal [animal = owls]', 'confirmed', { animal: 'owls' }],
      ['predict number_ratio > 2 for each animal [animal = eagles]', 'refuted', { animal: 'eagles' }],
    ]);
  });
});

describe('selection, grouping and correction', () => {
  it('where: numeric equality tolerates rounding (0.1 * 0.01 matches 1e-3); strings exact', () => {
    const rows = [0.1 * 0.01, 0.01].flatMap((wd, p) => [0, 1, 2].map((s) => ({ point: p, seed: s, params: { wd, opt: 'adam' }, metrics: { a: p === 0 ? 1 + s : -1 - s } })));
    const v = judge1(predict(compare(metric('a'), '>', konst(0)), { where: [cond('wd', '=', 1e-3), cond('opt', '=', 'adam')] }), rows);
    expect(v.n).toBe(3);
    expect(v.effect!.value).toBeCloseTo(2, 12);
    const none = judge1(predict(compare(metric('a'), '>', konst(0)), { where: [cond('opt', '=', 'Adam')] }), rows);
    expect(none.reason).toBe('no rows match at opt = "Adam"');
  });
  it('where on a column that does not exist says so', () => {
    const v = judge1(predict(compare(metric('a'), '>', konst(0)), { where: [cond('lr', '<=', 0.1)] }), [{ metrics: { a: 1 } }], {});
    expect(v.reason).toBe("no rows match at lr <= 0.1 (no column named 'lr')");
  });
  it('a missing metric and an empty table are inconclusive with a reason', () => {
    const v = judge1(predict(compare(metric('nope'), '>', konst(0))), [{ metrics: { a: 1 } }, { metrics: { a: 2 } }], {});
    expect(v.outcome).toBe('inconclusive');
    expect(v.reason).toBe("metric 'nope' is missing from the rows (columns: a)");
    expect(judge1(predict(trend('y', 'increases', 'x')), []).reason).toBe('the result table has no rows');
  });
  it('Holm across predictions: adjusted p and outcome decided on it', () => {
    // Three one-sample predictions with raw p ≈ 0.001, 0.03, 0.04.
    const mk = (name: string, shift: number) => [-0.02, 0.01, 0.03, -0.01, -0.01].map((w) => w + shift);
    const cols = { a: mk('a', 0.06), b: mk('b', 0.03), c: mk('c', 0.027) };
    const rows = [0, 1, 2, 3, 4].map((i) => ({ seed: i, metrics: { a: cols.a[i]!, b: cols.b[i]!, c: cols.c[i]! } }));
    const preds = ['a', 'b', 'c'].map((m) => predict(compare(metric(m), '>', konst(0))));
    const holm = judgeExperiment(experiment(preds, { correction: 'holm' }), table(rows));
    const raw = holm.map((v) => v.p!);
    expect(raw[1]).toBeLessThan(0.05);
    expect(holm.map((v) => v.pAdjusted)).toEqual(holmAdjust(raw));
    expect(holm[1]!.pAdjusted).toBeGreaterThan(0.05);
    expect(holm[1]!.outcome).toBe('inconclusive');
    expect(holm[1]!.reason).toMatch(/Holm-adjusted p = 0.0\d+ > alpha = 0.05/);
    const none = judgeExperiment(experiment(preds, { correction: 'none' }), table(rows));
    expect(none[1]!.outcome).toBe('confirmed');
    expect(none.map((v) => v.pAdjusted)).toEqual(raw);
    const bonf = judgeExperiment(experiment(preds, { correction: 'bonferroni', alpha: 0.01 }), table(rows));
    expect(bonf.map((v) => v.pAdjusted)).toEqual(raw.map((p) => Math.min(1, 3 * p)));
    expect(bonf[0]!.alpha).toBe(0.01);
  });
  it('untestable and exact verdicts are left out of the correction family', () => {
    const rows = [0, 1, 2].map((s) => ({ seed: s, metrics: { a: 1 + s } }));
    const v = judgeExperiment(experiment([predict(compare(metric('a'), '>', konst(0))), predict(compare(metric('zz'), '>', konst(0)))]), table(rows));
    expect(v[0]!.pAdjusted).toBe(v[0]!.p);
    expect(v[1]!.pAdjusted).toBeNull();
  });
  it('verdicts come in prediction order with their source lines', () => {
    const rows = [0, 1, 2].map((s) => ({ seed: s, metrics: { a: 1 + s, b: s } }));
    const v = judgeExperiment(
      experiment([predict(compare(metric('a'), '>', konst(0)), { line: 12 }), predict(compare(metric('a'), '>', metric('b')), { line: 13 })]),
      table(rows),
    );
    expect(v.map((x) => x.line)).toEqual([12, 13]);
  });
});
