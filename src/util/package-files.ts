// Where sublab's own files are. In a checkout the modules are TypeScript under src/ (run through
// tsx or Vitest); in an installed package they are the build's JavaScript under dist/src/. Paths
// built from import.meta.url (not import specifiers, which the build rewrites) go through here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

/** '.ts' when running from the sources, '.js' when running the build. */
export const moduleExt: '.ts' | '.js' = here.endsWith('.ts') ? '.ts' : '.js';

/** The URL of one of sublab's modules, named by its source file ('./runtime.ts'), built or not. */
export function ownModule(sourceRelative: string, base: string): URL {
  return new URL(moduleExt === '.js' ? sourceRelative.replace(/\.ts$/, '.js') : sourceRelative, base);
}

/** The folder holding sublab's package.json (the checkout, or node_modules/sublab). */
export const packageRoot: string = (() => {
  let dir = path.dirname(here);
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`sublab: no package.json above ${here}`);
    dir = up;
  }
  return dir;
})();
