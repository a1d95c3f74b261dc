import type { CstNode, ICstVisitor, IToken } from "chevrotain";

export interface FileCstNode extends CstNode {
  name: "file";
  children: FileCstChildren;
}

export type FileCstChildren = {
  experiment?: ExperimentCstNode[];
};

export interface ExperimentCstNode extends CstNode {
  name: "experiment";
  children: ExperimentCstChildren;
}

export type ExperimentCstChildren = {
  Experiment: IToken[];
  name: IToken[];
  Extends?: IToken[];
  base?: IToken[];
  DoubleColon?: IToken[];
  baseName?: IToken[];
  LCurly: IToken[];
  statement?: StatementCstNode[];
  RCurly: IToken[];
};

export interface StatementCstNode extends CstNode {
  name: "statement";
  children: StatementCstChildren;
}

export type StatementCstChildren = {
  runnerStmt?: RunnerStmtCstNode[];
  setStmt?: SetStmtCstNode[];
  sweepStmt?: SweepStmtCstNode[];
  seedsStmt?: SeedsStmtCstNode[];
  measureStmt?: MeasureStmtCstNode[];
  alphaStmt?: AlphaStmtCstNode[];
  correctionStmt?: CorrectionStmtCstNode[];
  predictStmt?: PredictStmtCstNode[];
};

export interface RunnerStmtCstNode extends CstNode {
  name: "runnerStmt";
  children: RunnerStmtCstChildren;
}

export type RunnerStmtCstChildren = {
  Runner: IToken[];
  Word?: IToken[];
  module?: IToken[];
};

export interface SetStmtCstNode extends CstNode {
  name: "setStmt";
  children: SetStmtCstChildren;
}

export type SetStmtCstChildren = {
  Set: IToken[];
  Name: IToken[];
  Equals: IToken[];
  literal: LiteralCstNode[];
};

export interface SweepStmtCstNode extends CstNode {
  name: "sweepStmt";
  children: SweepStmtCstChildren;
}

export type SweepStmtCstChildren = {
  Sweep: IToken[];
  Name: IToken[];
  In: IToken[];
  list: ListCstNode[];
};

export interface SeedsStmtCstNode extends CstNode {
  name: "seedsStmt";
  children: SeedsStmtCstChildren;
}

export type SeedsStmtCstChildren = {
  Seeds: IToken[];
  NumberLit: IToken[];
};

export interface MeasureStmtCstNode extends CstNode {
  name: "measureStmt";
  children: MeasureStmtCstChildren;
}

export type MeasureStmtCstChildren = {
  Measure: IToken[];
  Word: IToken[];
  Comma?: IToken[];
};

export interface AlphaStmtCstNode extends CstNode {
  name: "alphaStmt";
  children: AlphaStmtCstChildren;
}

export type AlphaStmtCstChildren = {
  Alpha: IToken[];
  NumberLit: IToken[];
};

export interface CorrectionStmtCstNode extends CstNode {
  name: "correctionStmt";
  children: CorrectionStmtCstChildren;
}

export type CorrectionStmtCstChildren = {
  Correction: IToken[];
  Name: IToken[];
};

export interface PredictStmtCstNode extends CstNode {
  name: "predictStmt";
  children: PredictStmtCstChildren;
}

export type PredictStmtCstChildren = {
  Predict: IToken[];
  predictionForm: PredictionFormCstNode[];
  whereClause?: WhereClauseCstNode[];
  forEachClause?: ForEachClauseCstNode[];
  Because?: IToken[];
  StringLit?: IToken[];
};

export interface WhereClauseCstNode extends CstNode {
  name: "whereClause";
  children: WhereClauseCstChildren;
}

export type WhereClauseCstChildren = {
  Where: IToken[];
  condition: (ConditionCstNode)[];
  And?: IToken[];
};

export interface ForEachClauseCstNode extends CstNode {
  name: "forEachClause";
  children: ForEachClauseCstChildren;
}

export type ForEachClauseCstChildren = {
  For: IToken[];
  Each: IToken[];
  Word: IToken[];
  Comma?: IToken[];
};

export interface PredictionFormCstNode extends CstNode {
  name: "predictionForm";
  children: PredictionFormCstChildren;
}

export type PredictionFormCstChildren = {
  trendForm?: TrendFormCstNode[];
  peakForm?: PeakFormCstNode[];
  flatForm?: FlatFormCstNode[];
  correlationForm?: CorrelationFormCstNode[];
  compareForm?: CompareFormCstNode[];
};

export interface TrendDirectionCstNode extends CstNode {
  name: "trendDirection";
  children: TrendDirectionCstChildren;
}

export type TrendDirectionCstChildren = {
  Increases?: IToken[];
  Decreases?: IToken[];
};

export interface CorrelationDirectionCstNode extends CstNode {
  name: "correlationDirection";
  children: CorrelationDirectionCstChildren;
}

export type CorrelationDirectionCstChildren = {
  Positively?: IToken[];
  Negatively?: IToken[];
};

export interface OperandCstNode extends CstNode {
  name: "operand";
  children: OperandCstChildren;
}

export type OperandCstChildren = {
  NumberLit?: IToken[];
  metric?: IToken[];
  At?: IToken[];
  condition?: (ConditionCstNode)[];
  And?: IToken[];
};

export interface CompareOpCstNode extends CstNode {
  name: "compareOp";
  children: CompareOpCstChildren;
}

