// The report as plain data: everything a template prints, already formatted. Built from run results,
// registration statuses and provenance; templates only lay it out (and tests can hand-make one).
import { shortKey, stageSharing } from '../exec/stages.ts';
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { CheckedExperiment } from '../language/checked.ts';
import type { ResultTable } from '../results/types.ts';
import type { Verdict } from '../verdict/types.ts';
import type { GitInfo } from '../prereg/lock.ts';
import type { PredictionStatus } from '../prereg/status.ts';
import { amendmentNotes, linesText, noteNumber } from './amendments.ts';
import { asciiChart, chartData, formatValue, svgChart } from './charts.ts';
import { summarize } from '../exec/summary.ts';
import { has } from '../util/records.ts';
import { claimLabel, formatDf } from '../verdict/format.ts';
import { formatCi, formatDuration, formatMeanCi, formatNumber, formatP } from './format.ts';

export interface ReportModel {
  sublabVersion: string;
  /** ISO date-time the report was generated. */
  generatedAt: string;
  experiments: ExperimentReport[];
}

export interface SetupItem {
  name: string;
  value: string;
}

export interface PredictionRow {
  line: number;
  /** The claim, without its `because` (in `because`), plus " [animal = owls]" for a for-each group. */
  text: string;
  because: string;
  status: string;
  statusLabel: string;
  /** The status in a word or two, for narrow tables ("before results", "after results", …). */
  statusShort: string;
  /** Reason recorded by `sublab register --amend`, if the registration in force is an amendment. */
  amendReason: string;
  /** The number of that reason's note in the report's `amendments` (0: not amended). */
  amendNote: number;
  test: string;
  statistic: string;
  effect: string;
  p: string;
  pAdjusted: string;
  n: string;
  outcome: string;
  /** Emoji mark for markdown (✅ ❌ ❔). */
  mark: string;
  /** Plain symbol every font has (✓ ✗ ?), for HTML. */
  symbol: string;
  reason: string;
  /**
   * Further numbers the verdict carries when the verdict engine provides them (minimum detectable
   * effect, seeds needed, unusable rows, standardised effect), as one line; empty otherwise.
   */
  extra: string;
}

export interface ChartReport {
  title: string;
  metric: string;
  param: string;
  /** ASCII chart (code block / <pre>). */
  ascii: string;
  /** Self-contained SVG (HTML only; empty when not rendered). */
  svg: string;
}

export interface Provenance {
  sublabVersion: string;
  gitCommit: string;
  gitDirty: string;
  backends: string;
  machine: string;
  runs: number;
  cacheHits: number;
  /** Wall time of this report's plan + execution + judging. */
  wallTime: string;
  /** Mean compute time per run, as recorded when each run was first computed. */
  meanRunTime: string;
  date: string;
  /**
   * A staged runner's shared artifacts (src/exec/stages.ts): "teacher: 4 artifacts for 12 runs
   * (3a2b1c4d5e6f, …)"; absent for runners without stages.
   */
  stages?: string;
}

export interface ExperimentReport {
  name: string;
  slug: string;
  file: string;
  runner: string;
  runnerDescription: string;
  /** Parameters set explicitly (here or through extends). */
  setup: SetupItem[];
  /** Remaining parameters at their runner defaults. */
  defaults: SetupItem[];
  sweeps: SetupItem[];
  seeds: number;
  alpha: string;
  correction: string;
  sweepTable: SweepTable;
  /**
   * The same table with at most TABLE_METRICS metric columns each (LaTeX: one table per part, so
   * every part fits the text width).
   */
  sweepTableParts: SweepTable[];
  /** With a single sweep point (nothing swept): the table transposed, one row per metric. */
  byMetric: { metric: string; cell: string; n: number }[];
  /**
   * Metrics shown that no run computed (a runner computes only what was asked: src/plan/needs.ts):
   * their cells say "not computed" and they get no chart.
   */
  notComputed: string[];
  confirmatory: PredictionRow[];
  exploratory: PredictionRow[];
  /**
   * Each amendment reason once, numbered in table order (confirmatory rows, then exploratory):
   * the rows it covers carry its number in `amendNote`.
   */
  amendments: { number: number; lines: string; reason: string }[];
  /** True when some prediction's status comes from a lock that fails verification. */
  lockTampered: boolean;
  lockProblems: string[];
  charts: ChartReport[];
  failed: { params: string; error: string }[];
  provenance: Provenance;
}

export interface SweepTable {
  axes: string[];
  metrics: string[];
  rows: { values: string[]; n: number; cells: string[] }[];
}

/** Metric columns per LaTeX table part. */
export const TABLE_METRICS = 4;

