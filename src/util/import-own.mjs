// Plain-JS entries (the `--jobs` child, worker threads) load their module with this: the TypeScript
// source through tsx in a checkout, the built .js beside it in an installed package (which ships
// no .ts). bin/sublab.mjs makes the same choice for the CLI.
import { existsSync } from 'node:fs';

/** Import sublab's module `source` (a URL ending in .ts), built or not. */
export async function importOwn(source) {
  if (existsSync(source)) {
    (await import('tsx/esm/api')).register();
    return import(source.href);
  }
  return import(source.href.replace(/\.ts$/, '.js'));
}
