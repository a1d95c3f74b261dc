// The executor: plan → result table. Cached runs are read, the rest are claimed, grouped by sweep
// point (runs that differ only by seed) and handed to the runner; every finished run is written to
// the cache at once, so a crash loses only the runs in flight.
import { has, record } from '../util/records.ts';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PlannedRun, ExperimentPlan } from '../plan/types.ts';
import { describeRun, type ResultRow, type ResultTable } from '../results/types.ts';
import type { Runner, RunOutput, RunSpec } from '../runners/schema.ts';
import { runnerFor } from '../runners/registry.ts';
import { gitInfo } from '../prereg/lock.ts';
import os from 'node:os';
import { holdsParts, type CacheEntry, type ClaimInfo, type EntryGit, type ResultCache } from './cache.ts';
import { groupParts, stored, type GroupParts } from './partial.ts';
import type { ExecProgress } from './progress.ts';
import { RunOutcomes } from './outcomes.ts';
import { batches, byPoint, maxGroupOf } from './shard.ts';
import { claimWaitNotice } from './claim-notice.ts';
import { StageStore, type StageEvent } from './stages.ts';
import { DiskFullError } from '../util/atomic-write.ts';
import { appendAll } from '../util/arrays.ts';
import type { ExecutionOptions } from '../cli/args.ts';

