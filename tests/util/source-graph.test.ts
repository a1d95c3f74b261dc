import { mkdtempSync, mkdirSync, writeFileSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findImports, sourceGraph, SourceGraphError } from '../../src/util/source-graph.ts';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'sg-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

describe('sourceGraph', () => {
  it('follows relative imports of every form, with the .js→.ts rewrite, index files, and cycles', () => {
    const root = tree({
      'a/main.ts': [
        "import { b } from './b.js';",
        "import type { T } from './types.ts';",
        "export * from './c';",
        "import './side.mjs';",
        "const lazy = () => import('./lazy.ts');",
        "const r = require('./req.cjs');",
        "import fs from 'node:fs'; import x from 'chevrotain';",
        "// import z from './in-a-comment.ts'",
        "const s = \"import y from './in-a-string.ts'\";",
        'const t = `${"x"} import q from \'./in-a-template.ts\'`;',
        "const re = /from '.\\/in-a-regex'/;",
        "import { util } from '../lib';",
      ].join('\n'),
      'a/b.ts': "import { main } from './main.ts'; export const b = 1;",
      'a/c.tsx': 'export const c = 1;',
      'a/types.ts': 'export type T = number;',
      'a/side.mjs': '',
      'a/lazy.ts': '',
      'a/req.cjs': "module.exports = require('./data.json');",
      'a/data.json': '{}',
      'lib/index.ts': "export { util } from './util.js';",
      'lib/util.ts': 'export const util = 1;',
      'unrelated.ts': '',
    });
    const g = sourceGraph([path.join(root, 'a/main.ts')]);
    expect(g.root).toBe(path.join(root, 'a'));
    expect(g.files).toEqual(['../lib/index.ts', '../lib/util.ts', 'b.ts', 'c.tsx', 'data.json', 'lazy.ts', 'main.ts', 'req.cjs', 'side.mjs']);
    expect(g.hash).toMatch(/^[0-9a-f]{64}$/);
    const g2 = sourceGraph([path.join(root, 'a/main.ts')], { root });
    expect(g2.files).toContain('lib/util.ts');
    expect(g2.hash).not.toBe(g.hash); // paths are part of the hash
  });

  it('reads built JavaScript whose specifiers still name .ts files, and .js files importing .js', () => {
    const root = tree({
      'dist/x.js': "import { y } from './y.ts'; export { z } from \"./sub/z.js\";",
      'dist/y.js': 'export const y = 1;',
      'dist/sub/z.js': 'export const z = 2;',
    });
    expect(sourceGraph([path.join(root, 'dist/x.js')]).files).toEqual(['sub/z.js', 'x.js', 'y.js']);
    // An entry named by its source file (a stage's `code`) is its built .js in an installed package.
    expect(sourceGraph([path.join(root, 'dist/x.ts')]).files).toEqual(['sub/z.js', 'x.js', 'y.js']);
    expect(() => sourceGraph([path.join(root, 'dist/none.ts')])).toThrow(SourceGraphError);
  });

  it('an unresolvable import is an error naming the file, line, column and specifier', () => {
    const root = tree({ 'm.ts': "import a from './a.ts';\n\nimport { gone } from './gone.js';\n", 'a.ts': '' });
    let err: unknown;
    try { sourceGraph([path.join(root, 'm.ts')]); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SourceGraphError);
    expect((err as Error).message).toContain(`${path.join(root, 'm.ts')}:3:22: import './gone.js' could not be resolved`);
    expect(() => sourceGraph([path.join(root, 'nope.ts')])).toThrow(/entry .*nope\.ts is not a readable file/);
  });

  it('an edit anywhere in the graph changes the hash; an edit outside it does not; a moved folder keeps it', () => {
    const root = tree({ 'p/m.ts': "import './dep.ts';", 'p/dep.ts': 'export const v = 1;', 'p/other.ts': 'x' });
    const entry = path.join(root, 'p/m.ts');
    const h0 = sourceGraph([entry]).hash;
    writeFileSync(path.join(root, 'p/other.ts'), 'y');
    expect(sourceGraph([entry]).hash).toBe(h0);
    writeFileSync(path.join(root, 'p/dep.ts'), 'export const v = 2;'); // same size: mtime tells
    utimesSync(path.join(root, 'p/dep.ts'), new Date(), new Date(Date.now() + 5000));
    const h1 = sourceGraph([entry]).hash;
    expect(h1).not.toBe(h0);
    renameSync(path.join(root, 'p'), path.join(root, 'q'));
    const moved = sourceGraph([path.join(root, 'q/m.ts')]);
    expect(moved.hash).toBe(h1);
    expect(moved.root).toBe(path.join(root, 'q'));
  });

  it('several entries: root is their common ancestor', () => {
    const root = tree({ 'x/a/one.ts': '', 'x/b/two.ts': "import '../a/one.ts';" });
    const g = sourceGraph([path.join(root, 'x/a/one.ts'), path.join(root, 'x/b/two.ts')]);
    expect(g.root).toBe(path.join(root, 'x'));
    expect(g.files).toEqual(['a/one.ts', 'b/two.ts']);
  });

  it('finds no import inside strings, comments or regexes, and skips type-only statements', () => {
    expect(findImports("import type X from './t'; export type { Y } from './u'; import type from './v'; import { type Z, w } from './w';").map((i) => i.spec)).toEqual(['./v', './w']);
    expect(findImports('const a = b / c; const d = "/"; import "./e";').map((i) => i.spec)).toEqual(['./e']);
    expect(findImports("x.import('./no'); obj.require('./no2'); import.meta.url;")).toEqual([]);
  });

  it('the project\'s own runner sources resolve (the graph of a real engine)', () => {
    const g = sourceGraph([path.resolve('src/runners/mlp_distill/onnx/engine.ts')]);
    expect(g.files).toContain('../../../util/random.ts');
    expect(g.files).toContain('graphs.ts');
  });
});
