// Local parallelism (`sublab run --jobs N`, `SUBLAB_JOBS`): N processes share one file's runs
// through the result cache. The parent spawns N − 1 children (pool-child.ts), each with its own
// engine (ONNX Runtime sessions or a TensorFlow.js backend); every process first computes its deterministic share (shard.ts, as the
// SLURM workers do), then walks the whole plan, claiming whatever nobody has started (so a fast
// process takes over a slow one's leftovers) and waiting for runs another live process holds. The
// cache's claims make every run computed once; a child that dies leaves claims with a dead pid,
// which the parent takes over and computes. The parent then reads everything and judges as usual.
import type { MetricScope } from '../plan/needs.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import { fileURLToPath } from 'node:url';
import type { Value } from '../language/ast.ts';
import type { ExperimentPlan } from '../plan/types.ts';
import type { ResultTable } from '../results/types.ts';
import type { ResultCache } from './cache.ts';
import { executePlan, type ExecOptions } from './executor.ts';
import { ensureReaper } from './reaper.ts';
import { signalExitCode } from './stop-signals.ts';
import type { ExecProgress } from './progress.ts';
import type { Session } from './session.ts';
import type { ExecutionOptions } from '../cli/args.ts';
import { eachLine } from '../util/lines.ts';

/** Marks a child's event lines on stdout (a runner or its engine may print its own lines there). */
export const EVENT_PREFIX = '@@sublab-pool ';

/** What a child reads as the first line of its stdin. */
export interface ChildConfig {
  file: string;
  source?: string;
  overrides?: Record<string, Value>;
  seeds?: number;
  metrics?: MetricScope;
  cacheDir: string;
  claimTtlMs: number;
  fresh: boolean;
  freshSince: string;
  /** The pool's FailureBook directory. */
  failDir: string;
  /** The execution options, whole, as the parent's executor has them. */
  execution: Partial<ExecutionOptions>;
  task: number;
  tasks: number;
}

/** One line a child reports per settled run. */
export interface ChildEvent {
  plan: number;
  run: string;
  outcome: 'computed' | 'cached' | 'failed';
  error?: string;
  /** A stage artifact event instead of a run's (`run` is then the artifact's key): counted for progress. */
  stage?: { name: string; outcome: 'computed' | 'reused'; corrupt?: boolean };
}

/**
 * Processes asked for: an explicit value, else $SUBLAB_JOBS, else 1; "auto" (or 0) stays "auto"
 * (as many as the cores hold: `autoJobs`). The default stays 1 because the machine is often shared.
 */
export function requestedJobs(jobs?: number | 'auto', env: string | undefined = process.env.SUBLAB_JOBS): number | 'auto' {
  if (jobs === 'auto' || jobs === 0) return 'auto';
  if (jobs !== undefined) {
    if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`jobs must be a whole number >= 1 or "auto", got ${jobs}`);
    return jobs;
  }
  const t = env?.trim();
  if (!t) return 1;
  if (t === 'auto' || t === '0') return 'auto';
  if (!/^\d+$/.test(t)) throw new Error(`SUBLAB_JOBS must be a whole number >= 1 or "auto", got "${env}"`);
  return Number(t);
}

/** requestedJobs with "auto" as one process per core (for runners that use one core a group). */
export function resolveJobs(jobs?: number | 'auto', env: string | undefined = process.env.SUBLAB_JOBS): number {
  const r = requestedJobs(jobs, env);
  return r === 'auto' ? Math.max(1, os.availableParallelism()) : r;
}

/**
 * `--jobs auto` for these plans: the cores divided by the cores one group of their runners keeps
 * busy (`Runner.cores`). ONNX Runtime runners use one thread per core by default, so one process
 * already fills the machine and auto is 1; a runner that uses one thread (superposition, a
 * `command` program) gets one process per core.
 */
export function autoJobs(session: Pick<Session, 'plans' | 'runnerOf'>, cores: number = os.availableParallelism()): number {
  let perProcess = 1;
  for (const p of session.plans) {
    const first = p.runs[0];
    const used = first ? session.runnerOf(p)?.cores?.(first.params) : undefined;
    if (used !== undefined && Number.isFinite(used)) perProcess = Math.max(perProcess, Math.ceil(used));
  }
  return Math.max(1, Math.floor(cores / perProcess));
}