/** The execution options (`executionOptions` in src/cli/args.ts: `retries`, …) and what only the caller knows. */
export interface ExecOptions extends Partial<ExecutionOptions> {
  /** Result cache; undefined runs everything and stores nothing. */
  cache?: ResultCache;
  /** Ignore existing entries (recompute and overwrite them). */
  fresh?: boolean;
  onProgress?: (p: ExecProgress) => void;
  /** Warnings (corrupt entries are reported by the cache itself). */
  warn?: (msg: string) => void;
  signal?: AbortSignal;
  /** How often to look for a run another process is computing (default 250 ms). */
  pollMs?: number;
  /** Use this runner instead of the registry's (e.g. a worker that already loaded it). */
  runner?: Runner;
  /**
   * With `fresh`: accept entries finished at or after this ISO time instead of this call's start
   * (parallel workers of one `--fresh` run share the parent's start, so none recomputes another's run).
   */
  freshSince?: string;
  /** Called as each unique run settles (the parallel pool aggregates these across processes). */
  onRun?: (id: string, outcome: 'computed' | 'cached' | 'failed', error?: string) => void;
  /**
   * Runs that already failed in this session (e.g. in another process of a `--jobs` pool): `get`
   * gives the error. Such a run is recorded failed without another attempt (unless the cache has
   * it). Checked again right after claiming, so a failure recorded before its claim was released
   * is never retried by a process that claims it later.
   */
  failedBefore?: { get(id: string): string | undefined };
  /** After waiting this long on a run another process claimed, say who holds it (default 5 s). */
  claimNoticeMs?: number;
  /** Processes whose claims are expected (the pool's own children): waiting on them is not reported. */
  ownPids?: ReadonlySet<number>;
  /** Called for each stage artifact a group computed or reused (the pool counts them across processes). */
  onStage?: (e: StageEvent) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

/** Check a runner output for one run: rows present, metrics numeric, every measured metric there. */
export function validateOutput(out: RunOutput | undefined, measures: readonly string[]): string | undefined {
  if (!out || typeof out !== 'object' || !Array.isArray(out.rows)) return 'runner returned no rows array';
  if (out.rows.length === 0) return 'runner returned no result rows';
  for (const [i, row] of out.rows.entries()) {
    if (!row || typeof row.metrics !== 'object' || row.metrics === null) return `row ${i + 1} has no metrics`;
    const missing = measures.filter((m) => !has(row.metrics, m));
    if (missing.length) {
      return `row ${i + 1} lacks measured metric${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (it has: ${Object.keys(row.metrics).join(', ') || 'none'})`;
    }
    for (const [k, v] of Object.entries(row.metrics)) {
      if (typeof v !== 'number' && v !== null) return `row ${i + 1}: metric ${k} is ${JSON.stringify(v)}, not a number`;
    }
  }
  return undefined;
}

const NON_FINITE = { Infinity: Infinity, '-Infinity': -Infinity, NaN: NaN } as const;

/**
 * JSON turns NaN and ±Infinity into null; record which metrics were non-finite in the row itself
 * (`nonFinite`), so a cached row says what the runner returned and the verdict stage can count it
 * as unusable instead of losing it.
 */
export function markNonFinite(out: RunOutput): RunOutput {
  let changed = false;
  const rows = out.rows.map((r) => {
    const bad = record<'Infinity' | '-Infinity' | 'NaN'>();
    for (const [k, v] of Object.entries(r.metrics)) {
      if (typeof v === 'number' && !Number.isFinite(v)) bad[k] = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
    }
    if (Object.keys(bad).length === 0) return r;
    changed = true;
    return { ...r, nonFinite: { ...r.nonFinite, ...bad } };
  });
  return changed ? { ...out, rows } : out;
}

/** A cache entry's rows as result rows of `run` (also used by `sublab writeup`, which only reads). */
export function toRows(run: PlannedRun, e: Pick<CacheEntry, 'output' | 'wallMs' | 'finishedAt' | 'git' | 'first' | 'stages'>, cached: boolean): ResultRow[] {
  const first = e.first ?? { finishedAt: e.finishedAt, git: e.git };
  return e.output.rows.map((r) => ({
    runId: run.id,
    point: run.point,
    seed: run.seed,
    params: run.params,
    // JSON stores NaN and ±Infinity as null; give the verdict engine the number back.
    metrics: Object.fromEntries(
      Object.entries(r.metrics).map(([k, v]) => {
        const nf = r.nonFinite?.[k];
        return [k, nf !== undefined ? NON_FINITE[nf] : typeof v === 'number' ? v : NaN];
      }),
    ),
    keys: r.keys ?? {},
    backend: e.output.backend,
    wallMs: e.wallMs,
    cached,
    finishedAt: e.finishedAt,
    firstAt: first.finishedAt,
    ...(first.git !== undefined ? { firstCommit: first.git.commit } : {}),
    ...(e.stages ? { stages: e.stages } : {}),
    ...(r.unusable ? { unusable: r.unusable } : {}),
  }));
}

/**
 * One call of executePlan: its plan, options resolved, the outcomes, and what it loads at most once.
 * The steps below take it and are exported so each can be tested alone.
 */
export interface Execution {
  plan: ExperimentPlan;
  opts: ExecOptions;
  cache: ResultCache | undefined;
  outcomes: RunOutcomes;
  retries: number;
  pollMs: number;
  warn: (msg: string) => void;
  /** With --fresh: only entries finished at or after this time count. */
  cutoff: string | undefined;
  stageStore: StageStore | undefined;
  runner(): Promise<Runner>;
  /** The commit results are computed at (looked up once, only when something is computed). */
  git(): EntryGit;
}

const interrupted = () => new Error('interrupted');

export function startExecution(plan: ExperimentPlan, opts: ExecOptions): Execution {
  const exp = plan.experiment;
  const cache = opts.cache;
  const pollMs = opts.pollMs ?? 250;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`sublab: warning: ${m}\n`));
  const outcomes = new RunOutcomes(plan, opts);
  let runner = opts.runner;
  let git: EntryGit | undefined;
  return {
    plan,
    opts,
    cache,
    outcomes,
    retries: Math.max(0, Math.floor(opts.retries ?? 0)),
    pollMs,
    warn,
    cutoff: opts.fresh ? (opts.freshSince ?? new Date().toISOString()) : undefined,
    // Stage artifacts (src/exec/stages.ts) live beside the run cache; each run records the keys it used.
    stageStore: cache
      ? new StageStore(path.join(cache.dir, 'stages'), { warn, claimTtlMs: cache.claimTtlMs, pollMs, claimNoticeMs: opts.claimNoticeMs, ownPids: opts.ownPids, signal: opts.signal })
      : undefined,
    runner: async () => (runner ??= await runnerFor(exp)),
    git: () => (git ??= gitInfo(path.dirname(path.resolve(exp.file)))),
  };
}

/** The cache's entry for `id` when this call may use it (with --fresh: one finished since the cutoff). */
function cacheHit(x: Execution, id: string): CacheEntry | undefined {
  const e = x.cache?.read(id);
  // An entry lacking a part the plan needs (src/plan/needs.ts) is computed again for what it lacks.
  return e && (x.cutoff === undefined || e.finishedAt >= x.cutoff) && holdsParts(e, x.plan.needs?.parts) ? e : undefined;
}

