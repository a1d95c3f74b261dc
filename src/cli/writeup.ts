// `sublab writeup DIR`: one document for a folder of experiments, from the result cache only (no run
// is computed: an experiment not run yet is shown as such), in markdown, HTML and/or LaTeX.
import { ensureDir } from '../util/ensure-dir.ts';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import path from 'node:path';
import { formatsOf, writerCommand, writerOptions } from './writer-command.ts';
import { text, type CommandSpec, type Parsed } from './args.ts';
import { UsageError } from './command.ts';
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { toRows } from '../exec/executor.ts';
import { loadPlan } from '../exec/session.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import { gitInfo, lockPathFor, readLock, type GitInfo, type LockState } from '../prereg/lock.ts';
import { predictionStatuses } from '../prereg/status.ts';
import { resultEvidence } from '../prereg/evidence.ts';
import type { FailedRun, ResultRow, ResultTable } from '../results/types.ts';
import { currentMachine } from '../report/model.ts';
import { escapeModel, inlineCode, loadTemplate, type Format } from '../report/render.ts';
import { buildWriteupModel, figureStem, type WriteupInput, type WriteupModel } from '../report/writeup.ts';
import { judgeExperiment } from '../verdict/judge.ts';
import { version } from '../version.ts';
import { appendAll } from '../util/arrays.ts';

const spec = {
  name: 'writeup',
  synopsis: 'DIR... [--format md|html|tex|all] [--out DIR] [--templates DIR] [--cache DIR]',
  summary: 'one write-up (md, html, tex) for a folder of experiments, from the cache: summary, tables, figures, verdicts',
  description: `One document for a folder of experiments (every .exp in DIR; .exp files may be given too): a
summary table of every prediction (verdict, test, effect with 95% CI, adjusted p, registration),
then per experiment its setup in one line, the sweep table of the metrics its predictions use
(mean ± 95% CI, n), a figure of those metrics against each swept parameter, and its verdicts.
Predictions not registered before the first result are kept apart as exploratory.

Reads the result cache only: nothing is trained or computed. Experiments (or runs) missing from
the cache are shown as not run yet. Run them first with \`sublab run\`.

Writes OUT/writeup.<md|html|tex>; the LaTeX is a complete document (pdflatex) whose figures are
PNG files in OUT/writeup-figures/ (rendered from the same Vega-Lite charts as the HTML; without
the optional \`sharp\` module the LaTeX says where the SVG files are instead).`,
  options: {
    ...writerOptions,
    out: { ...writerOptions.out, help: 'output folder (default: reports/<name of the first DIR>)' },
    templates: { ...writerOptions.templates, help: 'your own Handlebars templates: DIR/<format>/writeup.hbs (+ partials *.hbs)' },
    cache: { ...writerOptions.cache, help: 'result cache (default: $SUBLAB_CACHE or .sublab/cache in the project)' },
    title: text('TEXT', 'document title (default: the first heading of DIR/README.md, else the folder name)'),
  },
  positionals: { min: 1, missing: 'no folder of experiments given' },
} satisfies CommandSpec;

export interface WriteupOptions {
  inputs: string[];
  formats: Format[];
  out?: string;
  templates?: string;
  cacheDir?: string;
  title?: string;
  git?: GitInfo;
}

function writeupOptions({ values: v, positionals }: Parsed<typeof spec.options>): WriteupOptions {
  for (const p of positionals) if (!existsSync(p)) throw new UsageError(`no such file or folder: ${p}`);
  return { inputs: positionals, formats: formatsOf(v.format), out: v.out, templates: v.templates, cacheDir: v.cache, title: v.title };
}

export function parseWriteupArgs(args: string[], warn: (m: string) => void = () => {}): WriteupOptions {
  return command.parse(args, warn);
}

/** The .exp files of the inputs: folders (not recursive) and files, each once, sorted per folder. */
export function expFilesOf(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of inputs) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (f.endsWith('.exp')) out.push(path.resolve(p, f));
    } else out.push(path.resolve(p));
  }
  return [...new Set(out)];
}

/** First `# heading` of DIR/README.md, else the folder's name. */
export function titleOf(dir: string): string {
  const readme = path.join(dir, 'README.md');
  if (existsSync(readme)) {
    const m = /^# +(.+?)\s*#*\s*$/m.exec(readFileSync(readme, 'utf8'));
    if (m) return m[1]!;
  }
  return path.basename(path.resolve(dir));
}

/** The plan's results as the cache holds them; nothing computed, nothing claimed, nothing moved. */
export function cachedTable(plan: ExperimentPlan, cache: ResultCache | null, warn: (m: string) => void): { table: ResultTable; plannedIds: string[] } {
  const exp = plan.experiment;
  const rows: ResultRow[] = [];
  const failed: FailedRun[] = [];
  const extras: Record<string, Record<string, unknown>> = {};
  const ids = new Set<string>();
  for (const run of plan.runs) {
    ids.add(run.id);
    if (!cache) continue;
    const r = cache.inspect(run.id);
    if (r.status === 'corrupt') {
      warn(`corrupt cache entry ${r.file} (${r.reason}); left as it is, its run counts as missing`);
      continue;
    }
    if (r.status !== 'hit') continue;
    if (r.entry.output.extras) extras[run.id] = r.entry.output.extras;
    // The executor's own conversion: non-finite metrics restored, first computation's time and commit kept.
    appendAll(rows, toRows(run, r.entry, true));
  }
  rows.sort((a, b) => a.point - b.point || a.seed - b.seed);
  return { table: { experiment: exp.name, file: exp.file, rows, failed, extras }, plannedIds: [...ids] };
}

