// The shape `report` and `writeup` share: options from the table, write files, say what was
// written, and map errors to exit codes (2: usage or language error, 1: anything else).
import { escapeControl } from '../language/diagnostics.ts';
import { formats, type Format } from '../report/render.ts';
import { common, defineCommand, errorExit, many, parseOptions, text, type CommandSpec, type Options, type Parsed } from './args.ts';
import { UsageError, type Command } from './command.ts';

/** `--format md,html` / `all`: the formats named, or a usage error. */
export function parseFormats(v: string): Format[] {
  return v.split(',').flatMap((f) => {
    if (f === 'all') return [...formats];
    if ((formats as readonly string[]).includes(f)) return [f as Format];
    throw new UsageError(`unknown format "${f}": expected md, html, tex or all`);
  });
}

/** The options both commands take. */
export const writerOptions = {
  format: many<Format[]>({ arg: 'F', short: 'f', help: 'md (default), html, tex, or all; repeat or comma-separate for several', parse: (t) => parseFormats(t) }),
  out: { ...text('DIR', 'output folder'), short: 'o' },
  templates: common.templates,
  cache: common.cache,
  'cache-dir': common['cache-dir'],
} satisfies Options;

/** The formats asked for, each once; md when none. */
export function formatsOf(v: readonly Format[][] | undefined): Format[] {
  const all = [...new Set((v ?? []).flat())];
  return all.length ? all : ['md'];
}

export function writerCommand<O extends Options, R>(
  spec: CommandSpec<O>,
  toOptions: (p: Parsed<O>) => R,
  write: (o: R, log: (s: string) => void) => Promise<string[]>,
): Command & { parse(args: string[], warn?: (m: string) => void): R } {
  const command = defineCommand(spec, async (parsed) => {
    const o = toOptions(parsed);
    try {
      const written = await write(o, (s) => process.stderr.write(s + '\n'));
      for (const w of written) process.stdout.write(`wrote ${w}\n`);
      return 0;
    } catch (e) {
      // A usage, language or plan error found while writing: its message, no usage text.
      const code = errorExit(spec.name, e);
      if (code !== undefined) return code;
      process.stderr.write(`sublab ${spec.name}: error: ${escapeControl((e as Error).message)}\n`);
      return 1;
    }
  });
  return { ...command, parse: (args, warn) => toOptions(parseOptions(spec, args, warn)) };
}
