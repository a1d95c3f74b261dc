// `sublab report`: run (or read from the cache) each file's experiments, then render one report per
// experiment with the Handlebars templates, in markdown, HTML and/or LaTeX.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseFormats, writerCommand } from './writer-command.ts';
import { UsageError } from './command.ts';
import { runFile, type ExperimentResult } from '../exec/run-file.ts';
import { gitInfo, lockPathFor, readLock, type GitInfo, type LockState } from '../prereg/lock.ts';
import { predictionStatuses } from '../prereg/status.ts';
import { resultEvidence } from '../prereg/evidence.ts';
import { buildReportModel, currentMachine } from '../report/model.ts';
import { renderReport, type Format } from '../report/render.ts';
import { version } from '../version.ts';

const usage = `usage: sublab report FILE.exp... [--format md|html|tex|all] [--out DIR] [--templates DIR] [--cache DIR]

Runs each file's experiments (results already in the cache are reused, so this is quick after
\`sublab run\`) and writes one report per experiment: DIR/<experiment-slug>.<md|html|tex>.
Each prediction is shown beside its verdict with its registration status from sublab.lock;
predictions not registered before the first result are listed apart as exploratory.

options:
  --format F       md (default), html, tex, or all; repeat or comma-separate for several
  --out DIR        output folder (default: reports)
  --templates DIR  your own Handlebars templates: DIR/<format>/report.hbs (+ partials *.hbs);
                   formats missing there use the built-in ones
  --cache DIR      result cache (default: $SUBLAB_CACHE or .sublab/cache in the project);
                   --cache-dir DIR is the old name, accepted for now with a warning`;

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

export function parseReportArgs(args: string[], warn: (m: string) => void = () => {}): ReportOptions {
  const o: ReportOptions = { files: [], formats: [], out: 'reports' };
  const value = (i: number, name: string) => {
    const v = args[i];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    let a = args[i]!;
    let inline: string | undefined;
    if (a.startsWith('--') && a.includes('=')) {
      inline = a.slice(a.indexOf('=') + 1);
      a = a.slice(0, a.indexOf('='));
    }
    const take = () => inline ?? value(++i, a);
    if (a === '--format' || a === '-f') {
      o.formats.push(...parseFormats(take()));
    } else if (a === '--out' || a === '-o') o.out = take();
    else if (a === '--templates') o.templates = take();
    else if (a === '--cache') o.cacheDir = take();
    else if (a === '--cache-dir') {
      warn('--cache-dir is deprecated: use --cache DIR (the same option every command takes)');
      o.cacheDir = take();
    }
    else if (a.startsWith('-')) throw new UsageError(`unknown option "${a}"`);
    else o.files.push(a);
  }
  if (o.files.length === 0) throw new UsageError('no .exp file given');
  if (o.formats.length === 0) o.formats.push('md');
  o.formats = [...new Set(o.formats)];
  return o;
}

/** Run, judge, look up registrations, render and write. Returns the files written. */
export async function writeReports(o: ReportOptions, log: (s: string) => void = () => {}): Promise<string[]> {
  const results: ExperimentResult[] = [];
  const locks = new Map<string, LockState>();
  for (const f of [...new Set(o.files.map((x) => path.resolve(x)))]) {
    const r = await runFile(f, { cacheDir: o.cacheDir, warn: (m) => log(`warning: ${m}`) });
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
  mkdirSync(o.out, { recursive: true });
  const written: string[] = [];
  for (const fmt of o.formats) {
    for (const [name, text] of renderReport(model, fmt, o.templates)) {
      const p = path.join(o.out, name);
      writeFileSync(p, text);
      written.push(p);
    }
  }
  return written;
}

export const command = writerCommand('report', 'render reports (markdown, HTML, LaTeX): predictions beside results, with registration status', usage, parseReportArgs, writeReports);
