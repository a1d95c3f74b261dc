// The write-up of a folder of experiments (`sublab writeup DIR`): one document with a summary table
// of every prediction, then per experiment its setup in one line, the sweep table of the metrics
// its predictions use, a figure of those metrics against each swept parameter and its verdicts.
// Built from the same per-experiment report model as `sublab report`; plain data, laid out by the
// Handlebars templates `src/report/templates/<format>/writeup.hbs`.
import path from 'node:path';
import type { CheckedExperiment } from '../language/checked.ts';
import { displayedMetrics } from '../exec/summary.ts';
import { formatValue } from './charts.ts';
import { buildExperimentReport, commonProvenance, slugify, type BuildOptions, type ExperimentReport, type PredictionRow, type Provenance, type ReportInput } from './model.ts';
import { formatDuration } from './format.ts';

/** One prediction in the summary table. */
export interface SummaryRow extends PredictionRow {
  experiment: string;
  /** Anchor of the experiment's section. */
  slug: string;
}

export interface WriteupFigure {
  title: string;
  metric: string;
  param: string;
  /** Self-contained SVG (HTML); empty when not rendered. */
  svg: string;
  /** Path of the PNG the LaTeX includes, relative to the .tex; empty when none was rendered. */
  png: string;
  /** Last figure of a row of two (LaTeX). */
  rowEnd: boolean;
}

export interface WriteupExperiment extends ExperimentReport {
  /** Setup in one line: runner, what it extends, its own `set`s, every sweep (code). */
  setupLine: string[];
  /** Runs planned, and how many of them the cache holds. */
  planned: number;
  cachedRuns: number;
  /** "3 of 50 runs are not in the cache yet" or empty. */
  missingNote: string;
  figures: WriteupFigure[];
}

export interface WriteupCounts {
  total: number;
  confirmed: number;
  refuted: number;
  inconclusive: number;
  notJudged: number;
}

export interface WriteupModel {
  title: string;
  /** The folder, relative to the working directory. */
  dir: string;
  sublabVersion: string;
  generatedAt: string;
  /** Confirmatory predictions: registered before the first result. */
  predictions: SummaryRow[];
  /** Predictions registered after results existed, changed, or not registered. */
  exploratory: SummaryRow[];
  counts: { confirmatory: WriteupCounts; exploratory: WriteupCounts };
  experiments: WriteupExperiment[];
  /** Notes on figures that could not be rendered (LaTeX), shown once. */
  figureNote: string;
  lockTampered: boolean;
  lockProblems: string[];
  /**
   * The experiments and their runs in one line: "15 experiments, 248 runs (170 distinct: experiments
   * share runs), 150 of the 170 in the cache". Runs are counted by id, so a run two experiments
   * share counts once in "distinct" and in the cache count.
   */
  runCounts: string;
  /** The fields every report shares (commonProvenance), and the write-up's own. */
  provenance: Pick<Provenance, 'sublabVersion' | 'gitCommit' | 'gitDirty' | 'backends' | 'machine' | 'date'> & {
    /** Distinct runs (by id) in the cache, of the `planned` ones. */
    runs: number;
    /** Distinct runs (by id) the experiments plan together. */
    planned: number;
    /** The experiments' runs added up, a run shared by two experiments counted twice. */
    plannedTotal: number;
    /** Compute time of all cached runs, as recorded when each was first computed. */
    computeTime: string;
    /** First and last result. */
    firstResult: string;
    lastResult: string;
  };
}

export interface WriteupInput extends ReportInput {
  /** The ids of the runs the experiment plans (each once). */
  plannedIds: readonly string[];
}

function counts(rows: readonly PredictionRow[]): WriteupCounts {
  const c: WriteupCounts = { total: rows.length, confirmed: 0, refuted: 0, inconclusive: 0, notJudged: 0 };
  for (const r of rows) {
    if (r.outcome === 'confirmed') c.confirmed++;
    else if (r.outcome === 'refuted') c.refuted++;
    else if (r.outcome === 'inconclusive') c.inconclusive++;
    else c.notJudged++;
  }
  return c;
}

/** Runner, extends, the experiment's own `set`s (inherited ones are in the base's line), sweeps. */
export function setupLine(e: CheckedExperiment): string[] {
  const parts = [`runner ${e.runner.name}`];
  if (e.extendsChain.length) parts.push(`extends ${path.basename(e.extendsChain[0]!)}`);
  const swept = new Set(e.sweeps.map((s) => s.name));
  const own = e.extendsChain.length ? e.ast.sets.map((s) => s.name.name) : e.explicit;
  for (const name of own) if (!swept.has(name) && name in e.params) parts.push(`${name} = ${formatValue(e.params[name]!)}`);
  for (const s of e.sweeps) parts.push(`${s.name} in [${s.values.map(formatValue).join(', ')}]`);
  return parts;
}

