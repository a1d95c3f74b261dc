// Tokens of the .exp language. Keywords are also in the `Name` category so a parameter or metric
// may be called e.g. `alpha` or `flat` (the `command` runner accepts any name) without the
// grammar needing a list of "soft" keywords.
import type { TokenType } from 'chevrotain';
import { chevrotain } from './chevrotain.ts';

const { createToken, Lexer } = chevrotain;

export const Name = createToken({ name: 'Name', pattern: Lexer.NA });
/**
 * A name that cannot start a statement: used where a list of names may end at a line break
 * (`measure`, `for each`, `runner`), so that `measure` followed by `predict ...` on the next line
 * is an error at the missing name rather than a metric called "predict".
 */
export const Word = createToken({ name: 'Word', pattern: Lexer.NA });

export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  categories: [Name, Word],
});

const statementWords = ['runner', 'set', 'sweep', 'seeds', 'measure', 'alpha', 'correction', 'predict', 'experiment'];

function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(`${word}\\b`),
    longer_alt: Identifier,
    categories: statementWords.includes(word) ? [Name] : [Name, Word],
  });
}

export const Experiment = keyword('experiment');
export const Extends = keyword('extends');
export const Runner = keyword('runner');
export const Set = keyword('set');
export const Sweep = keyword('sweep');
export const In = keyword('in');
export const Seeds = keyword('seeds');
export const Measure = keyword('measure');
export const Alpha = keyword('alpha');
export const Correction = keyword('correction');
export const Predict = keyword('predict');
export const Where = keyword('where');
export const And = keyword('and');
export const For = keyword('for');
export const Each = keyword('each');
export const Because = keyword('because');
export const Increases = keyword('increases');
export const Decreases = keyword('decreases');
export const With = keyword('with');
export const Peaks = keyword('peaks');
export const Is = keyword('is');
export const Flat = keyword('flat');
export const Within = keyword('within');
export const At = keyword('at');
export const Correlates = keyword('correlates');
export const Positively = keyword('positively');
export const Negatively = keyword('negatively');

export const keywords: TokenType[] = [
  Experiment, Extends, Runner, Set, Sweep, In, Seeds, Measure, Alpha, Correction, Predict, Where,
  And, For, Each, Because, Increases, Decreases, With, Peaks, Is, Flat, Within, At, Correlates,
  Positively, Negatively,
];

/** Decimal numbers in the usual notations: `3`, `-2`, `0.1`, `.5`, `3e-4`, `1_000`. */
export const NumberLit = createToken({
  name: 'NumberLit',
  pattern: /[-+]?(?:\d[\d_]*(?:\.\d[\d_]*)?|\.\d[\d_]*)(?:[eE][-+]?\d+)?/,
});

export const StringLit = createToken({ name: 'StringLit', pattern: /"(?:[^"\\\r\n]|\\.)*"/ });
/** A string that reaches the end of its line: reported once by parse.ts, then parsed as a string. */
export const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /"(?:[^"\\\r\n]|\\.)*\\?/ });

export const GreaterEq = createToken({ name: 'GreaterEq', pattern: />=/ });
export const LessEq = createToken({ name: 'LessEq', pattern: /<=/ });
export const NotEq = createToken({ name: 'NotEq', pattern: /!=/ });
export const Greater = createToken({ name: 'Greater', pattern: />/ });
export const Less = createToken({ name: 'Less', pattern: /</ });
export const Equals = createToken({ name: 'Equals', pattern: /=/ });
export const DoubleColon = createToken({ name: 'DoubleColon', pattern: /::/ });
export const LCurly = createToken({ name: 'LCurly', pattern: /\{/ });
export const RCurly = createToken({ name: 'RCurly', pattern: /\}/ });
export const LBracket = createToken({ name: 'LBracket', pattern: /\[/ });
export const RBracket = createToken({ name: 'RBracket', pattern: /\]/ });
export const Comma = createToken({ name: 'Comma', pattern: /,/ });

export const Comment = createToken({ name: 'Comment', pattern: /(?:\/\/|#)[^\r\n]*/, group: 'comments' });
export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  StringLit,
  UnterminatedString,
  NumberLit,
  GreaterEq,
  LessEq,
  NotEq,
  Greater,
  Less,
  Equals,
  DoubleColon,
  LCurly,
  RCurly,
  LBracket,
  RBracket,
  Comma,
  ...keywords,
  Identifier,
  Name,
  Word,
];

export const ExpLexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: true });

/** How a token type is named in messages: keywords and punctuation quoted, classes described. */
export function describeTokenType(t: TokenType): string {
  switch (t.name) {
    case 'Name':
    case 'Word':
    case 'Identifier':
      return 'a name';
    case 'NumberLit':
      return 'a number';
    case 'StringLit':
    case 'UnterminatedString':
      return 'a string';
    case 'EOF':
      return 'end of file';
  }
  if (keywords.includes(t)) return `"${t.name.toLowerCase()}"`;
  const src = (t.PATTERN as RegExp).source.replace(/\\/g, '');
  return `"${src}"`;
}