/** What buildReportModel needs of one experiment's run (ExperimentResult satisfies it). */
export interface ReportInput {
  experiment: CheckedExperiment;
  table: ResultTable;
  verdicts: Verdict[];
  wallMs: number;
  cacheHits: number;
}

export interface Machine {
  os: string;
  cpu: string;
  cores: number;
}

export function currentMachine(): Machine {
  const cpus = os.cpus();
  return { os: `${os.type()} ${os.release()} (${os.arch()})`, cpu: cpus[0]?.model.trim() ?? 'unknown cpu', cores: cpus.length };
}

export interface BuildOptions {
  /** Registration status of each prediction of each experiment (same order as its predictions). */
  statuses: (e: CheckedExperiment) => PredictionStatus[];
  lockProblems?: (e: CheckedExperiment) => string[];
  sublabVersion: string;
  git: GitInfo;
  machine: Machine;
  /** ISO date-time; fixed in tests. */
  date: string;
  /** Render Vega SVG charts (HTML). */
  svg?: boolean;
  /** Make `file` relative to this folder. */
  root?: string;
  /** The metrics to tabulate and chart (default: every measured metric). */
  metrics?: (e: CheckedExperiment) => string[];
}

const marks = { confirmed: '✅', refuted: '❌', inconclusive: '❔' } as const;
const symbols = { confirmed: '✓', refuted: '✗', inconclusive: '?' } as const;
const shortStatus: Record<string, string> = {
  'registered-before': 'before results',
  registered: 'registered',
  'registered-after': 'after results',
  changed: 'changed',
  'not-registered': 'not registered',
  tampered: 'lock tampered',
};

/**
 * What a verdict carries beyond its reason, where the verdict engine provides it: the
 * standardised effect, rows it could not use, and for an inconclusive verdict the minimum
 * detectable effect and the seeds it would need. Each is optional in `Verdict` (verdicts made by
 * hand have none of it); anything the reason already says is not repeated.
 */
export function verdictExtra(v: Verdict): string {
  const parts: string[] = [];
  const std = v.standardized;
  if (std) {
    const text = `${std.name} = ${formatNumber(std.value)}`;
    if (!v.reason.includes(std.name)) parts.push(text);
  }
  if (v.rowsNote && !v.reason.includes(v.rowsNote)) parts.push(v.rowsNote);
  const power = v.power;
  if (power) {
    if (power.text) {
      if (!v.reason.includes(power.text)) parts.push(power.text);
    } else {
      parts.push(`MDE at 80% power ${formatNumber(power.mde)}${typeof power.nNeeded === 'number' ? `, about ${Math.ceil(power.nNeeded)} seeds needed` : ''}`);
    }
  }
  return parts.join('; ');
}

export function slugify(name: string): string {
  const folded = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const s = folded
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  // Letters or digits outside a-z0-9 (Cyrillic, CJK, …) were dropped: a short hash of the name
  // keeps two such experiments from sharing one report file.
  if (/[\p{L}\p{N}]/u.test(folded.replace(/[A-Za-z0-9]/g, ''))) {
    const h = createHash('sha256').update(name).digest('hex').slice(0, 8);
    return s ? `${s}-${h}` : `experiment-${h}`;
  }
  return s || 'experiment';
}

/** Provenance lines a report and a write-up share: sublab version, git, engines, machine. */
export function commonProvenance(
  opts: { sublabVersion: string; git: GitInfo; machine: Machine }, rows: readonly { backend: string }[],
): { sublabVersion: string; gitCommit: string; gitDirty: string; backends: string; machine: string } {
  return {
    sublabVersion: opts.sublabVersion,
    gitCommit: opts.git.commit ?? 'not a git repository',
    gitDirty: opts.git.dirty === null ? 'unknown' : opts.git.dirty ? 'yes' : 'no',
    backends: [...new Set(rows.map((x) => x.backend))].sort().join(', ') || '—',
    machine: `${opts.machine.os}, ${opts.machine.cpu}, ${opts.machine.cores} cores`,
  };
}

/** After the effect and its CI: the CI's level when not 95% (flat's 1 − alpha), and the standardised effect. */
function effectNote(v: Verdict): string {
  const level = v.effect?.level;
  const lv = level !== undefined && level !== 0.95 ? ` (${formatNumber(100 * level, 3)}% CI)` : '';
  const sd = v.standardized && v.standardized.name !== 'rho' && Number.isFinite(v.standardized.value) ? `, ${v.standardized.name} = ${formatNumber(v.standardized.value)}` : '';
  return lv + sd;
}

