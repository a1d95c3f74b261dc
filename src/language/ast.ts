// The typed AST of .exp files. Built from the Chevrotain CST by src/language/build-ast.ts.
// Every node carries its source location so diagnostics, verdicts and Vitest failures can point at it.

export interface Loc {
  file: string;
  /** 1-based line and column of the first character. */
  line: number;
  column: number;
  /** 1-based line and column of the last character (inclusive). */
  endLine: number;
  endColumn: number;
  /** 0-based character offsets [offset, endOffset) into the source text. */
  offset: number;
  endOffset: number;
}

export interface Node {
  loc: Loc;
}

export interface Ident extends Node {
  kind: 'ident';
  name: string;
}

export interface NumberLit extends Node {
  kind: 'number';
  value: number;
  /** Source spelling, e.g. "3e-4". */
  text: string;
}

export interface StringLit extends Node {
  kind: 'string';
  value: string;
}

export interface BoolLit extends Node {
  kind: 'bool';
  value: boolean;
}

/** A bare identifier used as a value, e.g. `set dataset = mnist`. */
export interface SymbolLit extends Node {
  kind: 'symbol';
  value: string;
}

export interface ListLit extends Node {
  kind: 'list';
  items: Scalar[];
}

export type Scalar = NumberLit | StringLit | BoolLit | SymbolLit;
export type Literal = Scalar | ListLit;

/** A parameter or metric value once the source spelling is gone. */
export type Value = number | string | boolean;

export interface FileAst {
  file: string;
  experiments: ExperimentAst[];
}

export interface ExperimentAst extends Node {
  kind: 'experiment';
  name: StringLit;
  extends?: StringLit;
  /** `extends "file.exp" :: "name"`: which experiment of a file holding several. */
  extendsName?: StringLit;
  runner?: RunnerStmt;
  sets: SetStmt[];
  sweeps: SweepStmt[];
  seeds?: SeedsStmt;
  measures: MeasureStmt[];
  alpha?: AlphaStmt;
  correction?: CorrectionStmt;
  predictions: Prediction[];
}

/** Exactly one of `name` and `module` is set. */
export interface RunnerStmt extends Node {
  kind: 'runner';
  /** A built-in runner: `runner mlp_distill`. */
  name?: Ident;
  /** The user's own runner, by the path of its module relative to this file: `runner "./runners/toy.ts"`. */
  module?: StringLit;
}

export interface SetStmt extends Node {
  kind: 'set';
  name: Ident;
  value: Literal;
}

export interface SweepStmt extends Node {
  kind: 'sweep';
  name: Ident;
  values: ListLit;
}

export interface SeedsStmt extends Node {
  kind: 'seeds';
  count: NumberLit;
}

/** `measure a, b, c`: restricts which metrics are tabulated and reported (all by default). */
export interface MeasureStmt extends Node {
  kind: 'measure';
  metrics: Ident[];
}

export interface AlphaStmt extends Node {
  kind: 'alpha';
  value: NumberLit;
}

export type CorrectionMethod = 'holm' | 'bonferroni' | 'none';

export interface CorrectionStmt extends Node {
  kind: 'correction';
  method: CorrectionMethod;
}

export type CompareOp = '>' | '<' | '>=' | '<=';
export type ConditionOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** `param op value` in `where` and `at` clauses. */
export interface Condition extends Node {
  param: Ident;
  op: ConditionOp;
  value: Scalar;
}

/** One side of a comparison: a metric (optionally at a sweep point) or a constant. */
export type Operand = MetricOperand | ConstOperand;

export interface MetricOperand extends Node {
  kind: 'metric';
  metric: Ident;
  /** `Y at X = a [and Z = b]` */
  at: Condition[];
}

export interface ConstOperand extends Node {
  kind: 'const';
  value: NumberLit;
}

export type PredictionForm = TrendForm | PeakForm | FlatForm | CompareForm | CorrelationForm;

/** `Y increases with X` / `Y decreases with X` */
export interface TrendForm extends Node {
  kind: 'trend';
  metric: Ident;
  direction: 'increases' | 'decreases';
  param: Ident;
}

/** `Y peaks in X` */
export interface PeakForm extends Node {
  kind: 'peak';
  metric: Ident;
  param: Ident;
}

/** `Y is flat in X within d` */
export interface FlatForm extends Node {
  kind: 'flat';
  metric: Ident;
  param: Ident;
  tolerance: NumberLit;
}

/** `A > B`, `A < 0.2`, `Y at X = a > Y at X = b` */
export interface CompareForm extends Node {
  kind: 'compare';
  left: Operand;
  op: CompareOp;
  right: Operand;
}

/** `Y correlates [positively|negatively] with Z` */
export interface CorrelationForm extends Node {
  kind: 'correlates';
  metric: Ident;
  other: Ident;
  direction: 'positively' | 'negatively' | 'any';
}

export interface Prediction extends Node {
  kind: 'predict';
  /** The prediction's source text from `predict` through its last clause, whitespace collapsed. */
  text: string;
  /** `text` up to its `because` clause: the claim alone, for test names and tables. */
  claim: string;
  form: PredictionForm;
  /** `where A = 1 and B <= 2` (conjunction); empty when absent. */
  where: Condition[];
  /** `for each X [, Y]`: one verdict per distinct value combination. */
  forEach: Ident[];
  because?: StringLit;
}