export type CompareOpCstChildren = {
  Greater?: IToken[];
  Less?: IToken[];
  GreaterEq?: IToken[];
  LessEq?: IToken[];
};

export interface ConditionCstNode extends CstNode {
  name: "condition";
  children: ConditionCstChildren;
}

export type ConditionCstChildren = {
  Name: IToken[];
  conditionOp: ConditionOpCstNode[];
  scalar: ScalarCstNode[];
};

export interface ConditionOpCstNode extends CstNode {
  name: "conditionOp";
  children: ConditionOpCstChildren;
}

export type ConditionOpCstChildren = {
  Equals?: IToken[];
  NotEq?: IToken[];
  Less?: IToken[];
  LessEq?: IToken[];
  Greater?: IToken[];
  GreaterEq?: IToken[];
};

export interface LiteralCstNode extends CstNode {
  name: "literal";
  children: LiteralCstChildren;
}

export type LiteralCstChildren = {
  list?: ListCstNode[];
  scalar?: ScalarCstNode[];
};

export interface ListCstNode extends CstNode {
  name: "list";
  children: ListCstChildren;
}

export type ListCstChildren = {
  LBracket: IToken[];
  scalar?: ScalarCstNode[];
  Comma?: IToken[];
  RBracket: IToken[];
};

export interface ScalarCstNode extends CstNode {
  name: "scalar";
  children: ScalarCstChildren;
}

export type ScalarCstChildren = {
  NumberLit?: IToken[];
  StringLit?: IToken[];
  Identifier?: IToken[];
};

export interface TrendFormCstNode extends CstNode {
  name: "trendForm";
  children: TrendFormCstChildren;
}

export type TrendFormCstChildren = {
  metric: IToken[];
  trendDirection: TrendDirectionCstNode[];
  With: IToken[];
  param: IToken[];
};

export interface PeakFormCstNode extends CstNode {
  name: "peakForm";
  children: PeakFormCstChildren;
}

export type PeakFormCstChildren = {
  metric: IToken[];
  Peaks: IToken[];
  In: IToken[];
  param: IToken[];
};

export interface FlatFormCstNode extends CstNode {
  name: "flatForm";
  children: FlatFormCstChildren;
}

export type FlatFormCstChildren = {
  metric: IToken[];
  Is: IToken[];
  Flat: IToken[];
  In: IToken[];
  param: IToken[];
  Within: IToken[];
  NumberLit: IToken[];
};

export interface CorrelationFormCstNode extends CstNode {
  name: "correlationForm";
  children: CorrelationFormCstChildren;
}

export type CorrelationFormCstChildren = {
  metric: IToken[];
  Correlates: IToken[];
  correlationDirection?: CorrelationDirectionCstNode[];
  With: IToken[];
  other: IToken[];
};

export interface CompareFormCstNode extends CstNode {
  name: "compareForm";
  children: CompareFormCstChildren;
}

export type CompareFormCstChildren = {
  left: OperandCstNode[];
  compareOp: CompareOpCstNode[];
  right: OperandCstNode[];
};

export interface ICstNodeVisitor<IN, OUT> extends ICstVisitor<IN, OUT> {
  file(children: FileCstChildren, param?: IN): OUT;
  experiment(children: ExperimentCstChildren, param?: IN): OUT;
  statement(children: StatementCstChildren, param?: IN): OUT;
  runnerStmt(children: RunnerStmtCstChildren, param?: IN): OUT;
  setStmt(children: SetStmtCstChildren, param?: IN): OUT;
  sweepStmt(children: SweepStmtCstChildren, param?: IN): OUT;
  seedsStmt(children: SeedsStmtCstChildren, param?: IN): OUT;
  measureStmt(children: MeasureStmtCstChildren, param?: IN): OUT;
  alphaStmt(children: AlphaStmtCstChildren, param?: IN): OUT;
  correctionStmt(children: CorrectionStmtCstChildren, param?: IN): OUT;
  predictStmt(children: PredictStmtCstChildren, param?: IN): OUT;
  whereClause(children: WhereClauseCstChildren, param?: IN): OUT;
  forEachClause(children: ForEachClauseCstChildren, param?: IN): OUT;
  predictionForm(children: PredictionFormCstChildren, param?: IN): OUT;
  trendDirection(children: TrendDirectionCstChildren, param?: IN): OUT;
  correlationDirection(children: CorrelationDirectionCstChildren, param?: IN): OUT;
  operand(children: OperandCstChildren, param?: IN): OUT;
  compareOp(children: CompareOpCstChildren, param?: IN): OUT;
  condition(children: ConditionCstChildren, param?: IN): OUT;
  conditionOp(children: ConditionOpCstChildren, param?: IN): OUT;
  literal(children: LiteralCstChildren, param?: IN): OUT;
  list(children: ListCstChildren, param?: IN): OUT;
  scalar(children: ScalarCstChildren, param?: IN): OUT;
  trendForm(children: TrendFormCstChildren, param?: IN): OUT;
  peakForm(children: PeakFormCstChildren, param?: IN): OUT;
  flatForm(children: FlatFormCstChildren, param?: IN): OUT;
  correlationForm(children: CorrelationFormCstChildren, param?: IN): OUT;
  compareForm(children: CompareFormCstChildren, param?: IN): OUT;
}