/**
 * Experiments in reading order: the ones others extend first (nearest the root of the chain),
 * then by file name.
 */
export function readingOrder<T extends { experiment: CheckedExperiment }>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => a.experiment.extendsChain.length - b.experiment.extendsChain.length || a.experiment.file.localeCompare(b.experiment.file));
}

export async function buildWriteupModel(
  inputs: readonly WriteupInput[],
  opts: BuildOptions & { title: string; dir: string },
): Promise<WriteupModel> {
  const experiments: WriteupExperiment[] = [];
  const seen = new Map<string, number>();
  for (const r of readingOrder(inputs)) {
    const rep = await buildExperimentReport(r, { ...opts, metrics: opts.metrics ?? displayedMetrics });
    const k = seen.get(rep.slug) ?? 0;
    seen.set(rep.slug, k + 1);
    if (k) rep.slug = `${rep.slug}-${k + 1}`;
    const cachedRuns = new Set(r.table.rows.map((x) => x.runId)).size;
    const planned = new Set(r.plannedIds).size;
    const missing = planned - cachedRuns - new Set(r.table.failed.map((f) => f.runId)).size;
    experiments.push({
      ...rep,
      setupLine: setupLine(r.experiment),
      planned,
      cachedRuns,
      missingNote:
        cachedRuns === 0
          ? `not run yet: none of its ${planned} runs is in the cache`
          : missing > 0
            ? `${missing} of ${planned} runs are not in the cache yet: the numbers below are partial`
            : '',
      figures: rep.charts.map((c, i, all) => ({ title: c.title, metric: c.metric, param: c.param, svg: c.svg, png: '', rowEnd: i % 2 === 1 || i === all.length - 1 })),
    });
  }
  const summary = (pick: (e: WriteupExperiment) => PredictionRow[]) =>
    experiments.flatMap((e) => pick(e).map((row) => ({ ...row, experiment: e.name, slug: e.slug })));
  const predictions = summary((e) => e.confirmatory);
  const exploratory = summary((e) => e.exploratory);
  const rows = inputs.flatMap((r) => r.table.rows);
  const times = rows.map((x) => x.finishedAt).filter((t): t is string => !!t).sort();
  const computeMs = new Map<string, number>();
  for (const x of rows) computeMs.set(x.runId, x.wallMs);
  const problems = [...new Set(experiments.flatMap((e) => e.lockProblems))];
  const planned = new Set(inputs.flatMap((r) => r.plannedIds)).size;
  const plannedTotal = experiments.reduce((a, e) => a + e.planned, 0);
  return {
    title: opts.title,
    dir: opts.dir,
    sublabVersion: opts.sublabVersion,
    generatedAt: opts.date,
    predictions,
    exploratory,
    counts: { confirmatory: counts(predictions), exploratory: counts(exploratory) },
    experiments,
    figureNote: '',
    lockTampered: experiments.some((e) => e.lockTampered),
    lockProblems: problems,
    runCounts: runCounts(experiments.length, plannedTotal, planned, computeMs.size),
    provenance: {
      ...commonProvenance(opts, rows),
      runs: computeMs.size,
      planned,
      plannedTotal,
      computeTime: computeMs.size ? formatDuration([...computeMs.values()].reduce((a, b) => a + b, 0)) : '—',
      firstResult: times[0] ?? '—',
      lastResult: times[times.length - 1] ?? '—',
      date: opts.date,
    },
  };
}

/** The write-up's header line on its experiments and runs (see WriteupModel.runCounts). */
export function runCounts(experiments: number, total: number, distinct: number, cached: number): string {
  const exps = `${experiments} experiment${experiments === 1 ? '' : 's'}`;
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  const inCache =
    cached === distinct ? (distinct === 1 ? 'in the cache' : 'all in the cache') : cached === 0 ? 'none in the cache yet' : total === distinct ? `${cached} of them in the cache` : `${cached} of the ${distinct} in the cache`;
  return `${exps}, ${runs(total)}${total === distinct ? '' : ` (${distinct} distinct: experiments share runs)`}, ${inCache}`;
}

/** File-name-safe stem of a figure: `<experiment>-<metric>-<param>`. */
export function figureStem(e: { slug: string }, f: { metric: string; param: string }): string {
  return `${e.slug}-${slugify(f.metric)}-${slugify(f.param)}`;
}