/** Settle `id` with an entry's rows; an entry this sublab cannot turn into rows fails the run. */
function accept(x: Execution, id: string, e: CacheEntry | Omit<CacheEntry, 'checksum'>, cached: boolean): void {
  let rows: ResultRow[];
  try {
    rows = [];
    for (const r of x.outcomes.byId.get(id)!) appendAll(rows, toRows(r, e, cached));
  } catch (err) {
    // Never the whole call: the entry stays for a fixed sublab (or `--fresh`), instead of crashing every try after.
    x.outcomes.fail(id, `its ${cached ? 'cached' : 'computed'} result cannot be read (${errorText(err)})${x.cache ? `: ${x.cache.entryPath(id)}` : ''}`);
    return;
  }
  x.outcomes.succeed(id, rows, e.output.extras, cached);
}

/** Record `r` failed when it already failed elsewhere in this session; true if so. */
function failedEarlier(x: Execution, r: PlannedRun): boolean {
  const err = x.opts.failedBefore?.get(r.id);
  if (err === undefined) return false;
  x.outcomes.fail(r.id, err);
  return true;
}

/** Settle `r` if another process finished it (its entry is in the cache) or it failed elsewhere; true if so. */
function settledElsewhere(x: Execution, r: PlannedRun): boolean {
  const e = cacheHit(x, r.id);
  if (!e) return failedEarlier(x, r);
  accept(x, r.id, e, true);
  return true;
}

/** Step 1: settle what the cache already holds (and what failed elsewhere); return the rest. */
export function settleFromCache(x: Execution): PlannedRun[] {
  // With --fresh and no shared start, nothing written before this call counts: no need to read.
  const reading = !x.opts.fresh || Boolean(x.opts.freshSince);
  const pending: PlannedRun[] = [];
  for (const r of x.outcomes.unique) {
    const e = reading ? cacheHit(x, r.id) : undefined;
    if (e) accept(x, r.id, e, true);
    else if (!failedEarlier(x, r)) pending.push(r);
  }
  x.outcomes.emit();
  return pending;
}

/** Claim the runs of one sweep point: `mine` to compute, `held` by another process. */
export function claimRuns(x: Execution, group: readonly PlannedRun[]): { mine: PlannedRun[]; held: PlannedRun[] } {
  const { cache, outcomes } = x;
  const mine: PlannedRun[] = [];
  const held: PlannedRun[] = [];
  for (const r of group) {
    let claimed: boolean;
    try {
      claimed = !cache || cache.claim(r.id);
    } catch (e) {
      // E.g. a full disk: this run cannot be claimed (nor its result stored), the rest go on.
      outcomes.fail(r.id, e instanceof DiskFullError ? e.message : `cannot claim it in the cache (${(e as NodeJS.ErrnoException).code ?? errorText(e)}): ${cache!.claimPath(r.id)}`);
      outcomes.emit();
      continue;
    }
    if (!claimed) {
      held.push(r);
      continue;
    }
    // Someone may have finished it between our first look and the claim.
    if (settledElsewhere(x, r)) {
      cache?.release(r.id);
      outcomes.emit();
    } else mine.push(r);
  }
  return { mine, held };
}

/** Claim what can be claimed and compute it point by point, in runner batches; return the runs others hold. */
async function computeClaimable(x: Execution, runs: PlannedRun[]): Promise<PlannedRun[]> {
  const held: PlannedRun[] = [];
  for (const group of byPoint(runs)) {
    if (x.opts.signal?.aborted) throw interrupted();
    const claimed = claimRuns(x, group);
    appendAll(held, claimed.held);
    if (claimed.mine.length === 0) continue;
    for (const batch of batches(claimed.mine, maxGroupOf(await x.runner()))) await computeGroup(x, batch);
  }
  return held;
}

/** The runner's outputs for a group, one per run, and how long they took; or the last error after every attempt. */
export type Attempt = { outs: RunOutput[]; ms: number } | { error: string };

