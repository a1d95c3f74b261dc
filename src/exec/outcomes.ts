// What one execution of a plan has settled so far: each unique run's rows or its failure, the
// counts and stage tallies progress shows, and the result table they make at the end. Every
// outcome of a run is recorded here, once, whichever step settled it.
import type { ExperimentPlan, PlannedRun } from '../plan/types.ts';
import type { FailedRun, ResultRow, ResultTable } from '../results/types.ts';
import { appendAll } from '../util/arrays.ts';
import type { ExecProgress, RunnerProgress } from './progress.ts';
import type { StageEvent } from './stages.ts';

export type RunOutcome = 'computed' | 'cached' | 'failed';

export interface OutcomeHooks {
  onProgress?: (p: ExecProgress) => void;
  /** Called as each unique run settles. */
  onRun?: (id: string, outcome: RunOutcome, error?: string) => void;
  onStage?: (e: StageEvent) => void;
}

type StageCounts = Record<string, { computed: number; reused: number; corrupt: number }>;

/** The plan's runs by id: runs with the same id (e.g. a sweep over an execution-only parameter) are computed once. */
export function runsById(runs: readonly PlannedRun[]): Map<string, PlannedRun[]> {
  const byId = new Map<string, PlannedRun[]>();
  for (const r of runs) {
    const list = byId.get(r.id);
    if (list) list.push(r);
    else byId.set(r.id, [r]);
  }
  return byId;
}

export class RunOutcomes {
  readonly byId: Map<string, PlannedRun[]>;
  /** The first planned run of each id, in plan order. */
  readonly unique: PlannedRun[];
  /** The runner's own progress line for the group in flight. */
  runnerLine: RunnerProgress | undefined;
  private readonly rowsById = new Map<string, ResultRow[]>();
  private readonly failedById = new Map<string, string>();
  private readonly extras: Record<string, Record<string, unknown>> = {};
  private readonly counts = { done: 0, cached: 0, failed: 0 };
  private computeMs = 0;
  private readonly stageCounts: StageCounts = {};
  private readonly stagesById = new Map<string, Record<string, string>>();

  constructor(
    private readonly plan: ExperimentPlan,
    private readonly hooks: OutcomeHooks = {},
  ) {
    this.byId = runsById(plan.runs);
    this.unique = [...this.byId.values()].map((l) => l[0]!);
  }

  /** Run `id` settled with rows, computed here or read from the cache. */
  succeed(id: string, rows: ResultRow[], extras: Record<string, unknown> | undefined, cached: boolean): void {
    this.rowsById.set(id, rows);
    if (extras) this.extras[id] = extras;
    if (cached) this.counts.cached++;
    else this.counts.done++;
    this.hooks.onRun?.(id, cached ? 'cached' : 'computed');
  }

  /** Run `id` failed; `why` is what the table (and the pool's other processes) will say. */
  fail(id: string, why: string): void {
    this.failedById.set(id, why);
    this.counts.failed++;
    this.hooks.onRun?.(id, 'failed', why);
  }

  /** Compute time of a group that returned (the ETA is the mean per computed run). */
  timed(ms: number): void {
    this.computeMs += ms;
  }

  /** A stage artifact a group computed or reused: counted, and remembered for the runs that used it. */
  stage(e: StageEvent): void {
    const c = (this.stageCounts[e.stage] ??= { computed: 0, reused: 0, corrupt: 0 });
    c[e.outcome]++;
    if (e.corrupt) c.corrupt++;
    // Each run records it under the stage's name, or the name it read it as (`base:cross`).
    for (const u of [...e.runIds.map((runId) => ({ runId, as: e.stage })), ...(e.uses ?? [])]) {
      const m = this.stagesById.get(u.runId) ?? {};
      m[u.as] = e.key;
      this.stagesById.set(u.runId, m);
    }
    this.hooks.onStage?.(e);
    this.emit();
  }

  /** The stage keys run `id` used (recorded in its cache entry). */
  stagesOf(id: string): Record<string, string> | undefined {
    return this.stagesById.get(id);
  }

  emit(finished = false): void {
    if (!this.hooks.onProgress) return;
    const { counts } = this;
    const total = this.unique.length;
    const remaining = total - counts.done - counts.cached - counts.failed;
    this.hooks.onProgress({
      experiment: this.plan.experiment.name,
      total,
      ...counts,
      remaining,
      etaMs: counts.done > 0 ? (this.computeMs / counts.done) * remaining : remaining === 0 ? 0 : null,
      runner: finished ? undefined : this.runnerLine,
      ...(Object.keys(this.stageCounts).length ? { stages: structuredClone(this.stageCounts) } : {}),
      finished,
    });
  }

  /** Rows in plan order (whatever order they finished in) and every failed planned run. */
  table(): ResultTable {
    const rows: ResultRow[] = [];
    const failed: FailedRun[] = [];
    for (const r of this.unique) {
      const rs = this.rowsById.get(r.id);
      if (rs) appendAll(rows, rs);
      const error = this.failedById.get(r.id);
      if (error !== undefined) for (const rr of this.byId.get(r.id)!) failed.push({ runId: rr.id, point: rr.point, seed: rr.seed, params: rr.params, error });
    }
    rows.sort((a, b) => a.point - b.point || a.seed - b.seed);
    const exp = this.plan.experiment;
    return { experiment: exp.name, file: exp.file, rows, failed, extras: this.extras };
  }
}
