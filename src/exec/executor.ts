// The executor: plan → result table. Cached runs are read, the rest are claimed, grouped by sweep
// point (runs that differ only by seed) and handed to the runner; every finished run is written to
// the cache at once, so a crash loses only the runs in flight.
import { has, record } from '../util/records.ts';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PlannedRun, ExperimentPlan } from '../plan/types.ts';
import { describeRun, type FailedRun, type ResultRow, type ResultTable } from '../results/types.ts';
import type { Runner, RunOutput, RunSpec } from '../runners/schema.ts';
import { runnerFor } from '../runners/registry.ts';
import { gitInfo } from '../prereg/lock.ts';
import os from 'node:os';
import { holdsParts, mergeParts, type CacheEntry, type ClaimInfo, type EntryGit, type ResultCache } from './cache.ts';
import { partsToCompute } from '../plan/needs.ts';
import type { ExecProgress } from './progress.ts';
import { batches, byPoint, maxGroupOf } from './shard.ts';
import { claimWaitNotice } from './claim-notice.ts';
import { StageStore, type StageEvent } from './stages.ts';
import { DiskFullError } from '../util/atomic-write.ts';
import { appendAll } from '../util/arrays.ts';

export interface ExecOptions {
  /** Result cache; undefined runs everything and stores nothing. */
  cache?: ResultCache;
  /** Ignore existing entries (recompute and overwrite them). */
  fresh?: boolean;
  /** Extra attempts for a group whose runner call throws (default 0). */
  retries?: number;
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
  }));
}

