// Every diagnostic the language emits, in one table: its code (the stable name a diagnostic
// carries, printed by `sublab check --json`), its number (SL####, never reused or renumbered),
// its category and what it means. A code once given keeps its number and meaning; a retired code
// stays here, marked retired, so tests/language/diagnostic-codes.test.ts can pin the table.

export type Category = 'error' | 'warning' | 'either';

export interface DiagnosticInfo {
  /** Shown as SL<number>. */
  number: number;
  category: Category;
  /** What the diagnostic says, in general terms (the message itself names the specifics). */
  meaning: string;
}

export const DIAGNOSTIC_CODES = {
  // 1xxx: reading and parsing a file
  read: { number: 1001, category: 'error', meaning: 'the file cannot be read' },
  'not-exp': { number: 1002, category: 'error', meaning: 'the file is not named *.exp' },
  lex: { number: 1003, category: 'error', meaning: 'characters the lexer cannot read, or a string without its closing quote' },
  parse: { number: 1004, category: 'error', meaning: 'the text does not follow the grammar: what was expected, what was found' },
  'empty-file': { number: 1005, category: 'error', meaning: 'the file holds no experiment' },
  internal: { number: 1006, category: 'error', meaning: 'the parser failed unexpectedly (a bug)' },
  'too-many': { number: 1007, category: 'either', meaning: 'more problems in the file than are shown' },
  // 2xxx: experiments, `extends` and the setup they merge
  'empty-name': { number: 2001, category: 'error', meaning: 'an experiment with an empty name' },
  'duplicate-experiment': { number: 2002, category: 'error', meaning: 'two experiments of one file share a name' },
  'bad-extends': { number: 2003, category: 'error', meaning: 'an `extends` of a file that is not an .exp file' },
  'missing-file': { number: 2004, category: 'error', meaning: 'the file an `extends` names cannot be read' },
  'bad-base': { number: 2005, category: 'error', meaning: 'the file or experiment an `extends` names has errors' },
  'missing-experiment': { number: 2006, category: 'error', meaning: 'the file an `extends` names holds no experiment, or not the one named after `::`' },
  'ambiguous-extends': { number: 2007, category: 'error', meaning: 'an `extends` of a file with several experiments names none of them' },
  'extends-cycle': { number: 2008, category: 'error', meaning: 'files extend each other in a cycle' },
  'extends-too-deep': { number: 2009, category: 'error', meaning: 'a chain of `extends` longer than the limit' },
  'duplicate-runner': { number: 2010, category: 'error', meaning: '`runner` given twice in one experiment' },
  'duplicate-option': { number: 2011, category: 'error', meaning: '`seeds`, `alpha` or `correction` given twice' },
  'duplicate-set': { number: 2012, category: 'error', meaning: 'one parameter set twice in one experiment' },
  'duplicate-sweep': { number: 2013, category: 'error', meaning: 'one parameter swept twice in one experiment' },
  'set-and-swept': { number: 2014, category: 'error', meaning: 'one parameter both set and swept in one experiment' },
  'unknown-correction': { number: 2015, category: 'error', meaning: 'a correction other than holm, bonferroni or none' },
  // 3xxx: the runner and its parameters
  'missing-runner': { number: 3001, category: 'error', meaning: 'an experiment without a `runner`' },
  'unknown-runner': { number: 3002, category: 'error', meaning: 'no built-in runner has this name' },
  'bad-runner-module': { number: 3003, category: 'error', meaning: 'a runner path that cannot name a runner module' },
  'runner-not-loaded': { number: 3004, category: 'error', meaning: 'a runner module checked without being loaded first (an entry point bug)' },
  'runner-not-found': { number: 3005, category: 'error', meaning: 'the runner module is not a readable file' },
  'runner-load': { number: 3006, category: 'error', meaning: 'the runner module fails to load' },
  'runner-export': { number: 3007, category: 'error', meaning: 'the runner module does not export a usable runner' },
  'runner-name-clash': { number: 3008, category: 'error', meaning: "a runner module's runner has a built-in runner's name" },
  'unknown-parameter': { number: 3009, category: 'error', meaning: 'a name that is not a parameter (or key) of the runner' },
  'bad-value': { number: 3010, category: 'error', meaning: "a value of the wrong type or out of the parameter's range" },
  'empty-sweep': { number: 3011, category: 'error', meaning: 'a sweep with no values' },
  'duplicate-value': { number: 3012, category: 'warning', meaning: 'a value listed twice in one sweep' },
  'missing-parameter': { number: 3013, category: 'error', meaning: 'a required parameter is not set' },
  'bad-combination': { number: 3014, category: 'error', meaning: "parameter values the runner refuses together at some sweep point" },
  'bad-file-dependency': { number: 3015, category: 'error', meaning: 'a file a run depends on is missing or unreadable' },
  'bad-seeds': { number: 3016, category: 'error', meaning: '`seeds` is not a whole number ≥ 1' },
  'seeds-ignored': { number: 3017, category: 'warning', meaning: '`seeds` given to a deterministic runner' },
  'too-many-runs': { number: 3018, category: 'error', meaning: 'the plan would hold more runs than the limit' },
  'bad-seed': { number: 3019, category: 'error', meaning: 'a base seed whose seeds run out of range' },
  'bad-alpha': { number: 3020, category: 'error', meaning: 'alpha outside (0, 1)' },
  'unknown-metric': { number: 3021, category: 'error', meaning: 'a name that is not a metric of the runner' },
  'missing-measure': { number: 3022, category: 'error', meaning: 'an open runner with predictions but no `measure` line' },
  'program-key': { number: 3023, category: 'warning', meaning: "a name taken as a column the program prints, close to a parameter's name" },
  // 4xxx: predictions
  'unmeasured-metric': { number: 4001, category: 'error', meaning: 'a prediction reads a metric no `measure` line names' },
  'bad-at': { number: 4002, category: 'error', meaning: 'an `at` condition other than `name = value`' },
  'bad-condition': { number: 4003, category: 'error', meaning: 'an ordering condition on a parameter that is not numeric' },
  'empty-selection': { number: 4004, category: 'error', meaning: 'a condition no sweep point satisfies' },
  'not-swept': { number: 4005, category: 'error', meaning: 'a form that compares across a parameter that is not swept' },
  'not-numeric': { number: 4006, category: 'error', meaning: 'a form that orders a parameter swept over non-numbers' },
  'too-few-values': { number: 4007, category: 'error', meaning: 'a sweep with fewer values than the form needs' },
  'bad-tolerance': { number: 4008, category: 'error', meaning: 'a negative tolerance of `is flat`' },
  'self-correlation': { number: 4009, category: 'error', meaning: 'a metric said to correlate with itself' },
  'constant-comparison': { number: 4010, category: 'error', meaning: 'a comparison of two numbers' },
  'for-each-fixed': { number: 4011, category: 'warning', meaning: '`for each` over a parameter that is not swept (one group)' },
  'undecidable': { number: 4012, category: 'warning', meaning: 'the planned runs can never (or may never) reach alpha' },
  // 5xxx: commands that act on one run of a checked experiment
  'export-model': { number: 5001, category: 'error', meaning: '`sublab export-model` cannot export from this experiment (not lm_distill, a seed or point it lacks, a prompted teacher)' },
} as const satisfies Record<string, DiagnosticInfo>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** `SL4012` for 'undecidable'. */
export function diagnosticId(code: DiagnosticCode): string {
  return `SL${DIAGNOSTIC_CODES[code].number}`;
}
