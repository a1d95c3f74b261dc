import type { Command } from './command.ts';
import { UsageError } from './command.ts';
import { parseCommandArgs, withUsage } from './args.ts';
import { compileFile } from '../language/compile.ts';
import { formatDiagnostic, type Diagnostic } from '../language/diagnostics.ts';

const usage = `usage: sublab check FILE.exp...

Parses and checks .exp files against their runners' schemas. Prints every error as
path:line:col: error: message, with the line and a caret.
Exit code: 0 all valid, 1 some file has errors, 2 usage error.`;

export const command: Command = {
  summary: 'check .exp files (syntax, runner parameters, predictions)',
  usage,
  run: (args) =>
    withUsage(usage, () => {
      const { positionals } = parseCommandArgs(args, {});
      if (positionals.length === 0) throw new UsageError('no files given');
      let experiments = 0;
      let errors = 0;
      const printed = new Set<string>();
      for (const file of positionals) {
        const r = compileFile(file);
        for (const d of r.diagnostics) {
          // A base file reached from several checked files is reported once.
          const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
          if (printed.has(key)) continue;
          printed.add(key);
          if (d.severity === 'error') errors++;
          process.stderr.write(formatDiagnostic(d as Diagnostic, r.sources[d.file]) + '\n');
        }
        experiments += r.experiments.length;
      }
      if (errors > 0) {
        process.stderr.write(`${errors} error${errors === 1 ? '' : 's'} in ${positionals.length} file${positionals.length === 1 ? '' : 's'}\n`);
        return 1;
      }
      process.stdout.write(`ok: ${experiments} experiment${experiments === 1 ? '' : 's'} in ${positionals.length} file${positionals.length === 1 ? '' : 's'}\n`);
      return 0;
    }),
};