/**
 * Processes worth starting for `left` runs still to compute: never more than the runs (an idle
 * child costs ~90 MB and a second of start-up) nor than the cores (more processes than cores only
 * contend). `capped`: cores cut it.
 */
export function poolSize(requested: number, left: number, cores: number = os.availableParallelism()): { jobs: number; capped: boolean } {
  const jobs = Math.max(1, Math.min(requested, left, cores));
  return { jobs, capped: jobs < requested && jobs === cores && cores < left };
}

export interface PoolOptions {
  /** The file as the parent planned it, runners loaded (children plan the same and check). */
  session: Session;
  /** Source text the parent compiled (children compile the same text). */
  source?: string;
  overrides?: Record<string, Value>;
  seeds?: number;
  /** Which metrics the runs compute (src/plan/needs.ts): children plan the same. */
  metrics?: MetricScope;
  cache: ResultCache;
  fresh?: boolean;
  /** Handed whole to every child's executor (the parent's comes with `execute`). */
  execution?: Partial<ExecutionOptions>;
  /** Processes in all, the parent included (≥ 2). */
  jobs: number;
  warn?: (msg: string) => void;
  signal?: AbortSignal;
  /** Every settled run of every process (tests count who computed what). */
  onEvent?: (e: ChildEvent & { pid: number }) => void;
}

export interface PoolWorker {
  task: number;
  pid: number;
  /** Resolves when the child has exited and its output is read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Pool {
  workers: PoolWorker[];
  /** Execute plan `k` of the file with the children; returns the full table (rows computed during this pool's life are not marked cached). */
  execute(k: number, opts: ExecOptions): Promise<ResultTable>;
  /** Stop the children (they hold no claims once every plan is done) and wait for them. */
  close(): Promise<void>;
}

/** Runs that failed in some process of the pool, one small file per run (error text inside). */
export class FailureBook {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    return path.join(this.dir, id.replace(/[^A-Za-z0-9_-]/g, '_'));
  }

  record(id: string, error: string): void {
    const f = this.file(id);
    if (fs.existsSync(f)) return;
    atomicWriteFileSync(f, error);
  }

  get(id: string): string | undefined {
    try {
      return fs.readFileSync(this.file(id), 'utf8');
    } catch {
      return undefined;
    }
  }
}

const childEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pool-child.mjs');

function uniqueIds(plan: ExperimentPlan): string[] {
  return [...new Set(plan.runs.map((r) => r.id))];
}

type StageCounts = Record<string, { computed: number; reused: number; corrupt: number }>;

/** What every process of the pool has settled, per plan: fed by their events, read for progress. */
class PoolTally {
  /** Per plan, the runs cached before any child started: runs the pool computes are never reported as cache hits, whoever computed them. */
  readonly pre: Set<string>[];
  readonly states: Map<string, 'done' | 'failed'>[];
  /** Stage artifacts computed or reused by any process, per plan and stage. */
  readonly stageCounts: StageCounts[];
  /** Per plan, called on each event while the plan executes. */
  readonly listeners: ((() => void) | undefined)[];

  constructor(
    plans: readonly ExperimentPlan[],
    cache: ResultCache,
    fresh: boolean,
    private readonly onEvent?: (e: ChildEvent & { pid: number }) => void,
  ) {
    this.pre = plans.map((p) => new Set(fresh ? [] : uniqueIds(p).filter((id) => cache.has(id))));
    this.states = plans.map(() => new Map());
    this.stageCounts = plans.map(() => ({}));
    this.listeners = plans.map(() => undefined);
  }

  record(e: ChildEvent, pid: number): void {
    this.onEvent?.({ ...e, pid });
    if (e.stage) {
      const c = this.stageCounts[e.plan];
      if (!c) return;
      const n = (c[e.stage.name] ??= { computed: 0, reused: 0, corrupt: 0 });
      n[e.stage.outcome]++;
      if (e.stage.corrupt) n.corrupt++;
      this.listeners[e.plan]?.();
      return;
    }
    const st = this.states[e.plan];
    if (!st) return;
    if (e.outcome === 'cached' && (this.pre[e.plan]!.has(e.run) || st.has(e.run))) return;
    // A run computed (or found cached) stays done whatever arrives later.
    if (e.outcome === 'failed' && st.get(e.run) === 'done') return;
    st.set(e.run, e.outcome === 'failed' ? 'failed' : 'done');
    this.listeners[e.plan]?.();
  }

