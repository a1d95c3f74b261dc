// What a prediction form is: one module owning its grammar rule, its AST builder, its checks,
// its text in the lock, the metrics it reads, its decidability floor and its statistical decision.
// Everything that branches on a form's kind goes through the table of these (forms/index.ts).
import type { CstNode, TokenType } from 'chevrotain';
import type { Condition, Ident, Loc, Node, Operand, PredictionForm } from '../../language/ast.ts';
import type { CheckedExperiment } from '../../language/checked.ts';
import type { BuildContext } from '../../language/cst-build.ts';
import type { DiagnosticCode } from '../../language/diagnostic-codes.ts';
import type { ResultRow } from '../../results/types.ts';
import type { Ctx, Decision } from '../common.ts';
import type { Floor } from '../floors.ts';
import type { TestName } from '../types.ts';

/** Grammar rules a form's rule may use (defined once in grammar/parser.ts). */
export type SharedRule = 'trendDirection' | 'correlationDirection' | 'operand' | 'compareOp' | 'condition';

/**
 * The parser as a form's grammar rule sees it: Chevrotain's indexed DSL (`consume(2, T.Name)` is
 * CONSUME2), bound to the one parser being built.
 */
export interface FormGrammar {
  consume(idx: number, tok: TokenType, label?: string): void;
  subrule(idx: number, rule: SharedRule, label?: string): void;
  option(idx: number, body: () => void): void;
}

/** What a form's check may ask of the experiment's checker (check.ts implements it). */
export interface FormChecker {
  /** A metric the prediction reads: known and measured, or an error at it. */
  metric(id: Ident): void;
  /** A parameter the form compares across: swept, numeric, with at least `minValues` values. */
  sweptNumeric(param: Ident, phrase: string, minValues: number): void;
  /** An `at` condition of an operand: a parameter, `=`, selecting some sweep point. */
  atCondition(c: Condition): void;
  error(loc: Loc, message: string, code: DiagnosticCode): void;
}

/** How the lock spells values (prereg/normalise.ts): by meaning, never by source spelling. */
export interface Canon {
  number(x: number): string;
  operand(o: Operand): string;
}

/** Where a floor is computed: the experiment, whether its runner is seeded, the p a test must reach. */
export interface FloorCtx {
  exp: CheckedExperiment;
  seeded: boolean;
  target: number;
}

/** A form's AST node: the built-in ones are PredictionForm; a form registered at run time has its own. */
export type FormNode = Node & { kind: string };

/** A prediction form's module. Every member is required: a form without one does not compile. */
export interface FormModule<F extends FormNode = PredictionForm> {
  kind: F['kind'];
  /** Form as written in .exp files, for docs. */
  syntax: string;
  /** Every test this form can use, for the docs table and the typed test names. */
  tests: readonly TestName[];
  /** One line for the docs' table of forms: the test, and when each variant is used. */
  rule: string;
  /** What the form claims, as a noun phrase for messages, e.g. "a peak", "flatness". */
  noun: string;
  /** Its grammar rule: the CST node name, and the rule's body (an alternative of `predictionForm`). */
  grammar: { rule: string; define(g: FormGrammar): void };
  /** Its CST node to its AST node; undefined when recovery left it incomplete (already reported). */
  build(node: CstNode, ctx: BuildContext): F | undefined;
  /** Its checks against the runner's schema and the sweep (metrics, parameters, constants). */
  check(form: F, c: FormChecker): void;
  /** Its canonical text in the lock (`predict <this> where …`); changing it changes every lock hash. */
  normalise(form: F, canon: Canon): string;
  /** Metric columns the form reads: counted per sweep point by the judge, shown in the run table. */
  metrics(form: F): string[];
  /** The smallest p its test can reach on the planned rows, or null when there is no floor. */
  floor(form: F, rows: readonly ResultRow[], ctx: FloorCtx): Floor | null;
  /** The test a prediction of this form would use when it cannot be tested at all. */
  defaultTest(form: F): TestName;
  decide(form: F, rows: readonly ResultRow[], ctx: Ctx): Decision;
}

/** The members checked at start-up for a form registered at run time (the compiler checks the rest). */
export const FORM_HANDLERS = ['build', 'check', 'normalise', 'metrics', 'floor', 'defaultTest', 'decide'] as const;