export async function executePlan(plan: ExperimentPlan, opts: ExecOptions = {}): Promise<ResultTable> {
  const exp = plan.experiment;
  const cache = opts.cache;
  const retries = Math.max(0, Math.floor(opts.retries ?? 0));
  const pollMs = opts.pollMs ?? 250;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`sublab: warning: ${m}\n`));
  const sweepNames = exp.sweeps.map((s) => s.name);
  const startedIso = new Date().toISOString();

  // Runs with the same id (e.g. a sweep over an execution-only parameter) are computed once.
  const byId = new Map<string, PlannedRun[]>();
  for (const r of plan.runs) {
    const list = byId.get(r.id);
    if (list) list.push(r);
    else byId.set(r.id, [r]);
  }
  const unique = [...byId.values()].map((l) => l[0]!);

  const rowsById = new Map<string, ResultRow[]>();
  const failedById = new Map<string, string>();
  const extras: Record<string, Record<string, unknown>> = {};
  const counts = { done: 0, cached: 0, failed: 0 };
  let computeMs = 0;
  let runnerLine: ExecProgress['runner'];
  // Stage artifacts (src/exec/stages.ts) live beside the run cache; each run records the keys it used.
  const stageStore = cache
    ? new StageStore(path.join(cache.dir, 'stages'), { warn, claimTtlMs: cache.claimTtlMs, pollMs, claimNoticeMs: opts.claimNoticeMs, ownPids: opts.ownPids, signal: opts.signal })
    : undefined;
  const stagesById = new Map<string, Record<string, string>>();
  const stageCounts: Record<string, { computed: number; reused: number; corrupt: number }> = {};
  const onStage = (e: StageEvent) => {
    const c = (stageCounts[e.stage] ??= { computed: 0, reused: 0, corrupt: 0 });
    c[e.outcome]++;
    if (e.corrupt) c.corrupt++;
    for (const id of e.runIds) {
      const m = stagesById.get(id) ?? {};
      m[e.stage] = e.key;
      stagesById.set(id, m);
    }
    opts.onStage?.(e);
    emit();
  };

  const emit = (finished = false) => {
    if (!opts.onProgress) return;
    const settled = counts.done + counts.cached + counts.failed;
    const remaining = unique.length - settled;
    opts.onProgress({
      experiment: exp.name,
      total: unique.length,
      ...counts,
      remaining,
      etaMs: counts.done > 0 ? (computeMs / counts.done) * remaining : remaining === 0 ? 0 : null,
      runner: finished ? undefined : runnerLine,
      ...(Object.keys(stageCounts).length ? { stages: structuredClone(stageCounts) } : {}),
      finished,
    });
  };

  const accept = (id: string, e: CacheEntry | Omit<CacheEntry, 'checksum'>, cached: boolean) => {
    const runs = byId.get(id)!;
    let rows: ResultRow[];
    try {
      rows = [];
      for (const r of runs) appendAll(rows, toRows(r, e, cached));
    } catch (err) {
      // An entry this sublab cannot turn into rows fails its run, never the whole call: the entry
      // stays for a fixed sublab (or `--fresh`), instead of crashing every try after.
      const why = `its ${cached ? 'cached' : 'computed'} result cannot be read (${errorText(err)})${cache ? `: ${cache.entryPath(id)}` : ''}`;
      failedById.set(id, why);
      counts.failed++;
      opts.onRun?.(id, 'failed', why);
      return;
    }
    rowsById.set(id, rows);
    if (e.output.extras) extras[id] = e.output.extras;
    if (cached) counts.cached++;
    else counts.done++;
    opts.onRun?.(id, cached ? 'cached' : 'computed');
  };

  /** Record `r` failed when it already failed elsewhere in this session; true if so. */
  const failedEarlier = (r: PlannedRun): boolean => {
    const err = opts.failedBefore?.get(r.id);
    if (err === undefined) return false;
    failedById.set(r.id, err);
    counts.failed++;
    opts.onRun?.(r.id, 'failed', err);
    return true;
  };

  const cutoff = opts.fresh ? (opts.freshSince ?? startedIso) : undefined;
  // An entry lacking a part the plan needs (src/plan/needs.ts) is computed again for what it lacks.
  const acceptable = (e: CacheEntry | undefined) => e && (cutoff === undefined || e.finishedAt >= cutoff) && holdsParts(e, plan.needs?.parts);
  /** The entry a run's missing parts are merged into (not with --fresh: that recomputes whole). */
  const partialEntry = (r: PlannedRun): CacheEntry | undefined => {
    if (!cache || opts.fresh || !plan.needs?.parts) return undefined;
    const x = cache.inspect(r.id);
    return x.status === 'hit' && x.entry.parts ? x.entry : undefined;
  };

  // 1. What the cache already holds.
  let pending: PlannedRun[] = [];
  for (const r of unique) {
    const e = cache && (!opts.fresh || opts.freshSince) ? cache.read(r.id) : undefined;
    if (acceptable(e)) accept(r.id, e!, true);
    else if (!failedEarlier(r)) pending.push(r);
  }
  emit();

  let runner: Runner | undefined = opts.runner;
  // The commit results are computed at (once per call, only when something is computed).
  let git: EntryGit | undefined;
  const gitNow = (): EntryGit => (git ??= gitInfo(path.dirname(path.resolve(exp.file))));
  const getRunner = async () => (runner ??= await runnerFor(exp));

  const computeGroup = async (group: PlannedRun[]): Promise<void> => {
    const r0 = group[0]!;
    const rn = await getRunner();
    const specs: RunSpec[] = group.map((r) => ({ id: r.id, params: r.params, seed: r.seed }));
    // The parts the group computes: what its runs' entries lack (all the plan needs, for a new run).
    const partial = new Map(group.map((r) => [r.id, partialEntry(r)]));
    const parts = plan.needs?.parts && [...new Set(group.flatMap((r) => partsToCompute(exp.runner, plan.needs, partial.get(r.id)?.parts ?? [])))];
    const ids = group.map((r) => r.id);
    const refresh = cache ? setInterval(() => cache.refreshClaims(ids), Math.max(1000, cache.claimTtlMs / 3)) : undefined;
    refresh?.unref();
    try {
      let lastError = '';
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (opts.signal?.aborted) throw new Error('interrupted');
        const t0 = performance.now();
        let outs: RunOutput[];
        try {
          outs = await rn.run(specs, {
            progress: (m) => {
              runnerLine = m;
              emit();
            },
            signal: opts.signal,
            cacheDir: cache ? path.join(cache.dir, 'stages', exp.runner.name) : undefined,
            ...(stageStore ? { stageStore } : {}),
            onStage,
            // Where the experiment lives and what it measures travel beside the parameters, so
            // they never enter run ids.
            expDir: path.dirname(path.resolve(exp.file)),
            measures: exp.measures,
            ...(parts ? { parts } : {}),
          });
          if (!Array.isArray(outs) || outs.length !== specs.length) {
            throw new Error(`runner ${exp.runner.name} returned ${Array.isArray(outs) ? outs.length : 'no'} outputs for ${specs.length} runs`);
          }
        } catch (e) {
          // Cancelled by Ctrl-C: the run did not fail, the user stopped it.
          if (opts.signal?.aborted) throw new Error('interrupted');
          lastError = errorText(e);
          if (attempt < retries) warn(`${describeRun(r0, sweepNames)}${group.length > 1 ? ` and ${group.length - 1} more` : ''} failed (${lastError}); retrying (${attempt + 1}/${retries})`);
          continue;
        }
        const ms = performance.now() - t0;
        const finishedAt = new Date().toISOString();
        computeMs += ms;
        for (const [i, r] of group.entries()) {
          const out = outs[i]!;
          // Closed runners may leave a metric out on purpose (e.g. token_probe without geometry).
          const bad = validateOutput(out, exp.runner.open ? exp.measures : []);
          if (bad) {
            failedById.set(r.id, bad);
            counts.failed++;
            opts.onRun?.(r.id, 'failed', bad);
          } else {
            // --fresh recomputes, and missing parts are merged in, but the first result of this run stays on record.
            const old = partial.get(r.id);
            const prev = old ? ({ status: 'hit', entry: old } as const) : cache && opts.fresh ? cache.inspect(r.id) : undefined;
            const first = prev?.status === 'hit' ? (prev.entry.first ?? { finishedAt: prev.entry.finishedAt, ...(prev.entry.git ? { git: prev.entry.git } : {}) }) : undefined;
            const merged = parts ? (old ? mergeParts(old, markNonFinite(out), parts) : { output: markNonFinite(out), parts: [...parts].sort() }) : undefined;
            const input = {
              id: r.id,
              runner: r.runner,
              params: r.params,
              seed: r.seed,
              output: merged?.output ?? markNonFinite(out),
              ...(merged ? { parts: merged.parts } : {}),
              wallMs: ms / group.length + (old?.wallMs ?? 0),
              finishedAt,
              git: gitNow(),
              ...(first ? { first } : {}),
              ...(stagesById.has(r.id) ? { stages: stagesById.get(r.id)! } : {}),
            };
            let entry: CacheEntry | typeof input = input;
            try {
              if (cache) entry = cache.write(input);
            } catch (e) {
              // This run is lost (its result cannot be kept), not the whole sweep.
              const why =
                e instanceof DiskFullError
                  ? `computed, but its cache entry cannot be stored: ${e.message}`
                  : `computed, but its cache entry cannot be written (${(e as NodeJS.ErrnoException).code ?? errorText(e)}): ${cache!.entryPath(r.id)}`;
              failedById.set(r.id, why);
              counts.failed++;
              opts.onRun?.(r.id, 'failed', why);
              cache?.release(r.id);
              continue;
            }
            accept(r.id, entry, false);
          }
          cache?.release(r.id);
        }
        runnerLine = undefined;
        emit();
        return;
      }
      for (const r of group) {
        failedById.set(r.id, lastError);
        counts.failed++;
        opts.onRun?.(r.id, 'failed', lastError);
        cache?.release(r.id);
      }
      runnerLine = undefined;
      emit();
    } finally {
      if (refresh) clearInterval(refresh);
    }
  };

  /** Claim what can be claimed, compute it point by point; return the runs others hold. */
  const work = async (runs: PlannedRun[]): Promise<PlannedRun[]> => {
    const held: PlannedRun[] = [];
    for (const group of byPoint(runs)) {
      if (opts.signal?.aborted) throw new Error('interrupted');
      const mine: PlannedRun[] = [];
      for (const r of group) {
        let claimed = true;
        try {
          claimed = !cache || cache.claim(r.id);
        } catch (e) {
          // E.g. a full disk: this run cannot be claimed (nor its result stored), the rest go on.
          const why = e instanceof DiskFullError ? e.message : `cannot claim it in the cache (${(e as NodeJS.ErrnoException).code ?? errorText(e)}): ${cache!.claimPath(r.id)}`;
          failedById.set(r.id, why);
          counts.failed++;
          opts.onRun?.(r.id, 'failed', why);
          emit();
          continue;
        }
        if (!claimed) {
          held.push(r);
          continue;
        }
        // Someone may have finished it between our first look and the claim.
        const e = cache ? cache.read(r.id) : undefined;
        if (acceptable(e)) {
          accept(r.id, e!, true);
          cache!.release(r.id);
          emit();
        } else if (failedEarlier(r)) {
          cache?.release(r.id);
          emit();
        } else mine.push(r);
      }
      if (mine.length === 0) continue;
      for (const batch of batches(mine, maxGroupOf(await getRunner()))) await computeGroup(batch);
    }
    return held;
  };

  // A run held by another live process is waited for; after a few seconds, say by whom and how to
  // take it over, once per holder.
  const waitStart = Date.now();
  const noticed = new Set<string>();
  const noticeMs = opts.claimNoticeMs ?? 5000;
  const noticeClaim = (r: PlannedRun, c: ClaimInfo) => {
    if (Date.now() - waitStart < noticeMs || noticed.has(c.token)) return;
    if (c.host === os.hostname() && opts.ownPids?.has(c.pid)) return;
    noticed.add(c.token);
    const others = pending.filter((p) => p !== r && cache!.readClaim(p.id)?.token === c.token).length;
    warn(claimWaitNotice(describeRun(r, sweepNames), c, cache!.claimTtlMs, cache!.claimPath(r.id), others));
  };

  try {
    pending = await work(pending);
    // 2. Runs another live process holds: wait for its entries; take over when its claim lapses.
    while (pending.length > 0) {
      if (opts.signal?.aborted) throw new Error('interrupted');
      await sleep(pollMs);
      const still: PlannedRun[] = [];
      const free: PlannedRun[] = [];
      for (const r of pending) {
        const e = cache!.read(r.id);
        if (acceptable(e)) {
          accept(r.id, e!, true);
          emit();
          continue;
        }
        if (failedEarlier(r)) {
          emit();
          continue;
        }
        const c = cache!.readClaim(r.id);
        if (!c || cache!.claimStaleReason(c, cache!.claimPath(r.id))) free.push(r);
        else {
          still.push(r);
          noticeClaim(r, c);
        }
      }
      pending = [...still, ...(free.length ? await work(free) : [])];
    }
  } finally {
    for (const r of unique) cache?.release(r.id);
  }
  emit(true);

  const rows: ResultRow[] = [];
  const failed: FailedRun[] = [];
  // Rows in plan order, whatever order they finished in.
  for (const r of unique) {
    const rs = rowsById.get(r.id);
    if (rs) appendAll(rows, rs);
    const err = failedById.get(r.id);
    if (err !== undefined) for (const rr of byId.get(r.id)!) failed.push({ runId: rr.id, point: rr.point, seed: rr.seed, params: rr.params, error: err });
  }
  rows.sort((a, b) => a.point - b.point || a.seed - b.seed);
  return { experiment: exp.name, file: exp.file, rows, failed, extras };
}

/**
 * Rows with a measured metric that is ±Infinity, or NaN in every row of its run: unusable, and
 * counted as such. (A NaN beside a value in another row of the same run is a runner's convention —
 * token_probe keeps run-level metrics on a run's first row — not a broken result.)
 */
export function unusableRows(rows: readonly ResultRow[], measures: readonly string[]): { row: ResultRow; metrics: string[] }[] {
  const hasValue = new Set<string>();
  for (const row of rows) for (const m of measures) if (Number.isFinite(row.metrics[m])) hasValue.add(`${row.runId}\0${m}`);
  const out: { row: ResultRow; metrics: string[] }[] = [];
  for (const row of rows) {
    const bad = measures.filter((m) => {
      if (!has(row.metrics, m)) return false;
      const v = row.metrics[m]!;
      if (Number.isNaN(v)) return !hasValue.has(`${row.runId}\0${m}`);
      return !Number.isFinite(v);
    });
    if (bad.length) out.push({ row, metrics: bad });
  }
  return out;
}