  /** Plan `k`'s progress across the processes (`total`: its unique runs; `t0`: when it started here). */
  progress(plan: ExperimentPlan, k: number, total: number, t0: number, runner: ExecProgress['runner'], finished: boolean): ExecProgress {
    let done = 0;
    let failed = 0;
    for (const s of this.states[k]!.values()) {
      if (s === 'done') done++;
      else failed++;
    }
    const cached = this.pre[k]!.size;
    const remaining = Math.max(0, total - cached - done - failed);
    const stages = this.stageCounts[k]!;
    return {
      experiment: plan.experiment.name,
      total,
      done,
      cached,
      failed,
      remaining,
      // Wall clock, not summed compute: the processes run side by side.
      etaMs: done > 0 ? ((Date.now() - t0) / done) * remaining : remaining === 0 ? 0 : null,
      runner: finished ? undefined : runner,
      ...(Object.keys(stages).length ? { stages: structuredClone(stages) } : {}),
      finished,
    };
  }

  /** The final counts come from the table itself (a failure elsewhere recomputed here counts once). */
  settle(k: number, table: ResultTable): void {
    const st = this.states[k]!;
    st.clear();
    for (const r of table.rows) if (!this.pre[k]!.has(r.runId)) st.set(r.runId, 'done');
    for (const f of table.failed) st.set(f.runId, 'failed');
  }
}

interface ChildHooks {
  record(e: ChildEvent, pid: number): void;
  warn(msg: string): void;
  /** The pool is closing or was interrupted: a child's exit is expected, not reported. */
  quiet(): boolean;
}

/** Start child `task`: its event lines go to `record`, its stderr to `warn`, an unexpected exit is reported. */
function spawnChild(task: number, cfg: ChildConfig, h: ChildHooks): { child: ChildProcess; worker: PoolWorker } {
  const child = spawn(process.execPath, [childEntry], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  const pid = child.pid ?? -1;
  eachLine(child.stdout!, (line) => {
    if (!line.startsWith(EVENT_PREFIX)) return;
    try {
      h.record(JSON.parse(line.slice(EVENT_PREFIX.length)) as ChildEvent, pid);
    } catch {
      /* a garbled line only costs a progress tick */
    }
  });
  eachLine(child.stderr!, (line) => {
    const text = line.trim();
    if (text) h.warn(`parallel worker ${task} (pid ${pid}): ${text}`);
  });
  child.stdin!.on('error', () => {
    /* the child is gone; its exit is reported below */
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (e) => {
      h.warn(`parallel worker ${task} could not start (${e.message}); its runs are computed by the other processes`);
      resolve({ code: null, signal: null });
    });
    child.on('close', (code, signal) => {
      const report = () => {
        if (h.quiet()) return;
        h.warn(`parallel worker ${task} (pid ${pid}) ${signal ? `was killed by ${signal}` : `exited with status ${code}`}; the runs it had not finished are computed by the remaining processes`);
      };
      // 129/130: the child's own SIGHUP/SIGINT; the terminal's signal reaches the parent a moment later.
      if (code === signalExitCode('SIGINT') || code === signalExitCode('SIGHUP')) setTimeout(report, 300).unref();
      else if (code !== 0 || signal) report();
      resolve({ code, signal });
    });
  });
  // stdin stays open: when the parent dies the pipe closes and the child exits.
  child.stdin!.write(JSON.stringify(cfg) + '\n');
  return { child, worker: { task, pid, exited } };
}

/** What this process brings to executing a plan beside its children. */
interface PoolSide {
  o: PoolOptions;
  tally: PoolTally;
  book: FailureBook;
  freshSince: string;
  /** This process's share of each plan. */
  share: ExperimentPlan[];
  ownPids: ReadonlySet<number>;
}

