// `sublab report`: run (or read from the cache) each file's experiments, then render one report per
// experiment with the Handlebars templates, in markdown, HTML and/or LaTeX.
import { ensureDir } from '../util/ensure-dir.ts';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import path from 'node:path';
import { formatsOf, writerCommand, writerOptions } from './writer-command.ts';
import type { CommandSpec, Parsed } from './args.ts';
import { runFile, type ExperimentResult } from '../exec/run-file.ts';
import { gitInfo, lockPathFor, readLock, type GitInfo, type LockState } from '../prereg/lock.ts';
import { predictionStatuses } from '../prereg/status.ts';
import { resultEvidence } from '../prereg/evidence.ts';
import { buildReportModel, currentMachine } from '../report/model.ts';
import { renderReport, type Format } from '../report/render.ts';
import { version } from '../version.ts';

const spec = {
  name: 'report',
  synopsis: 'FILE.exp... [--format md|html|tex|all] [--out DIR] [--templates DIR] [--cache DIR]',
  summary: 'render reports (markdown, HTML, LaTeX): predictions beside results, with registration status',
  description: `Runs each file's experiments (results already in the cache are reused, so this is quick after
\`sublab run\`) and writes one report per experiment: DIR/<experiment-slug>.<md|html|tex>.
Each prediction is shown beside its verdict with its registration status from sublab.lock;
predictions not registered before the first result are listed apart as exploratory.`,
  options: {
    ...writerOptions,
    out: { ...writerOptions.out, help: 'output folder (default: reports)' },
    templates: { ...writerOptions.templates, help: 'your own Handlebars templates: DIR/<format>/report.hbs (+ partials *.hbs);\nformats missing there use the built-in ones' },
    cache: { ...writerOptions.cache, help: 'result cache (default: $SUBLAB_CACHE or .sublab/cache in the project);\n--cache-dir DIR is the old name, accepted for now with a warning' },
  },
  positionals: { min: 1, missing: 'no .exp file given' },
} satisfies CommandSpec;

export interface ReportOptions {
  files: string[];
  formats: Format[];
  out: string;
  templates?: string;
  cacheDir?: string;
  /**
   * Provenance taken once before anything is written; callers writing several batches pass it so
   * the reports written first do not make the later ones look "dirty".
   */
  git?: GitInfo;
}

function reportOptions({ values: v, positionals }: Parsed<typeof spec.options>): ReportOptions {
  return { files: positionals, formats: formatsOf(v.format), out: v.out ?? 'reports', templates: v.templates, cacheDir: v.cache };
}

export function parseReportArgs(args: string[], warn: (m: string) => void = () => {}): ReportOptions {
  return command.parse(args, warn);
}

/** Run, judge, look up registrations, render and write. Returns the files written. */
export async function writeReports(o: ReportOptions, log: (s: string) => void = () => {}): Promise<string[]> {
  // Before any run: an --out that cannot be written fails now, not after the work.
  ensureDir(o.out, '--out');
  const results: ExperimentResult[] = [];
  const locks = new Map<string, LockState>();
  for (const f of [...new Set(o.files.map((x) => path.resolve(x)))]) {
    // A report's sweep table shows every measured metric (src/plan/needs.ts).
    const r = await runFile(f, { cacheDir: o.cacheDir, metrics: 'report', warn: (m) => log(`warning: ${m}`) });
    results.push(...r.experiments);
    const lp = lockPathFor(f);
    if (!locks.has(lp)) locks.set(lp, readLock(lp));
  }
  const lockOf = (file: string) => locks.get(lockPathFor(file))!;
  const model = await buildReportModel(results, {
    statuses: (e) => {
      const r = results.find((x) => x.experiment === e)!;
      return predictionStatuses(e, lockOf(e.file), resultEvidence(e, r.table.rows));
    },
    lockProblems: (e) => lockOf(e.file).problems.map((p) => `${path.relative(process.cwd(), lockOf(e.file).path)}:${p.line}: ${p.message}`),
    sublabVersion: version,
    git: o.git ?? gitInfo(process.cwd()),
    machine: currentMachine(),
    date: new Date().toISOString(),
    svg: o.formats.includes('html'),
    root: process.cwd(),
  });
  const written: string[] = [];
  for (const fmt of o.formats) {
    for (const [name, text] of renderReport(model, fmt, o.templates)) {
      const p = path.join(o.out, name);
      // Whole or not at all: a full disk leaves the previous report in place.
      atomicWriteFileSync(p, text);
      written.push(p);
    }
  }
  return written;
}

export const command = writerCommand(spec, reportOptions, writeReports);
