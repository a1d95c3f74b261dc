// A thin strict wrapper over node:util parseArgs: unknown flags and bad values become UsageError,
// which each command prints with its usage and exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function positiveInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`${flag} expects a whole number >= 1, got "${text}"`);
  return Number(text);
}

/** Runs a command body, turning UsageError into "message + usage" on stderr and exit code 2. */
export async function withUsage(usage: string, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n\n${usage}\n`);
      return 2;
    }
    throw err;
  }
}