/** Execute plan `k` here beside the children: this process's share first, then whatever is left. */
async function executeBeside(side: PoolSide, k: number, opts: ExecOptions): Promise<ResultTable> {
  const { o, tally, book } = side;
  const plan = o.session.plans[k]!;
  const total = uniqueIds(plan).length;
  const t0 = Date.now();
  let runnerLine: ExecProgress['runner'];
  const emit = (finished = false) => opts.onProgress?.(tally.progress(plan, k, total, t0, runnerLine, finished));
  tally.listeners[k] = () => emit();
  const self = process.pid;
  const common: ExecOptions = {
    ...opts,
    cache: o.cache,
    fresh: o.fresh,
    freshSince: side.freshSince,
    runner: o.session.runnerOf(plan),
    failedBefore: book,
    // Waiting on our own children's claims is the point of the pool, not worth a notice.
    ownPids: side.ownPids,
    onRun: (run, outcome, error) => {
      if (outcome === 'failed') book.record(run, error ?? 'failed');
      tally.record({ plan: k, run, outcome, error }, self);
    },
    onStage: (se) => tally.record({ plan: k, run: se.key, outcome: 'computed', stage: { name: se.stage, outcome: se.outcome, ...(se.corrupt ? { corrupt: true } : {}) } }, self),
    onProgress: (p) => {
      runnerLine = p.runner;
      emit();
    },
  };
  try {
    emit();
    const share = side.share[k]!;
    if (share.runs.length) await executePlan(share, common);
    const table = await executePlan(plan, common);
    for (const r of table.rows) if (!tally.pre[k]!.has(r.runId)) r.cached = false;
    tally.settle(k, table);
    emit(true);
    return table;
  } finally {
    tally.listeners[k] = undefined;
  }
}

export async function startPool(o: PoolOptions): Promise<Pool> {
  if (o.jobs < 2) throw new Error('a pool needs jobs >= 2');
  const warn = o.warn ?? ((m: string) => process.stderr.write(`sublab: warning: ${m}\n`));
  const freshSince = new Date().toISOString();
  // Decided before any child starts (see PoolTally.pre).
  const tally = new PoolTally(o.session.plans, o.cache, Boolean(o.fresh), o.onEvent);
  // Failures of any process, on disk: written before the failed run's claim is released, so no
  // other process claims and retries it.
  const book = new FailureBook(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-pool-')));

  let closing = false;
  // Before the first child: the children carry this process's token, so its watchdog ends them
  // even when this process is killed with -9 (they would otherwise finish their current group).
  ensureReaper();
  const config = (task: number): ChildConfig => ({
    file: path.resolve(o.session.file),
    source: o.source,
    overrides: o.overrides,
    seeds: o.seeds,
    ...(o.metrics ? { metrics: o.metrics } : {}),
    cacheDir: o.cache.dir,
    claimTtlMs: o.cache.claimTtlMs,
    fresh: Boolean(o.fresh),
    freshSince,
    failDir: book.dir,
    execution: o.execution ?? {},
    task,
    tasks: o.jobs,
  });
  const hooks: ChildHooks = { record: (e, pid) => tally.record(e, pid), warn, quiet: () => closing || Boolean(o.signal?.aborted) };
  const children: { child: ChildProcess; worker: PoolWorker }[] = [];
  for (let task = 1; task < o.jobs; task++) children.push(spawnChild(task, config(task), hooks));

  const killAll = (sig: NodeJS.Signals) => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const onExit = () => {
    killAll('SIGKILL');
    fs.rmSync(book.dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const onAbort = () => {
    closing = true;
    killAll('SIGTERM');
  };
  o.signal?.addEventListener('abort', onAbort);

  const side: PoolSide = { o, tally, book, freshSince, share: o.session.share(0, o.jobs), ownPids: new Set(children.map((c) => c.worker.pid)) };
  const close = async () => {
    closing = true;
    o.signal?.removeEventListener('abort', onAbort);
    for (const { child } of children) child.stdin?.end();
    killAll('SIGTERM');
    const timer = setTimeout(() => killAll('SIGKILL'), 5000);
    await Promise.all(children.map((c) => c.worker.exited));
    clearTimeout(timer);
    process.off('exit', onExit);
    fs.rmSync(book.dir, { recursive: true, force: true });
  };

  return { workers: children.map((c) => c.worker), execute: (k, opts) => executeBeside(side, k, opts), close };
}
