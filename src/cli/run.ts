// `sublab run FILE...`: run the experiments, print a table per experiment and every verdict.
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import { formatValue } from '../util/format-value.ts';
import { ensureDir } from '../util/ensure-dir.ts';
import type { Value } from '../language/ast.ts';
import { formatClock, createEtaEstimator, createProgressRenderer, type ProgressRenderer } from '../exec/progress.ts';
import { runFile, type ExperimentResult } from '../exec/run-file.ts';
import { failureText } from '../results/types.ts';
import { stageSharing } from '../exec/stages.ts';
import { displayedMetrics, summarizeTable } from '../exec/summary.ts';
import { escapeControl } from '../language/diagnostics.ts';
import { unusableRows } from '../exec/executor.ts';
import { handleStopSignals, signalExitCode } from '../exec/stop-signals.ts';
import { claimLabel, describeVerdict, formatNumber } from '../verdict/format.ts';
import type { Outcome, Verdict } from '../verdict/types.ts';
import { common, defineCommand, errorExit, executionOf, executionOptions, flag, overridesOf, parseOptions, text, type CommandSpec, type ExecutionOptions, type Parsed } from './args.ts';
import { UsageError } from './command.ts';
import { planFile } from '../exec/session.ts';
import { statusesForResult, statusTags, type PredictionStatus } from '../prereg/index.ts';
import { uncommittedMessage, uncommittedRegistrations, type UncommittedRegistration } from '../prereg/run-guard.ts';

const spec = {
  name: 'run',
  synopsis: 'FILE.exp... [options]',
  summary: 'run experiments and judge their predictions',
  description: `Runs every experiment in the files (cached runs are not recomputed), prints a table per
experiment (sweep point × metrics, mean ± 95% CI half-width (n)) and each prediction's verdict.
The runs compute, and the table shows, the metrics the predictions and \`measure\` lines use
(--all-metrics: every one, with the per-epoch curves; docs/metrics.md).`,
  options: {
    json: text('PATH', 'also write the rows and verdicts as JSON'),
    seeds: common.seeds,
    set: common.set,
    fresh: flag('ignore cached results (recompute and overwrite them)'),
    cache: common.cache,
    ...executionOptions,
    'allow-uncommitted-lock': common['allow-uncommitted-lock'],
    jobs: {
      arg: 'N|auto',
      help: 'processes computing runs at once, each with its own engine\n(default $SUBLAB_JOBS, else 1; auto: as many as the cores hold, e.g. 1 for\nONNX Runtime runners, which use every core, one per core for superposition).\nThey share the work through the cache, so --jobs needs it.',
      parse: (t: string, f: string): number | 'auto' => {
        if (t === 'auto') return 'auto';
        if (!/^\d+$/.test(t) || Number(t) < 1) throw new UsageError(`${f} expects a whole number >= 1 or "auto", got "${t}"`);
        return Number(t);
      },
    },
    'no-progress': flag('no progress bar or progress lines'),
    'progress-json': flag('progress as JSON lines on stderr (at most one a second, and the last)'),
  },
  footer: `Each verdict shows its prediction's registration status ([registered], [registered after
results], [changed since registration], [not registered]; see sublab register). In a git
repository, a run that would compute results while registered predictions are not committed
stops before anything runs (exit 2) and prints the git command that commits the lock.

exit status: 0 every prediction confirmed; 1 any refuted or inconclusive (or a run failed);
2 usage or language error, or uncommitted registrations.`,
  positionals: { min: 1, missing: 'no .exp file given' },
} satisfies CommandSpec;

export interface RunArgs {
  files: string[];
  json?: string;
  seeds?: number;
  overrides: Record<string, Value>;
  fresh: boolean;
  cacheDir?: string;
  /** How runs are executed (`--retries`, …): handed whole to runFile. */
  execution: ExecutionOptions;
  progress: boolean | 'json';
  /** Table every measured metric, not only those the predictions and `measure` lines use. */
  allMetrics?: boolean;
  /** undefined: $SUBLAB_JOBS or 1. */
  jobs?: number | 'auto';
  /** Run even when registered predictions are not committed (they become exploratory). */
  allowUncommittedLock?: boolean;
}

