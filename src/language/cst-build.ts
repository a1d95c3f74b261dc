// Reading the Chevrotain CST: tokens and nodes to AST pieces with their locations. Shared by the
// experiment builder (build-ast.ts) and the prediction forms' builders (src/verdict/forms/). With
// error recovery the CST may lack children or hold tokens inserted by the parser; every helper
// tolerates that and returns undefined for what it cannot build (the parse error is reported).
import type { CstNodeLocation, IToken } from 'chevrotain';
import type * as C from '../../grammar/cst.d.ts';
import type * as A from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';

export interface BuildContext {
  file: string;
  text: string;
  comments: IToken[];
  /** Tokens of strings that ran to the end of their line (no closing quote). */
  unterminated: WeakSet<IToken>;
  diagnostics: Diagnostic[];
}

export function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset) && Number.isFinite(t.startLine);
}

export function first(ts: IToken[] | undefined): IToken | undefined {
  const t = ts?.[0];
  return real(t) ? t : undefined;
}

/** The first real token of each named child, or undefined when error recovery left one out. */
export function tokensOf<K extends string>(children: Partial<Record<K, IToken[]>>, ...names: K[]): IToken[] | undefined {
  const out = names.map((n) => first(children[n]));
  return out.every((t) => t !== undefined) ? (out as IToken[]) : undefined;
}

export function locOf(ctx: BuildContext, a: IToken | CstNodeLocation, b: IToken | CstNodeLocation = a): A.Loc {
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

export function nodeLoc(ctx: BuildContext, location: CstNodeLocation | undefined, fallback: IToken): A.Loc {
  if (location && Number.isFinite(location.startOffset) && Number.isFinite(location.endOffset)) {
    return locOf(ctx, location);
  }
  return locOf(ctx, fallback);
}

export function ident(ctx: BuildContext, t: IToken): A.Ident {
  return { kind: 'ident', name: t.image, loc: locOf(ctx, t) };
}

export function unescape(body: string): string {
  return body.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

export function stringLit(ctx: BuildContext, t: IToken): A.StringLit {
  const closed = !ctx.unterminated.has(t);
  const body = t.image.slice(1, closed ? -1 : undefined).replace(/\\$/, '');
  return { kind: 'string', value: unescape(body), loc: locOf(ctx, t) };
}

export function numberLit(ctx: BuildContext, t: IToken): A.NumberLit {
  return { kind: 'number', value: Number(t.image.replace(/_/g, '')), text: t.image, loc: locOf(ctx, t) };
}

export function scalar(ctx: BuildContext, n: C.ScalarCstNode | undefined): A.Scalar | undefined {
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

export function list(ctx: BuildContext, n: C.ListCstNode | undefined): A.ListLit | undefined {
  const open = first(n?.children.LBracket);
  if (!n || !open) return undefined;
  const items: A.Scalar[] = [];
  for (const s of n.children.scalar ?? []) {
    const v = scalar(ctx, s);
    if (v) items.push(v);
  }
  return { kind: 'list', items, loc: nodeLoc(ctx, n.location, open) };
}

export function literal(ctx: BuildContext, n: C.LiteralCstNode | undefined): A.Literal | undefined {
  if (!n) return undefined;
  if (n.children.list) return list(ctx, n.children.list[0]);
  return scalar(ctx, n.children.scalar?.[0]);
}

export const conditionOps: Record<string, A.ConditionOp> = {
  Equals: '=', NotEq: '!=', Less: '<', LessEq: '<=', Greater: '>', GreaterEq: '>=',
};
export const compareOps: Record<string, A.CompareOp> = { Less: '<', LessEq: '<=', Greater: '>', GreaterEq: '>=' };

export function opToken(children: Record<string, IToken[] | undefined>): IToken | undefined {
  for (const ts of Object.values(children)) {
    const t = first(ts);
    if (t) return t;
  }
  return undefined;
}

export function condition(ctx: BuildContext, n: C.ConditionCstNode | undefined): A.Condition | undefined {
  const name = first(n?.children.Name);
  const opTok = opToken((n?.children.conditionOp?.[0]?.children ?? {}) as Record<string, IToken[]>);
  const value = scalar(ctx, n?.children.scalar?.[0]);
  if (!n || !name || !opTok || !value) return undefined;
  const op = conditionOps[opTok.tokenType.name];
  if (!op) return undefined;
  return { param: ident(ctx, name), op, value, loc: locOf(ctx, name, tokenEnd(value.loc)) };
}

/** A pseudo token spanning the end of a node, for building a Loc from a start token to a node's end. */
export function tokenEnd(l: A.Loc): CstNodeLocation {
  return {
    startOffset: l.offset, startLine: l.line, startColumn: l.column,
    endOffset: l.endOffset - 1, endLine: l.endLine, endColumn: l.endColumn,
  };
}

export function conditions(ctx: BuildContext, ns: C.ConditionCstNode[] | undefined): A.Condition[] {
  const out: A.Condition[] = [];
  for (const n of ns ?? []) {
    const c = condition(ctx, n);
    if (c) out.push(c);
  }
  return out;
}

export function operand(ctx: BuildContext, n: C.OperandCstNode | undefined): A.Operand | undefined {
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