type Sharp = (input: Buffer, opts?: { density?: number }) => { png(): { toFile(p: string): Promise<unknown> } };

async function loadSharp(): Promise<Sharp | null> {
  try {
    const m = (await import('sharp')) as unknown as { default: Sharp };
    return m.default;
  } catch {
    return null;
  }
}

/** Write the figures the LaTeX includes: PNG (via sharp) or, without it, the SVG files. */
async function writeFigures(model: WriteupModel, out: string): Promise<void> {
  const dir = path.join(out, 'writeup-figures');
  const figures = model.experiments.flatMap((e) => e.figures.map((f) => ({ e, f })));
  rmSync(dir, { recursive: true, force: true });
  if (figures.length === 0) return;
  mkdirSync(dir, { recursive: true });
  const sharp = await loadSharp();
  for (const { e, f } of figures) {
    const stem = figureStem(e, f);
    if (!f.svg) continue;
    if (sharp) {
      // 3× the SVG's 72 dpi: sharp at print size.
      await sharp(Buffer.from(f.svg), { density: 216 }).png().toFile(path.join(dir, `${stem}.png`));
      f.png = `writeup-figures/${stem}.png`;
    } else atomicWriteFileSync(path.join(dir, `${stem}.svg`), f.svg);
  }
  if (!sharp) {
    model.figureNote =
      'The figures are not included: the optional sharp module (installed with @huggingface/transformers) is missing, so no PNG was rendered. ' +
      `Their SVG files are in ${path.basename(out)}/writeup-figures/ (convert with e.g. rsvg-convert -f pdf), and the HTML write-up shows them.`;
  }
}

/** Plan every file, read the cache, judge, render. Returns the files written. */
export async function writeWriteup(o: WriteupOptions, log: (s: string) => void = () => {}): Promise<string[]> {
  const files = expFilesOf(o.inputs);
  if (files.length === 0) throw new UsageError(`no .exp file in ${o.inputs.join(', ')}`);
  const firstDir = statSync(o.inputs[0]!).isDirectory() ? o.inputs[0]! : path.dirname(o.inputs[0]!);
  const out = o.out ?? path.join('reports', path.basename(path.resolve(firstDir)));
  ensureDir(out, '--out');
  const inputs: WriteupInput[] = [];
  const locks = new Map<string, LockState>();
  const caches = new Map<string, ResultCache | null>();
  const warn = (m: string) => log(`warning: ${m}`);
  for (const f of files) {
    const { plans } = await loadPlan(f);
    const dir = resolveCacheDir(o.cacheDir, f);
    if (!caches.has(dir)) {
      // Opening a cache creates its folder; a write-up must not, so a missing one stays missing.
      if (!existsSync(dir)) warn(`no result cache at ${path.relative(process.cwd(), dir) || dir}: its experiments show as not run`);
      caches.set(dir, existsSync(dir) ? new ResultCache(dir, { warn }) : null);
    }
    const cache = caches.get(dir) ?? null;
    for (const plan of plans) {
      const t0 = performance.now();
      const { table, plannedIds } = cachedTable(plan, cache, warn);
      const verdicts = table.rows.length ? judgeExperiment(plan.experiment, table) : [];
      const hits = new Set(table.rows.map((r) => r.runId)).size;
      inputs.push({ experiment: plan.experiment, table, verdicts, wallMs: performance.now() - t0, cacheHits: hits, plannedIds });
    }
    const lp = lockPathFor(f);
    if (!locks.has(lp)) locks.set(lp, readLock(lp));
  }
  const lockOf = (file: string) => locks.get(lockPathFor(file))!;
  const model = await buildWriteupModel(inputs, {
    // The same evidence `sublab report` uses: first results from the rows (and the ledger), and their commits.
    statuses: (e) => predictionStatuses(e, lockOf(e.file), resultEvidence(e, inputs.find((x) => x.experiment === e)!.table.rows)),
    lockProblems: (e) => lockOf(e.file).problems.map((p) => `${path.relative(process.cwd(), lockOf(e.file).path)}:${p.line}: ${p.message}`),
    sublabVersion: version,
    git: o.git ?? gitInfo(process.cwd()),
    machine: currentMachine(),
    date: new Date().toISOString(),
    svg: o.formats.includes('html') || o.formats.includes('tex'),
    root: process.cwd(),
    title: o.title ?? titleOf(firstDir),
    dir: path.relative(process.cwd(), path.resolve(firstDir)) || '.',
  });
  if (o.formats.includes('tex')) await writeFigures(model, out);
  const written: string[] = [];
  for (const fmt of o.formats) {
    const p = path.join(out, `writeup.${fmt}`);
    atomicWriteFileSync(p, renderWriteup(model, fmt, o.templates));
    written.push(p);
  }
  return written;
}

/** The write-up in one format (every string escaped for it first, as for reports). */
export function renderWriteup(model: WriteupModel, format: Format, userDir?: string): string {
  const template = loadTemplate(format, userDir, 'writeup');
  // Only HTML embeds the SVG; the other formats need not carry (and escape) it.
  const m = format === 'html' ? model : { ...model, experiments: model.experiments.map((e) => ({ ...e, figures: e.figures.map((f) => ({ ...f, svg: '' })), charts: e.charts.map((c) => ({ ...c, svg: '' })) })) };
  // The title is a README heading: its code spans render as code (heading) or plain (title).
  return template({ ...escapeModel({ ...m, format }, format), title: inlineCode(m.title, format, true), heading: inlineCode(m.title, format) });
}

export const command = writerCommand(spec, writeupOptions, writeWriteup);
