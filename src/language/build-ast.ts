// The CST visitor: Chevrotain CST (types generated into grammar/cst.d.ts) → typed AST (ast.ts).
// With error recovery the CST may lack children or hold tokens inserted by the parser; every
// builder tolerates that and drops what it cannot build (the parse error is already reported).
import type { CstNodeLocation, IToken } from 'chevrotain';
import type * as C from '../../grammar/cst.d.ts';
import type * as A from './ast.ts';
import { diagnosticAt, type Diagnostic } from './diagnostics.ts';
import { suggest } from './suggest.ts';

export interface BuildContext {
  file: string;
  text: string;
  comments: IToken[];
  /** Tokens of strings that ran to the end of their line (no closing quote). */
  unterminated: WeakSet<IToken>;
  diagnostics: Diagnostic[];
}

function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset) && Number.isFinite(t.startLine);
}

function first(ts: IToken[] | undefined): IToken | undefined {
  const t = ts?.[0];
  return real(t) ? t : undefined;
}

function locOf(ctx: BuildContext, a: IToken | CstNodeLocation, b: IToken | CstNodeLocation = a): A.Loc {
  const endOffset = Number.isFinite(b.endOffset) ? (b.endOffset as number) + 1 : a.startOffset + 1;
  return {
    file: ctx.file,
    line: a.startLine ?? 1,
    column: a.startColumn ?? 1,
    endLine: Number.isFinite(b.endLine) ? (b.endLine as number) : (a.startLine ?? 1),
    endColumn: Number.isFinite(b.endColumn) ? (b.endColumn as number) : (a.startColumn ?? 1),
    offset: a.startOffset,
    endOffset,
  };
}

function nodeLoc(ctx: BuildContext, location: CstNodeLocation | undefined, fallback: IToken): A.Loc {
  if (location && Number.isFinite(location.startOffset) && Number.isFinite(location.endOffset)) {
    return locOf(ctx, location);
  }
  return locOf(ctx, fallback);
}

function ident(ctx: BuildContext, t: IToken): A.Ident {
  return { kind: 'ident', name: t.image, loc: locOf(ctx, t) };
}