/** Call the runner on `group`, retrying a throw up to `retries` times. Ctrl-C is not a failure: it throws. */
export async function runGroup(x: Execution, group: readonly PlannedRun[], parts?: readonly string[]): Promise<Attempt> {
  const exp = x.plan.experiment;
  const { opts, cache } = x;
  const specs: RunSpec[] = group.map((r) => ({ id: r.id, params: r.params, seed: r.seed }));
  const rn = await x.runner();
  let error = '';
  for (let attempt = 0; attempt <= x.retries; attempt++) {
    if (opts.signal?.aborted) throw interrupted();
    const t0 = performance.now();
    try {
      const outs = await rn.run(specs, {
        progress: (m) => {
          x.outcomes.runnerLine = m;
          x.outcomes.emit();
        },
        signal: opts.signal,
        cacheDir: cache ? path.join(cache.dir, 'stages', exp.runner.name) : undefined,
        ...(x.stageStore ? { stageStore: x.stageStore } : {}),
        onStage: (e) => x.outcomes.stage(e),
        // Where the experiment lives and what it measures travel beside the parameters, so
        // they never enter run ids.
        expDir: path.dirname(path.resolve(exp.file)),
        measures: exp.measures,
        ...(parts ? { parts } : {}),
      });
      if (!Array.isArray(outs) || outs.length !== specs.length) {
        throw new Error(`runner ${exp.runner.name} returned ${Array.isArray(outs) ? outs.length : 'no'} outputs for ${specs.length} runs`);
      }
      return { outs, ms: performance.now() - t0 };
    } catch (e) {
      if (opts.signal?.aborted) throw interrupted();
      error = errorText(e);
      if (attempt < x.retries) {
        const more = group.length > 1 ? ` and ${group.length - 1} more` : '';
        x.warn(`${describeRun(group[0]!, exp.sweeps.map((s) => s.name))}${more} failed (${error}); retrying (${attempt + 1}/${x.retries})`);
      }
    }
  }
  return { error };
}

/** The first result of run `id` on record, which --fresh and a merge of missing parts keep. */
function firstOnRecord(x: Execution, id: string, before?: CacheEntry): CacheEntry['first'] {
  const prev = before ? ({ status: 'hit', entry: before } as const) : x.cache && x.opts.fresh ? x.cache.inspect(id) : undefined;
  if (prev?.status !== 'hit') return undefined;
  return prev.entry.first ?? { finishedAt: prev.entry.finishedAt, ...(prev.entry.git ? { git: prev.entry.git } : {}) };
}

/**
 * Validate one computed run's output, write it to the cache and settle the run (its claim is
 * released). With `gp`, the parts computed are recorded, merged into the run's partial entry.
 */
export function storeRun(x: Execution, r: PlannedRun, out: RunOutput, wallMs: number, finishedAt: string, gp?: GroupParts): void {
  const { cache, outcomes } = x;
  const exp = x.plan.experiment;
  try {
    // Closed runners may leave a metric out on purpose (e.g. token_probe without geometry).
    const bad = validateOutput(out, exp.runner.open ? exp.measures : []);
    if (bad) return outcomes.fail(r.id, bad);
    const kept = stored(gp, r.id, markNonFinite(out));
    const first = firstOnRecord(x, r.id, kept.before);
    const stages = outcomes.stagesOf(r.id);
    const input = {
      id: r.id,
      runner: r.runner,
      params: r.params,
      seed: r.seed,
      output: kept.output,
      ...(kept.parts ? { parts: kept.parts } : {}),
      wallMs: wallMs + (kept.before?.wallMs ?? 0),
      finishedAt,
      git: x.git(),
      ...(first ? { first } : {}),
      ...(stages ? { stages } : {}),
    };
    let entry: CacheEntry | typeof input = input;
    try {
      if (cache) entry = cache.write(input);
    } catch (e) {
      // This run is lost (its result cannot be kept), not the whole sweep.
      return outcomes.fail(
        r.id,
        e instanceof DiskFullError
          ? `computed, but its cache entry cannot be stored: ${e.message}`
          : `computed, but its cache entry cannot be written (${(e as NodeJS.ErrnoException).code ?? errorText(e)}): ${cache!.entryPath(r.id)}`,
      );
    }
    accept(x, r.id, entry, false);
  } finally {
    cache?.release(r.id);
  }
}

/** Compute one batch of claimed runs (keeping their claims fresh meanwhile) and settle each. */
async function computeGroup(x: Execution, group: PlannedRun[]): Promise<void> {
  const { cache, outcomes } = x;
  const ids = group.map((r) => r.id);
  const refresh = cache ? setInterval(() => cache.refreshClaims(ids), Math.max(1000, cache.claimTtlMs / 3)) : undefined;
  refresh?.unref();
  try {
    const gp = groupParts(x.plan, cache, Boolean(x.opts.fresh), group);
    const got = await runGroup(x, group, gp.parts);
    if ('error' in got) {
      for (const r of group) {
        outcomes.fail(r.id, got.error);
        cache?.release(r.id);
      }
    } else {
      outcomes.timed(got.ms);
      const finishedAt = new Date().toISOString();
      for (const [i, r] of group.entries()) storeRun(x, r, got.outs[i]!, got.ms / group.length, finishedAt, gp);
    }
    outcomes.runnerLine = undefined;
    outcomes.emit();
  } finally {
    if (refresh) clearInterval(refresh);
  }
}

