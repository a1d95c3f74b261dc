import { defineCommand, flag } from './args.ts';
import { compileWithRunners } from '../language/compile.ts';
import { diagnosticJson, formatDiagnostic, type Diagnostic } from '../language/diagnostics.ts';
import { planExperiment } from '../plan/plan.ts';
import { undecidablePredictions } from '../verdict/decidable.ts';

export const command = defineCommand(
  {
    name: 'check',
    synopsis: 'FILE.exp...',
    summary: 'check .exp files (syntax, runner parameters, predictions)',
    description: `Parses and checks .exp files against their runners' schemas. Prints every error as
path:line:col: error: message, with the line and a caret.`,
    options: {
      json: flag('print { "experiments", "errors", "diagnostics": [ { "severity", "code", "id", "file", "line", "column", "length", "message" } ] } on stdout\n(id: the code\'s number, SL####, listed in docs/language.md)'),
    },
    footer: 'Exit code: 0 all valid, 1 some file has errors, 2 usage error.',
    positionals: { min: 1, missing: 'no files given' },
  },
  async ({ positionals, values }) => {
    let experiments = 0;
    let errors = 0;
    const printed = new Set<string>();
    const found: Diagnostic[] = [];
    const report = (d: Diagnostic, source: string | undefined) => {
      if (values.json) found.push(d);
      else process.stderr.write(formatDiagnostic(d, source) + '\n');
    };
    for (const file of positionals) {
      const r = await compileWithRunners(file);
      for (const d of r.diagnostics) {
        // A base file reached from several checked files is reported once.
        const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
        if (printed.has(key)) continue;
        printed.add(key);
        if (d.severity === 'error') errors++;
        report(d, r.sources[d.file]);
      }
      // Predictions the planned rows can never decide (a trend over 3 rows: p ≥ 1/3).
      for (const exp of r.experiments) {
        let planned;
        try {
          planned = planExperiment(exp).runs;
        } catch {
          continue;
        }
        for (const d of undecidablePredictions(exp, planned)) {
          const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
          if (printed.has(key)) continue;
          printed.add(key);
          report(d, r.sources[d.file]);
        }
      }
      experiments += r.experiments.length;
    }
    if (values.json) {
      process.stdout.write(JSON.stringify({ experiments, errors, diagnostics: found.map(diagnosticJson) }, null, 2) + '\n');
      return errors > 0 ? 1 : 0;
    }
    if (errors > 0) {
      process.stderr.write(`${errors} error${errors === 1 ? '' : 's'} in ${positionals.length} file${positionals.length === 1 ? '' : 's'}\n`);
      return 1;
    }
    process.stdout.write(`ok: ${experiments} experiment${experiments === 1 ? '' : 's'} in ${positionals.length} file${positionals.length === 1 ? '' : 's'}\n`);
    return 0;
  },
);