function unescape(body: string): string {
  return body.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

function stringLit(ctx: BuildContext, t: IToken): A.StringLit {
  const closed = !ctx.unterminated.has(t);
  const body = t.image.slice(1, closed ? -1 : undefined).replace(/\\$/, '');
  return { kind: 'string', value: unescape(body), loc: locOf(ctx, t) };
}

function numberLit(ctx: BuildContext, t: IToken): A.NumberLit {
  return { kind: 'number', value: Number(t.image.replace(/_/g, '')), text: t.image, loc: locOf(ctx, t) };
}

function scalar(ctx: BuildContext, n: C.ScalarCstNode | undefined): A.Scalar | undefined {
  if (!n) return undefined;
  const c = n.children;
  const num = first(c.NumberLit);
  if (num) return numberLit(ctx, num);
  const str = first(c.StringLit);
  if (str) return stringLit(ctx, str);
  const name = first(c.Identifier);
  if (name) {
    if (name.image === 'true' || name.image === 'false') {
      return { kind: 'bool', value: name.image === 'true', loc: locOf(ctx, name) };
    }
    return { kind: 'symbol', value: name.image, loc: locOf(ctx, name) };
  }
  return undefined;
}

function list(ctx: BuildContext, n: C.ListCstNode | undefined): A.ListLit | undefined {
  const open = first(n?.children.LBracket);
  if (!n || !open) return undefined;
  const items: A.Scalar[] = [];
  for (const s of n.children.scalar ?? []) {
    const v = scalar(ctx, s);
    if (v) items.push(v);
  }
  return { kind: 'list', items, loc: nodeLoc(ctx, n.location, open) };
}

function literal(ctx: BuildContext, n: C.LiteralCstNode | undefined): A.Literal | undefined {
  if (!n) return undefined;
  if (n.children.list) return list(ctx, n.children.list[0]);
  return scalar(ctx, n.children.scalar?.[0]);
}

const conditionOps: Record<string, A.ConditionOp> = {
  Equals: '=', NotEq: '!=', Less: '<', LessEq: '<=', Greater: '>', GreaterEq: '>=',
};
const compareOps: Record<string, A.CompareOp> = { Less: '<', LessEq: '<=', Greater: '>', GreaterEq: '>=' };

function opToken(children: Record<string, IToken[] | undefined>): IToken | undefined {
  for (const ts of Object.values(children)) {
    const t = first(ts);
    if (t) return t;
  }
  return undefined;
}

function condition(ctx: BuildContext, n: C.ConditionCstNode | undefined): A.Condition | undefined {
  const name = first(n?.children.Name);
  const opTok = opToken((n?.children.conditionOp?.[0]?.children ?? {}) as Record<string, IToken[]>);
  const value = scalar(ctx, n?.children.scalar?.[0]);
  if (!n || !name || !opTok || !value) return undefined;
  const op = conditionOps[opTok.tokenType.name];
  if (!op) return undefined;
  return { param: ident(ctx, name), op, value, loc: locOf(ctx, name, tokenEnd(value.loc)) };
}

/** A pseudo token spanning the end of a node, for building a Loc from a start token to a node's end. */
function tokenEnd(l: A.Loc): CstNodeLocation {
  return {
    startOffset: l.offset, startLine: l.line, startColumn: l.column,
    endOffset: l.endOffset - 1, endLine: l.endLine, endColumn: l.endColumn,
  };
}

function conditions(ctx: BuildContext, ns: C.ConditionCstNode[] | undefined): A.Condition[] {
  const out: A.Condition[] = [];
  for (const n of ns ?? []) {
    const c = condition(ctx, n);
    if (c) out.push(c);
  }
  return out;
}

function operand(ctx: BuildContext, n: C.OperandCstNode | undefined): A.Operand | undefined {
  if (!n) return undefined;
  const num = first(n.children.NumberLit);
  if (num) {
    const value = numberLit(ctx, num);
    return { kind: 'const', value, loc: value.loc };
  }
  const metric = first(n.children.metric);
  if (!metric) return undefined;
  const at = conditions(ctx, n.children.condition);
  const last = at[at.length - 1];
  return { kind: 'metric', metric: ident(ctx, metric), at, loc: locOf(ctx, metric, last ? tokenEnd(last.loc) : metric) };
}

function form(ctx: BuildContext, n: C.PredictionFormCstNode | undefined): A.PredictionForm | undefined {
  if (!n) return undefined;
  const c = n.children;
  if (c.trendForm) {
    const t = c.trendForm[0]!.children;
    const metric = first(t.metric);
    const param = first(t.param);
    const dir = opToken((t.trendDirection?.[0]?.children ?? {}) as Record<string, IToken[]>);
    if (!metric || !param || !dir) return undefined;
    return {
      kind: 'trend', metric: ident(ctx, metric), param: ident(ctx, param),
      direction: dir.image === 'increases' ? 'increases' : 'decreases', loc: locOf(ctx, metric, param),
    };
  }
  if (c.peakForm) {
    const t = c.peakForm[0]!.children;
    const metric = first(t.metric);
    const param = first(t.param);
    if (!metric || !param) return undefined;
    return { kind: 'peak', metric: ident(ctx, metric), param: ident(ctx, param), loc: locOf(ctx, metric, param) };
  }
  if (c.flatForm) {
    const t = c.flatForm[0]!.children;
    const metric = first(t.metric);
    const param = first(t.param);
    const tol = first(t.NumberLit);
    if (!metric || !param || !tol) return undefined;
    return {
      kind: 'flat', metric: ident(ctx, metric), param: ident(ctx, param), tolerance: numberLit(ctx, tol),
      loc: locOf(ctx, metric, tol),
    };
  }
  if (c.correlationForm) {
    const t = c.correlationForm[0]!.children;
    const metric = first(t.metric);
    const other = first(t.other);
    if (!metric || !other) return undefined;
    const dir = opToken((t.correlationDirection?.[0]?.children ?? {}) as Record<string, IToken[]>);
    return {
      kind: 'correlates', metric: ident(ctx, metric), other: ident(ctx, other),
      direction: dir ? (dir.image === 'positively' ? 'positively' : 'negatively') : 'any',
      loc: locOf(ctx, metric, other),
    };
  }
  if (c.compareForm) {
    const t = c.compareForm[0]!.children;
    const left = operand(ctx, t.left?.[0]);
    const right = operand(ctx, t.right?.[0]);
    const opTok = opToken((t.compareOp?.[0]?.children ?? {}) as Record<string, IToken[]>);
    const op = opTok ? compareOps[opTok.tokenType.name] : undefined;
    if (!left || !right || !op) return undefined;
    return { kind: 'compare', left, op, right, loc: locOf(ctx, tokenEnd(left.loc), tokenEnd(right.loc)) };
  }
  return undefined;
}

/** The prediction's own words: comments cut out, whitespace collapsed (what preregistration hashes). */
function predictionText(ctx: BuildContext, start: number, end: number): string {
  let out = '';
  let at = start;
  for (const cm of ctx.comments) {
    if (cm.startOffset >= start && cm.startOffset < end) {
      out += ctx.text.slice(at, cm.startOffset) + ' ';
      at = (cm.endOffset ?? cm.startOffset) + 1;
    }
  }
  out += ctx.text.slice(at, end);
  return out.replace(/\s+/g, ' ').trim();
}

function prediction(ctx: BuildContext, n: C.PredictStmtCstNode): A.Prediction | undefined {
  const kw = first(n.children.Predict);
  const f = form(ctx, n.children.predictionForm?.[0]);
  if (!kw || !f) return undefined;
  const where: A.Condition[] = [];
  for (const w of n.children.whereClause ?? []) where.push(...conditions(ctx, w.children.condition));
  const forEach: A.Ident[] = [];
  for (const fe of n.children.forEachClause ?? []) {
    for (const t of fe.children.Word ?? []) if (real(t)) forEach.push(ident(ctx, t));
  }
  const becauseTok = first(n.children.StringLit);
  const because = becauseTok ? stringLit(ctx, becauseTok) : undefined;
  // The statement ends at the last real token it holds (recovery may have dropped a tail); the
  // claim ends before `because`, which the grammar puts last.
  let claimEnd: A.Loc = f.loc;
  for (const l of [...where.map((w) => w.loc), ...forEach.map((i) => i.loc)]) {
    if (l.endOffset > claimEnd.endOffset) claimEnd = l;
  }
  const endLoc = because && because.loc.endOffset > claimEnd.endOffset ? because.loc : claimEnd;
  const loc = locOf(ctx, kw, tokenEnd(endLoc));
  const text = predictionText(ctx, kw.startOffset, endLoc.endOffset);
  const claim = because ? predictionText(ctx, kw.startOffset, claimEnd.endOffset) : text;
  return { kind: 'predict', text, claim, form: f, where, forEach, because, loc };
}

const corrections: readonly A.CorrectionMethod[] = ['holm', 'bonferroni', 'none'];

function experiment(ctx: BuildContext, n: C.ExperimentCstNode): A.ExperimentAst | undefined {
  const kw = first(n.children.Experiment);
  if (!kw) return undefined;
  const nameTok = first(n.children.name);
  const name: A.StringLit = nameTok ? stringLit(ctx, nameTok) : { kind: 'string', value: '', loc: locOf(ctx, kw) };
  const baseTok = first(n.children.base);
  const baseNameTok = first(n.children.baseName);
  const exp: A.ExperimentAst = {
    kind: 'experiment',
    name,
    ...(baseTok ? { extends: stringLit(ctx, baseTok) } : {}),
    ...(baseNameTok ? { extendsName: stringLit(ctx, baseNameTok) } : {}),
    sets: [],
    sweeps: [],
    measures: [],
    predictions: [],
    loc: nodeLoc(ctx, n.location, kw),
  };
  for (const st of n.children.statement ?? []) {
    const c = st.children;
    if (c.runnerStmt) {
      const kwT = first(c.runnerStmt[0]!.children.Runner);
      const word = first(c.runnerStmt[0]!.children.Word);
      const mod = first(c.runnerStmt[0]!.children.module);
      const nm = word ?? mod;
      if (kwT && nm) {
        const ref = word ? { name: ident(ctx, word) } : { module: stringLit(ctx, mod!) };
        if (exp.runner) ctx.diagnostics.push(diagnosticAt(locOf(ctx, kwT, nm), `runner given twice in experiment "${name.value}" (first at line ${exp.runner.loc.line})`, 'duplicate-runner'));
        else exp.runner = { kind: 'runner', ...ref, loc: locOf(ctx, kwT, nm) };
      }
    } else if (c.setStmt) {
      const s = c.setStmt[0]!.children;
      const kwT = first(s.Set);
      const nm = first(s.Name);
      const value = literal(ctx, s.literal?.[0]);
      if (kwT && nm && value) exp.sets.push({ kind: 'set', name: ident(ctx, nm), value, loc: locOf(ctx, kwT, tokenEnd(value.loc)) });
    } else if (c.sweepStmt) {
      const s = c.sweepStmt[0]!.children;
      const kwT = first(s.Sweep);
      const nm = first(s.Name);
      const values = list(ctx, s.list?.[0]);
      if (kwT && nm && values) exp.sweeps.push({ kind: 'sweep', name: ident(ctx, nm), values, loc: locOf(ctx, kwT, tokenEnd(values.loc)) });
    } else if (c.seedsStmt) {
      const kwT = first(c.seedsStmt[0]!.children.Seeds);
      const num = first(c.seedsStmt[0]!.children.NumberLit);
      if (kwT && num) {
        if (exp.seeds) ctx.diagnostics.push(diagnosticAt(locOf(ctx, kwT, num), `seeds given twice (first at line ${exp.seeds.loc.line})`, 'duplicate-option'));
        else exp.seeds = { kind: 'seeds', count: numberLit(ctx, num), loc: locOf(ctx, kwT, num) };
      }
    } else if (c.measureStmt) {
      const kwT = first(c.measureStmt[0]!.children.Measure);
      const names = (c.measureStmt[0]!.children.Word ?? []).filter(real);
      const last = names[names.length - 1];
      if (kwT && last) exp.measures.push({ kind: 'measure', metrics: names.map((t) => ident(ctx, t)), loc: locOf(ctx, kwT, last) });
    } else if (c.alphaStmt) {
      const kwT = first(c.alphaStmt[0]!.children.Alpha);
      const num = first(c.alphaStmt[0]!.children.NumberLit);
      if (kwT && num) {
        if (exp.alpha) ctx.diagnostics.push(diagnosticAt(locOf(ctx, kwT, num), `alpha given twice (first at line ${exp.alpha.loc.line})`, 'duplicate-option'));
        else exp.alpha = { kind: 'alpha', value: numberLit(ctx, num), loc: locOf(ctx, kwT, num) };
      }
    } else if (c.correctionStmt) {
      const kwT = first(c.correctionStmt[0]!.children.Correction);
      const nm = first(c.correctionStmt[0]!.children.Name);
      if (kwT && nm) {
        const method = corrections.find((m) => m === nm.image);
        if (!method) {
          ctx.diagnostics.push(diagnosticAt(locOf(ctx, nm), `unknown correction "${nm.image}"${suggest(nm.image, corrections)}: expected holm, bonferroni or none`, 'unknown-correction'));
        } else if (exp.correction) {
          ctx.diagnostics.push(diagnosticAt(locOf(ctx, kwT, nm), `correction given twice (first at line ${exp.correction.loc.line})`, 'duplicate-option'));
        } else {
          exp.correction = { kind: 'correction', method, loc: locOf(ctx, kwT, nm) };
        }
      }
    } else if (c.predictStmt) {
      const p = prediction(ctx, c.predictStmt[0]!);
      if (p) exp.predictions.push(p);
    }
  }
  return exp;
}

export function buildFileAst(ctx: BuildContext, cst: C.FileCstNode): A.FileAst {
  const experiments: A.ExperimentAst[] = [];
  for (const e of cst.children.experiment ?? []) {
    const exp = experiment(ctx, e);
    if (exp) experiments.push(exp);
  }
  return { file: ctx.file, experiments };
}
