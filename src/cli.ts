// sublab's command line. Each command lives in src/cli/<name>.ts and is loaded only when used, so
// `sublab check` never pays for TensorFlow.js or transformers.js.
import type { Command } from './cli/command.ts';
import { escapeControl } from './language/diagnostics.ts';

const commands: Record<string, () => Promise<{ command: Command }>> = {
  init: () => import('./cli/init.ts'),
  check: () => import('./cli/check.ts'),
  plan: () => import('./cli/plan.ts'),
  run: () => import('./cli/run.ts'),
  register: () => import('./cli/register.ts'),
  report: () => import('./cli/report.ts'),
  writeup: () => import('./cli/writeup.ts'),
  runners: () => import('./cli/runners.ts'),
  cache: () => import('./cli/cache.ts'),
  submit: () => import('./cli/submit.ts'),
  worker: () => import('./cli/worker.ts'),
  'make-tiny-model': () => import('./cli/make-tiny-model.ts'),
  'export-model': () => import('./cli/export-model.ts'),
};

export async function usage(): Promise<string> {
  const lines = ['usage: sublab <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    try {
      const { command } = await load();
      lines.push(`  ${name.padEnd(16)} ${command.summary}`);
    } catch {
      // A command whose module is missing is simply not listed.
    }
  }
  lines.push('', 'sublab <command> --help shows the options of one command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const text = await usage();
    if (name === undefined) {
      process.stderr.write(text + '\n');
      return 2;
    }
    process.stdout.write(text + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { version } = await import('./version.ts');
    process.stdout.write(version + '\n');
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`sublab: unknown command "${name}"\n\n${await usage()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    // The last line of defence: a message, never a stack trace (SUBLAB_DEBUG=1 shows it).
    return reportCrash(name, err);
  }
}

/** Print an unexpected error as one line (escaped for the terminal); exit status 1. */
export function reportCrash(name: string, err: unknown): number {
  const e = err as NodeJS.ErrnoException;
  const msg = e instanceof Error ? e.message || e.name : String(err);
  const hint = e?.code === 'ENOSPC' && !/^disk full/.test(msg) ? ' (no space left on the device)' : e?.code === 'EISDIR' ? ' (that is a directory)' : e instanceof RangeError ? ' (the input is too large)' : '';
  process.stderr.write(`sublab ${escapeControl(name)}: error: ${escapeControl(msg)}${hint}\n`);
  if (process.env.SUBLAB_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return 1;
}
