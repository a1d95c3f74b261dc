// Chevrotain's package entry loads hundreds of small modules (lodash-es), which costs seconds of
// startup under tsx; the package also ships its whole API as one bundled ES module. Load that one
// (same version, same API), so `sublab check` starts in a fraction of a second.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Chevrotain from 'chevrotain';

async function load(): Promise<typeof Chevrotain> {
  try {
    const entry = createRequire(import.meta.url).resolve('chevrotain');
    return (await import(pathToFileURL(join(dirname(entry), '..', 'chevrotain.mjs')).href)) as typeof Chevrotain;
  } catch {
    return import('chevrotain');
  }
}

export const chevrotain: typeof Chevrotain = await load();