export { parseLiteral } from '../plan/plan.ts';

export function parseRunArgs(args: string[]): RunArgs {
  return runArgsOf(parseOptions(spec, args));
}

function runArgsOf({ values: v, positionals: files }: Parsed<typeof spec.options>): RunArgs {
  const out: RunArgs = {
    files,
    overrides: overridesOf(v.set),
    fresh: v.fresh === true,
    execution: executionOf(v),
    // --progress-json asks for progress in another form, so it wins over --no-progress.
    progress: v['progress-json'] ? 'json' : v['no-progress'] ? false : true,
  };
  if (v.json !== undefined) out.json = v.json;
  if (v.seeds !== undefined) out.seeds = v.seeds;
  if (v.cache !== undefined) out.cacheDir = v.cache;
  if (v.jobs !== undefined) out.jobs = v.jobs;
  if (v['all-metrics']) out.allMetrics = true;
  if (v['allow-uncommitted-lock']) out.allowUncommittedLock = true;
  for (const f of out.files) {
    if (!fs.existsSync(f)) throw new UsageError(`no such file: ${f}`);
  }
  // Said before hours of runs, not after.
  if (out.json !== undefined && fs.existsSync(out.json) && fs.statSync(out.json).isDirectory()) throw new UsageError(`--json ${out.json} is a directory; give a file name`);
  return out;
}

const mark: Record<Outcome, string> = { confirmed: '✔ confirmed', refuted: '✘ refuted', inconclusive: '? inconclusive' };

function pad(s: string, w: number, right = false): string {
  const len = [...s].length;
  return right ? ' '.repeat(Math.max(0, w - len)) + s : s + ' '.repeat(Math.max(0, w - len));
}

/**
 * Text table: one line per sweep point, one column per swept parameter and per metric — the
 * metrics the predictions and `measure` lines use, or (`all`) every measured one.
 */
