// The .exp grammar as a Chevrotain CST parser. The typed AST is built from its CST by
// src/language/build-ast.ts, using the CST types that grammar/generate-cst-dts.ts writes to cst.d.ts.
import type { CstNode, IParserErrorMessageProvider, IToken, TokenType } from 'chevrotain';
import { formModules, formsVersion, type FormModule } from '../src/verdict/forms/index.ts';
import type { FormGrammar, SharedRule } from '../src/verdict/forms/module.ts';
import { chevrotain } from './chevrotain.ts';

const { CstParser, EOF } = chevrotain;
import * as T from './tokens.ts';

function found(tok: IToken | undefined): string {
  if (!tok || tok.tokenType === EOF) return 'end of file';
  return `"${tok.image}"`;
}

function firstTokens(paths: TokenType[][]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const t = p[0];
    if (!t) continue;
    const d = T.describeTokenType(t);
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

function oneOf(items: string[]): string {
  if (items.length <= 1) return items[0] ?? 'something else';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

const STATEMENTS = 'a statement (runner, set, sweep, seeds, measure, alpha, correction, predict)';
const FORM_EXAMPLES = 'a prediction form (e.g. "student_acc > 0.2", "Y increases with X")';

/** What each rule is "about", for messages that say what was expected in words. */
const ruleExpectations: Record<string, string> = {
  predictionForm: FORM_EXAMPLES,
  statement: STATEMENTS,
  scalar: 'a value (a number, a string, true/false or a name)',
  literal: 'a value (a number, a string, a name or a list [...])',
  compareOp: 'a comparison operator (>, <, >=, <=)',
  conditionOp: 'an operator (=, !=, <, <=, >, >=)',
  operand: 'a metric name or a number',
  runnerStmt: 'a runner name or the quoted path of a runner module (e.g. "./runners/toy.ts")',
  trendDirection: '"increases" or "decreases"',
  correlationDirection: '"positively" or "negatively"',
};

/** For a missing first item of a repetition (`measure` or `for each` with nothing after it). */
const repetitionExpectations: Record<string, string> = {
  measureStmt: 'a metric name',
  forEachClause: 'a parameter or key name',
};

export const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === T.RCurly && ruleName === 'experiment') {
      return `expected ${STATEMENTS} or "}" but found ${found(actual)}`;
    }
    if (expected === T.Experiment || expected === EOF) {
      return `expected "experiment" but found ${found(actual)}`;
    }
    let what = T.describeTokenType(expected);
    if (expected === T.Name || expected === T.Word) {
      what =
        ruleName === 'runnerStmt' ? 'a runner name' :
        ruleName === 'measureStmt' ? 'a metric name' :
        ruleName === 'setStmt' || ruleName === 'sweepStmt' ? 'a parameter name' :
        'a name';
    }
    if (expected === T.StringLit && ruleName === 'experiment') what = 'a quoted name or file';
    return `expected ${what} but found ${found(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `expected "experiment" but found ${found(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const what = ruleExpectations[ruleName] ?? oneOf(firstTokens(expectedPathsPerAlt.flat()));
    return `expected ${what} but found ${found(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const what = repetitionExpectations[ruleName] ?? ruleExpectations[ruleName] ?? oneOf(firstTokens(expectedIterationPaths));
    return `expected ${what} but found ${found(actual[0])}`;
  },
};

type Rule = (idx?: number) => CstNode;

export class ExpParser extends CstParser {
  /** The forms' own rules, defined from their modules before the grammar is analysed. */
  private formRules: Rule[] = [];

  constructor(forms: readonly FormModule[] = formModules()) {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: 'full', errorMessageProvider });
    const g = this.formGrammar();
    this.formRules = forms.map((m) => this.RULE(m.grammar.rule, () => m.grammar.define(g)));
    this.performSelfAnalysis();
  }

  /** Chevrotain's indexed DSL for a form's rule; the shared rules by name. */
  private formGrammar(): FormGrammar {
    const shared: Record<SharedRule, Rule> = {
      trendDirection: this.trendDirection,
      correlationDirection: this.correlationDirection,
      operand: this.operand,
      compareOp: this.compareOp,
      condition: this.condition,
    };
    return {
      consume: (idx, tok, label) => void this.consume(idx, tok, label ? { LABEL: label } : undefined),
      subrule: (idx, rule, label) => void this.subrule(idx, shared[rule], label ? { LABEL: label } : undefined),
      option: (idx, body) => void this.option(idx, body),
    };
  }

  file = this.RULE('file', () => {
    this.MANY(() => this.SUBRULE(this.experiment));
  });

  experiment = this.RULE('experiment', () => {
    this.CONSUME(T.Experiment);
    this.CONSUME(T.StringLit, { LABEL: 'name' });
    this.OPTION(() => {
      this.CONSUME(T.Extends);
      this.CONSUME2(T.StringLit, { LABEL: 'base' });
      this.OPTION2(() => {
        this.CONSUME(T.DoubleColon);
        this.CONSUME3(T.StringLit, { LABEL: 'baseName' });
      });
    });
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.statement));
    this.CONSUME(T.RCurly);
  });

  statement = this.RULE('statement', () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.runnerStmt) },
      { ALT: () => this.SUBRULE(this.setStmt) },
      { ALT: () => this.SUBRULE(this.sweepStmt) },
      { ALT: () => this.SUBRULE(this.seedsStmt) },
      { ALT: () => this.SUBRULE(this.measureStmt) },
      { ALT: () => this.SUBRULE(this.alphaStmt) },
      { ALT: () => this.SUBRULE(this.correctionStmt) },
      { ALT: () => this.SUBRULE(this.predictStmt) },
    ]);
  });

  // A built-in runner by name, or the user's own by the path of its module (relative to the file).
  runnerStmt = this.RULE('runnerStmt', () => {
    this.CONSUME(T.Runner);
    this.OR([
      { ALT: () => this.CONSUME(T.Word) },
      { ALT: () => this.CONSUME(T.StringLit, { LABEL: 'module' }) },
    ]);
  });

  setStmt = this.RULE('setStmt', () => {
    this.CONSUME(T.Set);
    this.CONSUME(T.Name);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.literal);
  });

  sweepStmt = this.RULE('sweepStmt', () => {
    this.CONSUME(T.Sweep);
    this.CONSUME(T.Name);
    this.CONSUME(T.In);
    this.SUBRULE(this.list);
  });

  seedsStmt = this.RULE('seedsStmt', () => {
    this.CONSUME(T.Seeds);
    this.CONSUME(T.NumberLit);
  });

  measureStmt = this.RULE('measureStmt', () => {
    this.CONSUME(T.Measure);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Word) });
  });

  alphaStmt = this.RULE('alphaStmt', () => {
    this.CONSUME(T.Alpha);
    this.CONSUME(T.NumberLit);
  });

  correctionStmt = this.RULE('correctionStmt', () => {
    this.CONSUME(T.Correction);
    this.CONSUME(T.Name);
  });

  predictStmt = this.RULE('predictStmt', () => {
    this.CONSUME(T.Predict);
    this.SUBRULE(this.predictionForm);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.whereClause) },
        { ALT: () => this.SUBRULE(this.forEachClause) },
      ]);
    });
    this.OPTION(() => {
      this.CONSUME(T.Because);
      this.CONSUME(T.StringLit);
    });
  });

  whereClause = this.RULE('whereClause', () => {
    this.CONSUME(T.Where);
    this.SUBRULE(this.condition);
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE2(this.condition);
    });
  });

  forEachClause = this.RULE('forEachClause', () => {
    this.CONSUME(T.For);
    this.CONSUME(T.Each);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Word) });
  });

  /** One alternative per prediction form, in the forms table's order (src/verdict/forms/index.ts). */
  predictionForm = this.RULE('predictionForm', () => {
    this.OR(this.formRules.map((rule) => ({ ALT: () => this.SUBRULE(rule) })));
  });

  trendDirection = this.RULE('trendDirection', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Increases) }, { ALT: () => this.CONSUME(T.Decreases) }]);
  });

  correlationDirection = this.RULE('correlationDirection', () => {
    this.OR([{ ALT: () => this.CONSUME(T.Positively) }, { ALT: () => this.CONSUME(T.Negatively) }]);
  });

  operand = this.RULE('operand', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      {
        ALT: () => {
          this.CONSUME(T.Name, { LABEL: 'metric' });
          this.OPTION(() => {
            this.CONSUME(T.At);
            this.SUBRULE(this.condition);
            this.MANY(() => {
              this.CONSUME(T.And);
              this.SUBRULE2(this.condition);
            });
          });
        },
      },
    ]);
  });

  compareOp = this.RULE('compareOp', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Greater) },
      { ALT: () => this.CONSUME(T.Less) },
      { ALT: () => this.CONSUME(T.GreaterEq) },
      { ALT: () => this.CONSUME(T.LessEq) },
    ]);
  });

  condition = this.RULE('condition', () => {
    this.CONSUME(T.Name);
    this.SUBRULE(this.conditionOp);
    this.SUBRULE(this.scalar);
  });

  conditionOp = this.RULE('conditionOp', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Equals) },
      { ALT: () => this.CONSUME(T.NotEq) },
      { ALT: () => this.CONSUME(T.Less) },
      { ALT: () => this.CONSUME(T.LessEq) },
      { ALT: () => this.CONSUME(T.Greater) },
      { ALT: () => this.CONSUME(T.GreaterEq) },
    ]);
  });

  literal = this.RULE('literal', () => {
    this.OR([{ ALT: () => this.SUBRULE(this.list) }, { ALT: () => this.SUBRULE(this.scalar) }]);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.scalar) });
    this.CONSUME(T.RBracket);
  });

  scalar = this.RULE('scalar', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      // Identifier, not Name: `set x =` followed by a statement keyword must be an error.
      { ALT: () => this.CONSUME(T.Identifier) },
    ]);
  });
}

let cached: { version: number; parser: ExpParser } | undefined;

/**
 * The parser of the current forms table, one shared instance (Chevrotain parsers are reusable:
 * set `input`, call a rule); built again only when a form is registered or removed.
 */
export function currentParser(): ExpParser {
  if (cached?.version !== formsVersion()) cached = { version: formsVersion(), parser: new ExpParser() };
  return cached.parser;
}
