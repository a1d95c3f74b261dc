// Local parallelism (`sublab run --jobs N`, `SUBLAB_JOBS`): N processes share one file's runs
// through the result cache. The parent spawns N − 1 children (pool-child.ts), each with its own
// engine (ONNX Runtime sessions or a TensorFlow.js backend); every process first computes its deterministic share (shard.ts, as the
// SLURM workers do), then walks the whole plan, claiming whatever nobody has started (so a fast
// process takes over a slow one's leftovers) and waiting for runs another live process holds. The
// cache's claims make every run computed once; a child that dies leaves claims with a dead pid,
// which the parent takes over and computes. The parent then reads everything and judges as usual.
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

/** Marks a child's event lines on stdout (a runner or its engine may print its own lines there). */
export const EVENT_PREFIX = '@@sublab-pool ';

/** What a child reads as the first line of its stdin. */
export interface ChildConfig {
  file: string;
  source?: string;
  overrides?: Record<string, Value>;
  seeds?: number;
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

export async function startPool(o: PoolOptions): Promise<Pool> {
  if (o.jobs < 2) throw new Error('a pool needs jobs >= 2');
  const warn = o.warn ?? ((m: string) => process.stderr.write(`sublab: warning: ${m}\n`));
  const { plans } = o.session;
  const freshSince = new Date().toISOString();
  // What counts as "cached" is decided before any child starts, so runs computed by the pool are
  // never reported as cache hits whoever computed them.
  const pre = plans.map((p) => new Set(o.fresh ? [] : uniqueIds(p).filter((id) => o.cache.has(id))));
  const states = plans.map(() => new Map<string, 'done' | 'failed'>());
  // Failures of any process, on disk: written before the failed run's claim is released, so no
  // other process claims and retries it.
  const book = new FailureBook(fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-pool-')));
  const listeners: ((() => void) | undefined)[] = plans.map(() => undefined);
  const myShare = o.session.share(0, o.jobs);

  // Stage artifacts computed or reused by any process of the pool, per plan and stage.
  const stageCounts = plans.map(() => ({}) as Record<string, { computed: number; reused: number; corrupt: number }>);
  const record = (e: ChildEvent, pid: number) => {
    o.onEvent?.({ ...e, pid });
    if (e.stage) {
      const c = stageCounts[e.plan];
      if (!c) return;
      const n = (c[e.stage.name] ??= { computed: 0, reused: 0, corrupt: 0 });
      n[e.stage.outcome]++;
      if (e.stage.corrupt) n.corrupt++;
      listeners[e.plan]?.();
      return;
    }
    const st = states[e.plan];
    if (!st) return;
    if (e.outcome === 'cached' && (pre[e.plan]!.has(e.run) || st.has(e.run))) return;
    // A run computed (or found cached) stays done whatever arrives later.
    if (e.outcome === 'failed' && st.get(e.run) === 'done') return;
    st.set(e.run, e.outcome === 'failed' ? 'failed' : 'done');
    listeners[e.plan]?.();
  };

  let closing = false;
  // Before the first child: the children carry this process's token, so its watchdog ends them
  // even when this process is killed with -9 (they would otherwise finish their current group).
  ensureReaper();
  const children: { child: ChildProcess; worker: PoolWorker }[] = [];
  for (let task = 1; task < o.jobs; task++) {
    const child = spawn(process.execPath, [childEntry], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
    const pid = child.pid ?? -1;
    let out = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      out += d;
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (!line.startsWith(EVENT_PREFIX)) continue;
        try {
          record(JSON.parse(line.slice(EVENT_PREFIX.length)) as ChildEvent, pid);
        } catch {
          /* a garbled line only costs a progress tick */
        }
      }
    });
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      let i: number;
      while ((i = err.indexOf('\n')) >= 0) {
        const line = err.slice(0, i).trim();
        err = err.slice(i + 1);
        if (line) warn(`parallel worker ${task} (pid ${pid}): ${line}`);
      }
    });
    child.stdin!.on('error', () => {
      /* the child is gone; its exit is reported below */
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', (e) => {
        warn(`parallel worker ${task} could not start (${e.message}); its runs are computed by the other processes`);
        resolve({ code: null, signal: null });
      });
      child.on('close', (code, signal) => {
        const report = () => {
          if (closing || o.signal?.aborted) return;
          warn(
            `parallel worker ${task} (pid ${pid}) ${signal ? `was killed by ${signal}` : `exited with status ${code}`}; ` +
              'the runs it had not finished are computed by the remaining processes',
          );
        };
        // 129/130: the child's own SIGHUP/SIGINT; the terminal's signal reaches the parent a moment later.
        if (code === signalExitCode('SIGINT') || code === signalExitCode('SIGHUP')) setTimeout(report, 300).unref();
        else if (code !== 0 || signal) report();
        resolve({ code, signal });
      });
    });
    const cfg: ChildConfig = {
      file: path.resolve(o.session.file),
      source: o.source,
      overrides: o.overrides,
      seeds: o.seeds,
      cacheDir: o.cache.dir,
      claimTtlMs: o.cache.claimTtlMs,
      fresh: Boolean(o.fresh),
      freshSince,
      failDir: book.dir,
      execution: o.execution ?? {},
      task,
      tasks: o.jobs,
    };
    // stdin stays open: when the parent dies the pipe closes and the child exits.
    child.stdin!.write(JSON.stringify(cfg) + '\n');
    children.push({ child, worker: { task, pid, exited } });
  }

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

  const execute = async (k: number, opts: ExecOptions): Promise<ResultTable> => {
    const plan = plans[k]!;
    const ids = uniqueIds(plan);
    const before = pre[k]!;
    const st = states[k]!;
    const t0 = Date.now();
    let runnerLine: ExecProgress['runner'];
    const emit = (finished = false) => {
      if (!opts.onProgress) return;
      let done = 0;
      let failed = 0;
      for (const s of st.values()) {
        if (s === 'done') done++;
        else failed++;
      }
      const cached = before.size;
      const remaining = Math.max(0, ids.length - cached - done - failed);
      opts.onProgress({
        experiment: plan.experiment.name,
        total: ids.length,
        done,
        cached,
        failed,
        remaining,
        // Wall clock, not summed compute: the processes run side by side.
        etaMs: done > 0 ? ((Date.now() - t0) / done) * remaining : remaining === 0 ? 0 : null,
        runner: finished ? undefined : runnerLine,
        ...(Object.keys(stageCounts[k]!).length ? { stages: structuredClone(stageCounts[k]!) } : {}),
        finished,
      });
    };
    listeners[k] = () => emit();
    const self = process.pid;
    const common: ExecOptions = {
      ...opts,
      cache: o.cache,
      fresh: o.fresh,
      freshSince,
      runner: o.session.runnerOf(plan),
      failedBefore: book,
      // Waiting on our own children's claims is the point of the pool, not worth a notice.
      ownPids: new Set(children.map((c) => c.worker.pid)),
      onRun: (run, outcome, error) => {
        if (outcome === 'failed') book.record(run, error ?? 'failed');
        record({ plan: k, run, outcome, error }, self);
      },
      onStage: (se) => record({ plan: k, run: se.key, outcome: 'computed', stage: { name: se.stage, outcome: se.outcome, ...(se.corrupt ? { corrupt: true } : {}) } }, self),
      onProgress: (p) => {
        runnerLine = p.runner;
        emit();
      },
    };
    try {
      emit();
      const share = myShare[k]!;
      if (share.runs.length) await executePlan(share, common);
      const table = await executePlan(plan, common);
      for (const r of table.rows) if (!before.has(r.runId)) r.cached = false;
      // The final counts come from the table itself (a failure elsewhere recomputed here counts once).
      st.clear();
      for (const r of table.rows) if (!before.has(r.runId)) st.set(r.runId, 'done');
      for (const f of table.failed) st.set(f.runId, 'failed');
      emit(true);
      return table;
    } finally {
      listeners[k] = undefined;
    }
  };

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

  return { workers: children.map((c) => c.worker), execute, close };
}
