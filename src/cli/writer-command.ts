// The shape `report` and `writeup` share: parse options, write files, say what was written, and
// map errors to exit codes (2: usage or language error, 1: anything else).
import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { PlanError } from '../exec/session.ts';
import { LanguageError } from '../language/errors.ts';
import { formats, type Format } from '../report/render.ts';

/** `--format md,html` / `all`: the formats named, or a usage error. */
export function parseFormats(v: string): Format[] {
  return v.split(',').flatMap((f) => {
    if (f === 'all') return [...formats];
    if ((formats as readonly string[]).includes(f)) return [f as Format];
    throw new UsageError(`unknown format "${f}": expected md, html, tex or all`);
  });
}

export function writerCommand<O>(
  name: string, summary: string, usage: string,
  parse: (args: string[], warn: (m: string) => void) => O,
  write: (o: O, log: (s: string) => void) => Promise<string[]>,
): Command {
  return {
    summary,
    usage,
    async run(args) {
      let o: O;
      try {
        o = parse(args, (m) => process.stderr.write(`sublab ${name}: warning: ${m}\n`));
      } catch (e) {
        if (e instanceof UsageError) {
          process.stderr.write(`sublab ${name}: ${e.message}\n\n${usage}\n`);
          return 2;
        }
        throw e;
      }
      try {
        const written = await write(o, (s) => process.stderr.write(s + '\n'));
        for (const w of written) process.stdout.write(`wrote ${w}\n`);
        return 0;
      } catch (e) {
        if (e instanceof LanguageError) {
          process.stderr.write(e.message + '\n');
          return 2;
        }
        if (e instanceof PlanError || e instanceof UsageError) {
          process.stderr.write(`sublab ${name}: ${e.message}\n`);
          return 2;
        }
        process.stderr.write(`sublab ${name}: ${(e as Error).message}\n`);
        return 1;
      }
    },
  };
}
