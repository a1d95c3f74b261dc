#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx sublab` works right after `npm ci` with no build step.
import { register } from 'tsx/esm/api';
register();
// A closed pipe (`sublab plan | head`) ends the output quietly.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
