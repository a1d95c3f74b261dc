// The CST visitor: Chevrotain CST (types generated into grammar/cst.d.ts) → typed AST (ast.ts).
// With error recovery the CST may lack children or hold tokens inserted by the parser; every
// builder tolerates that and drops what it cannot build (the parse error is already reported).
// Prediction forms are built by their own modules (src/verdict/forms/).
import type { CstNode } from 'chevrotain';
import type * as C from '../../grammar/cst.d.ts';
import type * as A from './ast.ts';
import { conditions, first, ident, list, literal, locOf, nodeLoc, numberLit, real, stringLit, tokenEnd, type BuildContext } from './cst-build.ts';
import { diagnosticAt } from './diagnostics.ts';
import { suggest } from './suggest.ts';
import { formOfRule } from '../verdict/forms/index.ts';

export type { BuildContext } from './cst-build.ts';

/**
 * The prediction form's AST, built by the module whose grammar rule matched. A CST form no module
 * claims is a bug in the forms table, said loudly rather than dropping the prediction.
 */
function form(ctx: BuildContext, n: C.PredictionFormCstNode | undefined): A.PredictionForm | undefined {
  if (!n) return undefined;
  for (const [rule, nodes] of Object.entries(n.children as Record<string, CstNode[] | undefined>)) {
    const node = nodes?.[0];
    if (!node) continue;
    const m = formOfRule(rule);
    if (!m) throw new Error(`the grammar's prediction form '${rule}' has no module in the forms table (src/verdict/forms/index.ts)`);
    return m.build(node, ctx);
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
