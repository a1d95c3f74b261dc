// Writes grammar/cst.d.ts (the CST node types the AST builder uses) and grammar/diagram.html
// (railroad diagrams) from the parser's grammar. Run: npm run gen:cst. A test checks both are current.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chevrotain } from './chevrotain.ts';
import { currentParser } from './parser.ts';

export function cstDtsText(): string {
  return chevrotain.generateCstDts(currentParser().getGAstProductions());
}

export function diagramHtml(): string {
  return chevrotain.createSyntaxDiagramsCode(currentParser().getSerializedGastProductions());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(fileURLToPath(new URL('./cst.d.ts', import.meta.url)), cstDtsText());
  writeFileSync(fileURLToPath(new URL('./diagram.html', import.meta.url)), diagramHtml());
  console.log('wrote grammar/cst.d.ts and grammar/diagram.html');
}