/**
 * Says, once per holder and only after `claimNoticeMs` (default 5 s) since `start`, who holds a run
 * this call waits for and how to take it over. The pool's own children are not worth a notice.
 */
function claimNotices(x: Execution, start: number): (r: PlannedRun, c: ClaimInfo, waiting: readonly PlannedRun[]) => void {
  const cache = x.cache!;
  const noticed = new Set<string>();
  const noticeMs = x.opts.claimNoticeMs ?? 5000;
  const sweepNames = x.plan.experiment.sweeps.map((s) => s.name);
  return (r, c, waiting) => {
    if (Date.now() - start < noticeMs || noticed.has(c.token)) return;
    if (c.host === os.hostname() && x.opts.ownPids?.has(c.pid)) return;
    noticed.add(c.token);
    const others = waiting.filter((p) => p !== r && cache.readClaim(p.id)?.token === c.token).length;
    x.warn(claimWaitNotice(describeRun(r, sweepNames), c, cache.claimTtlMs, cache.claimPath(r.id), others));
  };
}

/** Step 3: wait for the runs another live process holds; take one over when its claim lapses. */
async function awaitHeld(x: Execution, pending: PlannedRun[], notice: ReturnType<typeof claimNotices>): Promise<void> {
  const cache = x.cache!;
  while (pending.length > 0) {
    if (x.opts.signal?.aborted) throw interrupted();
    await sleep(x.pollMs);
    const still: PlannedRun[] = [];
    const free: PlannedRun[] = [];
    for (const r of pending) {
      if (settledElsewhere(x, r)) {
        x.outcomes.emit();
        continue;
      }
      const c = cache.readClaim(r.id);
      if (!c || cache.claimStaleReason(c, cache.claimPath(r.id))) free.push(r);
      else {
        still.push(r);
        notice(r, c, pending);
      }
    }
    pending = [...still, ...(free.length ? await computeClaimable(x, free) : [])];
  }
}

export async function executePlan(plan: ExperimentPlan, opts: ExecOptions = {}): Promise<ResultTable> {
  const x = startExecution(plan, opts);
  const pending = settleFromCache(x);
  // A run held by another live process is waited for; the notice clock starts before our own work.
  const notice = x.cache ? claimNotices(x, Date.now()) : () => {};
  try {
    // Step 2: compute what nobody else holds.
    const held = await computeClaimable(x, pending);
    await awaitHeld(x, held, notice);
  } finally {
    for (const r of x.outcomes.unique) x.cache?.release(r.id);
  }
  x.outcomes.emit(true);
  return x.outcomes.table();
}

/**
 * Rows the verdicts cannot use, each with why: the runner could not read it (`row.unusable`, e.g.
 * a duplicate key), or a measured metric is ±Infinity ("infinite"), or NaN in every row of its run
 * ("NaN"). (A NaN beside a value in another row of the same run is a runner's convention —
 * token_probe keeps run-level metrics on a run's first row — not a broken result.)
 */
export function unusableRows(rows: readonly ResultRow[], measures: readonly string[]): { row: ResultRow; metrics: string[]; reason: string }[] {
  const hasValue = new Set<string>();
  for (const row of rows) for (const m of measures) if (Number.isFinite(row.metrics[m])) hasValue.add(`${row.runId}\0${m}`);
  const out: { row: ResultRow; metrics: string[]; reason: string }[] = [];
  for (const row of rows) {
    if (row.unusable) {
      out.push({ row, metrics: [], reason: row.unusable.reason });
      continue;
    }
    const bad = measures.filter((m) => {
      if (!has(row.metrics, m)) return false;
      const v = row.metrics[m]!;
      if (Number.isNaN(v)) return !hasValue.has(`${row.runId}\0${m}`);
      return !Number.isFinite(v);
    });
    if (bad.length) out.push({ row, metrics: bad, reason: bad.every((m) => Number.isNaN(row.metrics[m])) ? 'NaN' : 'infinite' });
  }
  return out;
}
