#!/usr/bin/env node
// In a checkout the CLI is TypeScript run through tsx, so `npx sublab` works right after `npm ci`
// with no build step; an installed package has no src/ and runs the build in dist/.
import { existsSync } from 'node:fs';

// A closed pipe (`sublab plan | head`) ends the output quietly.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const source = new URL('../src/cli.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else if (existsSync(new URL('../dist/src/cli.js', import.meta.url))) {
  cli = await import('../dist/src/cli.js');
} else {
  process.stderr.write('sublab: this installation has neither src/ nor the build dist/ (npm builds it when it packs sublab; in a checkout: npm run build)\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
