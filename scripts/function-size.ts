// Lists the functions in src/ longer than a limit (150 lines), by the TypeScript compiler's own
// parse: declarations, methods, arrow functions and function expressions, nested ones included.
// tests/util/function-size.test.ts fails on one not in scripts/function-size-allow.txt.
// Run: npx tsx scripts/function-size.ts [limit]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 150;
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export interface LongFunction {
  /** Path from the repository root, `/`-separated. */
  file: string;
  name: string;
  line: number;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.m?[tj]s$/.test(d.name) && !d.name.endsWith('.d.ts') && !d.name.endsWith('.d.mts') ? [p] : [];
  });
}

/** The name a reader would search for: the declaration's, else the variable or property it is assigned to. */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  if (node.name) return node.name.getText(sf);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && parent.name) return parent.name.getText(sf);
  return `<anonymous@${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}>`;
}

export function longFunctions(root = repoRoot, max = MAX_FUNCTION_LINES): LongFunction[] {
  const out: LongFunction[] = [];
  for (const file of sourceFiles(path.join(root, 'src')).sort()) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        const lines = end - start + 1;
        if (lines > max) out.push({ file: path.relative(root, file).split(path.sep).join('/'), name: nameOf(node as ts.FunctionLikeDeclaration, sf), line: start + 1, lines });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

/** `file: name` entries (lines are not part of them: they move with every edit above). */
export function allowList(root = repoRoot): string[] {
  return readFileSync(path.join(root, 'scripts/function-size-allow.txt'), 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

export const keyOf = (f: LongFunction) => `${f.file}: ${f.name}`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const max = Number(process.argv[2] ?? MAX_FUNCTION_LINES);
  for (const f of longFunctions(repoRoot, max)) console.log(`${f.file}:${f.line}: ${f.name}: ${f.lines} lines`);
}