function predictionRows(e: CheckedExperiment, verdicts: readonly Verdict[], statuses: readonly PredictionStatus[]): { row: PredictionRow; exploratory: boolean }[] {
  const out: { row: PredictionRow; exploratory: boolean }[] = [];
  e.predictions.forEach((p, i) => {
    const st = statuses.find((s) => s.prediction === p) ?? statuses[i];
    const base = {
      line: p.loc.line,
      because: p.because?.value ?? '',
      status: st?.status ?? 'not-registered',
      statusLabel: st?.label ?? 'not registered',
      statusShort: shortStatus[st?.status ?? 'not-registered'] ?? st?.label ?? 'not registered',
      amendReason: st?.amendReason ?? '',
      amendNote: 0,
    };
    const exploratory = st ? st.exploratory : true;
    const vs = verdicts.filter((v) => v.predictionIndex === i);
    if (vs.length === 0) {
      out.push({
        exploratory,
        row: { ...base, text: claimLabel(p), test: '—', statistic: '—', effect: '—', p: '—', pAdjusted: '—', n: '0', outcome: 'not judged', mark: '—', symbol: '—', reason: 'no verdict (no results)', extra: '' },
      });
    }
    for (const v of vs) {
      out.push({
        exploratory,
        row: {
          ...base,
          text: claimLabel(p, v.group),
          test: v.test,
          statistic: v.statistic ? `${v.statistic.name}${v.statistic.df !== undefined ? `(${formatDf(v.statistic.df)})` : ''} = ${formatNumber(v.statistic.value)}` : '—',
          effect: v.effect ? `${v.effect.name} = ${formatNumber(v.effect.value)} ${formatCi(v.effect.ci)}${effectNote(v)}` : '—',
          p: formatP(v.p),
          pAdjusted: formatP(v.pAdjusted),
          n: String(v.n),
          outcome: v.outcome,
          mark: marks[v.outcome],
          symbol: symbols[v.outcome],
          reason: v.reason,
          extra: verdictExtra(v),
        },
      });
    }
  });
  return out;
}

/** The cell of a metric no run computed. */
export const NOT_COMPUTED = 'not computed';

export async function buildExperimentReport(r: ReportInput, opts: BuildOptions): Promise<ExperimentReport> {
  const e = r.experiment;
  const rows = r.table.rows;
  const swept = new Set(e.sweeps.map((s) => s.name));
  const explicit = new Set(e.explicit);
  const setup: SetupItem[] = [];
  const defaults: SetupItem[] = [];
  for (const [name, v] of Object.entries(e.params)) {
    if (swept.has(name)) continue;
    (explicit.has(name) ? setup : defaults).push({ name, value: formatValue(v) });
  }

  const metrics = opts.metrics ? opts.metrics(e).filter((m) => e.measures.includes(m)) : [...e.measures];
  // A column no row has is not data: it was not computed (an empty column would read as missing values).
  const notComputed = rows.length ? metrics.filter((m) => !rows.some((x) => has(x.metrics, m))) : [];
  // Sweep table: one row per grid point, in plan order.
  const axes = e.sweeps.map((s) => s.name);
  const byPoint = new Map<number, typeof rows>();
  for (const row of rows) {
    // Appended in place: copying the list per row is quadratic (a run may have 200,000 rows).
    const list = byPoint.get(row.point);
    if (list) list.push(row);
    else byPoint.set(row.point, [row]);
  }
  const tableRows = [...byPoint.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, rs]) => ({
      values: axes.map((a) => formatValue(rs[0]!.params[a]!)),
      n: rs.length,
      cells: metrics.map((m) => {
        if (notComputed.includes(m)) return NOT_COMPUTED;
        const s = summarize(rs.map((x) => x.metrics[m] ?? NaN));
        return s.n === 0 ? '—' : formatMeanCi(s.mean, s.half);
      }),
    }));

  const predRows = predictionRows(e, r.verdicts, opts.statuses(e));
  const confirmatory = predRows.filter((x) => !x.exploratory).map((x) => x.row);
  const exploratory = predRows.filter((x) => x.exploratory).map((x) => x.row);
  const notes = amendmentNotes([...confirmatory, ...exploratory]);
  for (const row of [...confirmatory, ...exploratory]) row.amendNote = noteNumber(notes, row.amendReason);
  const charts: ChartReport[] = [];
  for (const c of chartData(e.sweeps, metrics.filter((m) => !notComputed.includes(m)), rows)) {
    charts.push({ title: c.title, metric: c.metric, param: c.param, ascii: asciiChart(c), svg: opts.svg ? await svgChart(c) : '' });
  }
  const computed = new Map<string, number>();
  for (const row of rows) computed.set(row.runId, row.wallMs);
  const runTimes = [...computed.values()];
  const statuses = opts.statuses(e);
  return {
    name: e.name,
    slug: slugify(e.name),
    file: opts.root ? relative(opts.root, e.file) : e.file,
    runner: e.runner.name,
    runnerDescription: e.runner.description,
    setup,
    defaults,
    sweeps: e.sweeps.map((s) => ({ name: s.name, value: s.values.map(formatValue).join(', ') })),
    seeds: e.seeds,
    alpha: formatNumber(e.alpha),
    correction: e.correction,
    sweepTable: { axes, metrics, rows: tableRows },
    sweepTableParts: splitTable({ axes, metrics, rows: tableRows }, TABLE_METRICS),
    byMetric: tableRows.length === 1 ? metrics.map((m, i) => ({ metric: m, cell: tableRows[0]!.cells[i]!, n: tableRows[0]!.n })) : [],
    notComputed,
    confirmatory,
    exploratory,
    amendments: notes.map((n) => ({ number: n.number, lines: linesText(n.lines), reason: n.reason })),
    lockTampered: statuses.some((s) => s.status === 'tampered'),
    lockProblems: opts.lockProblems?.(e) ?? [],
    charts,
    failed: groupFailures(r.table.failed, swept),
    provenance: {
      ...commonProvenance(opts, rows),
      runs: computed.size,
      cacheHits: r.cacheHits,
      wallTime: formatDuration(r.wallMs),
      meanRunTime: runTimes.length ? formatDuration(runTimes.reduce((a, b) => a + b, 0) / runTimes.length) : '—',
      date: opts.date,
      ...(stagesProvenance(rows) ? { stages: stagesProvenance(rows) } : {}),
    },
  };
}

