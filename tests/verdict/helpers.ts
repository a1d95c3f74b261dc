// Hand-built AST nodes and result tables for verdict tests (the parser is tested elsewhere).
import type {
  CompareOp,
  Condition,
  ConditionOp,
  Loc,
  NumberLit,
  Operand,
  Prediction,
  PredictionForm,
  Scalar,
  Value,
} from '../../src/language/ast.ts';
import type { CheckedExperiment } from '../../src/language/checked.ts';
import type { ResultRow, ResultTable } from '../../src/results/types.ts';

let nextLine = 1;
export function loc(line = nextLine++): Loc {
  return { file: 'test.exp', line, column: 3, endLine: line, endColumn: 40, offset: 0, endOffset: 1 };
}

const ident = (name: string) => ({ kind: 'ident' as const, name, loc: loc(0) });

export function num(value: number): NumberLit {
  return { kind: 'number', value, text: String(value), loc: loc(0) };
}

function scalar(v: Value): Scalar {
  if (typeof v === 'number') return num(v);
  if (typeof v === 'boolean') return { kind: 'bool', value: v, loc: loc(0) };
  return { kind: 'string', value: v, loc: loc(0) };
}

export function cond(param: string, op: ConditionOp, value: Value): Condition {
  return { param: ident(param), op, value: scalar(value), loc: loc(0) };
}

export function metric(name: string, ...at: Condition[]): Operand {
  return { kind: 'metric', metric: ident(name), at, loc: loc(0) };
}

export function konst(v: number): Operand {
  return { kind: 'const', value: num(v), loc: loc(0) };
}

export const trend = (m: string, direction: 'increases' | 'decreases', p: string): PredictionForm => ({
  kind: 'trend',
  metric: ident(m),
  direction,
  param: ident(p),
  loc: loc(0),
});
export const peak = (m: string, p: string): PredictionForm => ({ kind: 'peak', metric: ident(m), param: ident(p), loc: loc(0) });
export const flat = (m: string, p: string, d: number): PredictionForm => ({
  kind: 'flat',
  metric: ident(m),
  param: ident(p),
  tolerance: num(d),
  loc: loc(0),
});
export const compare = (left: Operand, op: CompareOp, right: Operand): PredictionForm => ({ kind: 'compare', left, op, right, loc: loc(0) });
export const correlates = (m: string, other: string, direction: 'positively' | 'negatively' | 'any' = 'any'): PredictionForm => ({
  kind: 'correlates',
  metric: ident(m),
  other: ident(other),
  direction,
  loc: loc(0),
});

export function predict(form: PredictionForm, opts: { where?: Condition[]; forEach?: string[]; text?: string; line?: number } = {}): Prediction {
  const text = opts.text ?? `predict ${form.kind}`;
  return {
    kind: 'predict',
    text,
    claim: text,
    form,
    where: opts.where ?? [],
    forEach: (opts.forEach ?? []).map(ident),
    loc: loc(opts.line),
  };
}

export function experiment(
  predictions: Prediction[],
  opts: { sweeps?: { name: string; values: Value[] }[]; seeded?: boolean; alpha?: number; correction?: 'holm' | 'bonferroni' | 'none' } = {},
): CheckedExperiment {
  return {
    file: 'test.exp',
    name: 'test',
    ast: {} as CheckedExperiment['ast'],
    runner: { name: 'fake', version: '1', description: '', params: [], metrics: [], seeded: opts.seeded ?? true },
    params: {},
    explicit: [],
    sweeps: opts.sweeps ?? [],
    seeds: 1,
    alpha: opts.alpha ?? 0.05,
    correction: opts.correction ?? 'holm',
    measures: [],
    predictions,
  extendsChain: [],
  };
}

export interface RowSpec {
  point?: number;
  seed?: number;
  params?: Record<string, Value>;
  metrics: Record<string, number>;
  keys?: Record<string, Value>;
}

export function table(rows: RowSpec[]): ResultTable {
  return {
    experiment: 'test',
    file: 'test.exp',
    rows: rows.map(
      (r, i): ResultRow => ({
        runId: `run${i}`,
        point: r.point ?? 0,
        seed: r.seed ?? i,
        params: r.params ?? {},
        metrics: r.metrics,
        keys: r.keys ?? {},
        backend: 'test',
        wallMs: 0,
        cached: false,
      }),
    ),
    failed: [],
    extras: {},
  };
}

/** Rows for a one-parameter sweep: values[p][s] is the metric at sweep point p, seed s. */
export function sweepRows(param: string, xs: Value[], metricName: string, values: number[][], extra?: (p: number, s: number) => Record<string, number>): RowSpec[] {
  const out: RowSpec[] = [];
  xs.forEach((x, p) => {
    values[p]!.forEach((v, s) => out.push({ point: p, seed: s, params: { [param]: x }, metrics: { [metricName]: v, ...(extra ? extra(p, s) : {}) } }));
  });
  return out;
}