export function formatResultTable(r: ExperimentResult, all = false): string {
  // Axes actually swept (a `--set` on a swept parameter collapses its axis).
  const sweeps = Object.keys(r.plan.points[0]?.values ?? {});
  const metrics = all ? r.experiment.measures : displayedMetrics(r.experiment);
  const summary = summarizeTable(r.plan, r.table, metrics);
  const head = [...(sweeps.length ? sweeps : ['point']), ...metrics];
  const body = summary.map((p) => [
    ...(sweeps.length ? sweeps.map((s) => formatValue(p.point.values[s]!)) : ['all']),
    ...metrics.map((m) => {
      const s = p.metrics[m]!;
      if (s.n === 0) return '—  (0)';
      return `${formatNumber(s.mean)}${s.half !== null ? ' ± ' + formatNumber(s.half) : ''} (${s.n})`;
    }),
  ]);
  const widths = head.map((h, i) => Math.max([...h].length, ...body.map((b) => [...b[i]!].length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => pad(c, widths[i]!, i >= (sweeps.length || 1))).join('  │  ');
  const table = [line(head), '  ' + widths.map((w) => '─'.repeat(w)).join('──┼──'), ...body.map(line)];
  const hidden = r.experiment.measures.length - metrics.length;
  // Metrics the runs did not compute (src/plan/needs.ts) are not in --json either.
  const computed = r.experiment.measures.some((m) => !metrics.includes(m) && r.table.rows.some((x) => m in x.metrics));
  if (hidden > 0) table.push(`  (${hidden} more metric${hidden === 1 ? '' : 's'} ${computed ? 'not shown: --all-metrics, --json or sublab report' : 'not computed for these predictions: --all-metrics or sublab report computes them'})`);
  return table.join('\n');
}

function formatVerdictLine(v: Verdict, status?: PredictionStatus): string {
  // The rationale (`because "..."`) is in the file and the JSON; the table keeps to the claim.
  const tag = status ? `  ${statusTags[status.status]}` : '';
  return `  ${pad(mark[v.outcome], 14)}  ${claimLabel(v.prediction, v.group)}${tag}  (line ${v.line})\n      ${describeVerdict(v)}`;
}

/** ", 2 unusable rows (1 NaN, 1 duplicate key)": every row the verdicts cannot use, by reason. */
export function unusableNote(unusable: readonly { reason: string }[]): string {
  const n = unusable.length;
  if (!n) return '';
  const by = new Map<string, number>();
  for (const u of unusable) by.set(u.reason, (by.get(u.reason) ?? 0) + 1);
  const why = by.size === 1 ? [...by.keys()][0]! : [...by].map(([reason, k]) => `${k} ${reason}`).join(', ');
  return `, ${n} unusable row${n === 1 ? '' : 's'} (${why})`;
}

/** `statuses`: each prediction's registration status (by prediction index), shown after its claim. */
export function formatExperiment(r: ExperimentResult, relFile: string, seedsOverride?: number, allMetrics = false, statuses?: readonly PredictionStatus[]): string {
  const exp = r.experiment;
  const out: string[] = [];
  out.push(`experiment "${exp.name}"  (${relFile})`);
  for (const [k, v] of Object.entries(r.plan.overrides)) out.push(`  override: ${k} = ${formatValue(v)} (from --set)`);
  const seeds = new Set(r.plan.runs.map((x) => x.seed)).size;
  if (seedsOverride !== undefined && exp.runner.seeded) out.push(`  override: seeds = ${seedsOverride} (from --seeds; the file says ${exp.seeds})`);
  const runs = new Set(r.plan.runs.map((x) => x.id)).size;
  const failed = new Set(r.table.failed.map((f) => f.runId)).size;
  const unusable = unusableRows(r.table.rows, exp.measures);
  const computed = runs - r.cacheHits - failed;
  out.push(
    `  runner ${exp.runner.name} · ${r.plan.points.length} point${r.plan.points.length === 1 ? '' : 's'} × ${seeds} seed${seeds === 1 ? '' : 's'} = ${runs} runs · ${computed} computed, ${r.cacheHits} cached, ${failed} failed${unusableNote(unusable)} · ${formatClock(r.wallMs)}` +
      (r.table.rows[0] ? ` · backend ${[...new Set(r.table.rows.map((x) => x.backend))].join(', ')}` : ''),
  );
  const shared = stageSharing(r.table.rows);
  if (shared.length) out.push(`  stages · ${shared.map((s) => `${s.stage}: ${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'} for ${s.runs} run${s.runs === 1 ? '' : 's'}`).join(' · ')}`);
  out.push('', formatResultTable(r, allMetrics), '');
  if (unusable.length) {
    out.push(`  ${unusable.length} row${unusable.length === 1 ? '' : 's'} unusable (the verdicts cannot use ${unusable.length === 1 ? 'it' : 'them'}):`);
    for (const u of unusable.slice(0, 10)) {
      const why = u.row.unusable ? `${u.row.unusable.reason}${u.row.unusable.detail ? `: ${u.row.unusable.detail}` : ''}` : u.metrics.map((m) => `${m} = ${String(u.row.metrics[m])}`).join(', ');
      out.push(`    ! run ${u.row.runId.slice(0, 12)} (seed ${u.row.seed}): ${why}`);
    }
    if (unusable.length > 10) out.push(`    … and ${unusable.length - 10} more`);
    out.push('');
  }
  if (r.table.failed.length) {
    out.push(`  ${r.table.failed.length} run${r.table.failed.length === 1 ? '' : 's'} failed (their rows are missing from the verdicts):`);
    const sweeps = exp.sweeps.map((s) => s.name);
    for (const f of r.table.failed) out.push(`    ✘ ${failureText(f, sweeps)}`);
    out.push('');
  }
  for (const v of r.verdicts) out.push(formatVerdictLine(v, statuses?.[v.predictionIndex]));
  const c = { confirmed: 0, refuted: 0, inconclusive: 0 };
  for (const v of r.verdicts) c[v.outcome]++;
  out.push('', `  ${r.verdicts.length} prediction${r.verdicts.length === 1 ? '' : 's'}: ${c.confirmed} confirmed, ${c.refuted} refuted, ${c.inconclusive} inconclusive`);
  return out.join('\n');
}

/** The `--json` shape: rows flattened (params + keys + metrics + run_id, seed, backend, wall_ms). */
export function experimentJson(r: ExperimentResult) {
  const num = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? null : x);
  return {
    name: r.experiment.name,
    file: r.experiment.file,
    overrides: r.plan.overrides,
    rows: r.table.rows.map((row) => ({
      ...row.params,
      ...row.keys,
      ...Object.fromEntries(Object.entries(row.metrics).map(([k, v]) => [k, num(v)])),
      run_id: row.runId,
      seed: row.seed,
      backend: row.backend,
      wall_ms: row.wallMs,
      cached: row.cached,
      // The stage artifacts the run used (stage → key): runs with one key shared one artifact.
      ...(row.stages ? { stage_keys: row.stages } : {}),
    })),
    ...(stageSharing(r.table.rows).length ? { stages: stageSharing(r.table.rows) } : {}),
    failed: r.table.failed.map((f) => ({ run_id: f.runId, seed: f.seed, params: f.params, error: failureText(f, r.experiment.sweeps.map((s) => s.name)) })),
    predictions: r.verdicts.map((v) => ({
      text: v.text,
      line: v.line,
      group: v.group,
      verdict: v.outcome,
      test: v.test,
      statistic: v.statistic ? num(v.statistic.value) : null,
      statistic_name: v.statistic?.name ?? null,
      effect: v.effect ? num(v.effect.value) : null,
      effect_name: v.effect?.name ?? null,
      ci: v.effect ? [num(v.effect.ci[0]), num(v.effect.ci[1])] : null,
      p: num(v.p),
      p_adjusted: num(v.pAdjusted),
      n: v.n,
      reason: v.reason,
      // The standardised effect, the CI's level, rows per sweep point (used, and why not), seeds
      // used, and for inconclusive verdicts the MDE at 80% power and the seeds needed.
      ci_level: v.effect ? (v.effect.level ?? 0.95) : null,
      standardized: v.standardized ? num(v.standardized.value) : null,
      standardized_name: v.standardized?.name ?? null,
      mc_error: num(v.mcError ?? null),
      rows_per_point: (v.rows?.points ?? []).map((p) => ({ point: p.label, total: p.total, used: p.used, nan: p.nan, infinite: p.infinite, missing: p.missing, unmatched: p.unmatched, failed: p.failed })),
      rows_not_used: v.rowsNote ?? '',
      seeds: v.rows?.seeds ?? [],
      mde: v.power ? num(v.power.mde) : null,
      mde_standardized: v.power ? num(v.power.mdeStandardized) : null,
      n_needed: v.power ? (v.power.nNeeded === null ? null : Number.isFinite(v.power.nNeeded) ? v.power.nNeeded : null) : null,
      n_needed_unit: v.power?.unit ?? null,
    })),
  };
}

/**
 * Machine-readable progress: one JSON object per line on stderr, throttled. `eta` is the estimate
 * the bar shows (`lowerBound`: only the rest of the current phase is known yet).
 */
function jsonProgress(): ProgressRenderer {
  let last = 0;
  let estimate = createEtaEstimator();
  let experiment: string | undefined;
  return {
    update(p) {
      if (p.experiment !== experiment) {
        experiment = p.experiment;
        estimate = createEtaEstimator();
      }
      const eta = estimate(p);
      const now = Date.now();
      if (!p.finished && now - last < 1000) return;
      last = now;
      process.stderr.write(JSON.stringify({ progress: p, eta }) + '\n');
    },
    stop() {},
  };
}

/** Registration statuses for the verdict lines; a lock that cannot be read only loses the tags. */
function registration(r: ExperimentResult): PredictionStatus[] | undefined {
  try {
    return statusesForResult(r);
  } catch {
    return undefined;
  }
}

/** Run the parsed command; usage errors never reach here (defineCommand prints them). */
async function runParsed(parsed: RunArgs): Promise<number> {
  // Before anything runs: results computed while registered predictions are not committed would
  // make them exploratory for good.
  if (!parsed.allowUncommittedLock) {
    const found: UncommittedRegistration[] = [];
    for (const file of parsed.files) {
      let plans;
      try {
        plans = planFile(file, { overrides: parsed.overrides, seeds: parsed.seeds }).plans;
      } catch {
        continue; // a file that does not plan fails below, with its own message
      }
      found.push(...uncommittedRegistrations(plans, { cacheDir: parsed.cacheDir, fresh: parsed.fresh }));
    }
    if (found.length) {
      process.stderr.write(`sublab run: error: ${uncommittedMessage(found, '--allow-uncommitted-lock')}\n`);
      return 2;
    }
  }
  if (parsed.json) {
    // Its folder now, before any run: one that cannot be made fails at once.
    try {
      ensureDir(path.dirname(path.resolve(parsed.json)), '--json');
    } catch (e) {
      process.stderr.write(`sublab run: error: ${escapeControl((e as Error).message)}\n`);
      return 2;
    }
  }
  // SIGINT, SIGTERM and SIGHUP alike: stop the programs, keep what finished, exit 128 + signal.
  const stop = handleStopSignals((sig) => {
    process.stderr.write(`\nsublab: interrupted (${sig}); stopping (finished runs are kept; ${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit now)\n`);
  });
  const controller = { signal: stop.signal };
  const results: ExperimentResult[] = [];
  let exit = 0;
  try {
    for (const file of parsed.files) {
      const rel = path.relative(process.cwd(), path.resolve(file)) || file;
      const bar = parsed.progress === 'json' ? jsonProgress() : parsed.progress ? createProgressRenderer() : undefined;
      try {
        await runFile(file, {
          overrides: parsed.overrides,
          seeds: parsed.seeds,
          fresh: parsed.fresh,
          cacheDir: parsed.cacheDir,
          execution: parsed.execution,
          ...(parsed.allMetrics ? { metrics: 'all' as const } : {}),
          jobs: parsed.jobs,
          signal: controller.signal,
          onProgress: bar ? (p) => bar.update(p) : undefined,
          warn: (m) => {
            bar?.stop();
            process.stderr.write(`sublab: warning: ${escapeControl(m)}\n`);
          },
          onExperiment: (r) => {
            bar?.stop();
            results.push(r);
            // Names and values come from the file and the runner: never let them drive the terminal.
            process.stdout.write(escapeControl(formatExperiment(r, rel, parsed.seeds, parsed.allMetrics, registration(r))) + '\n\n');
            if (r.table.failed.length || r.verdicts.some((v) => v.outcome !== 'confirmed')) exit = Math.max(exit, 1);
          },
        });
      } catch (e) {
        bar?.stop();
        const code = errorExit('run', e);
        if (code !== undefined) exit = code;
        else if (controller.signal.aborted) {
          process.stderr.write(`sublab run: interrupted; finished runs are cached, run the same command again to resume\n`);
          return signalExitCode(stop.received() ?? 'SIGINT');
        } else {
          process.stderr.write(`sublab run: error: ${escapeControl(`${rel}: ${(e as Error).message}`)}\n`);
          exit = Math.max(exit, 1);
        }
      }
    }
  } finally {
    stop.dispose();
  }
  if (parsed.json) {
    try {
      atomicWriteFileSync(parsed.json, JSON.stringify({ experiments: results.map(experimentJson) }, null, 2) + '\n');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EISDIR' ? 'it is a directory' : code ?? (e as Error).message;
      process.stderr.write(`sublab run: error: cannot write --json ${parsed.json}: ${why} (the results are cached: run again with another path)\n`);
      return Math.max(exit, 1);
    }
  }
  return exit;
}

export const command = defineCommand(spec, (p) => runParsed(runArgsOf(p)));

/** `sublab run ARGS...`: the exit status. */
export function runCommand(args: string[]): Promise<number> {
  return command.run(args);
}