/** Per stage: how many artifacts the runs shared, with their short keys (the first six). */
export function stagesProvenance(rows: readonly { runId: string; stages?: Record<string, string> }[]): string {
  return stageSharing(rows)
    .map((s) => {
      const keys = [...new Set(rows.flatMap((r) => (r.stages?.[s.stage] ? [shortKey(r.stages[s.stage]!)] : [])))];
      return `${s.stage}: ${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'} for ${s.runs} run${s.runs === 1 ? '' : 's'} (${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''})`;
    })
    .join('; ');
}

/** The table cut into parts of at most `k` metric columns (each part keeps the axes and n). */
export function splitTable(t: SweepTable, k: number): SweepTable[] {
  if (t.metrics.length <= k) return [t];
  const parts: SweepTable[] = [];
  // Even parts: 14 metrics in 4 parts of 4-4-3-3 rather than 4-4-4-2.
  const n = Math.ceil(t.metrics.length / k);
  const size = Math.ceil(t.metrics.length / n);
  for (let i = 0; i < t.metrics.length; i += size) {
    parts.push({ axes: t.axes, metrics: t.metrics.slice(i, i + size), rows: t.rows.map((r) => ({ ...r, cells: r.cells.slice(i, i + size) })) });
  }
  return parts;
}

/**
 * Failed runs grouped by error message (a model that cannot load fails every run the same way:
 * one line listing the runs, not one paragraph per run).
 */
function groupFailures(failed: ResultTable['failed'], swept: ReadonlySet<string>): { params: string; error: string }[] {
  const groups = new Map<string, string[]>();
  for (const f of failed) {
    const where = Object.entries(f.params)
      .filter(([k]) => swept.has(k))
      .map(([k, v]) => `${k} = ${formatValue(v)}`)
      .concat(`seed ${f.seed}`)
      .join(', ');
    const list = groups.get(f.error);
    if (list) list.push(where);
    else groups.set(f.error, [where]);
  }
  return [...groups.entries()].map(([error, runs]) => ({ params: runs.join('; '), error }));
}

function relative(root: string, file: string): string {
  const norm = (s: string) => s.split('\\').join('/');
  const r = norm(root).replace(/\/+$/, '') + '/';
  const f = norm(file);
  return f.startsWith(r) ? f.slice(r.length) : f;
}

export async function buildReportModel(results: readonly ReportInput[], opts: BuildOptions): Promise<ReportModel> {
  const experiments: ExperimentReport[] = [];
  const seen = new Map<string, number>();
  for (const r of results) {
    const rep = await buildExperimentReport(r, opts);
    // Two experiments with the same name (different files) must not overwrite each other's report.
    const k = seen.get(rep.slug) ?? 0;
    seen.set(rep.slug, k + 1);
    if (k) rep.slug = `${rep.slug}-${k + 1}`;
    experiments.push(rep);
  }
  return { sublabVersion: opts.sublabVersion, generatedAt: opts.date, experiments };
}
