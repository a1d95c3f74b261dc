// Progress of a sweep: a cli-progress bar on a TTY, an occasional plain line otherwise (logs and CI
// should not fill with carriage returns).
import cliProgress from 'cli-progress';

/**
 * What a runner reports while it computes a group of runs (RunContext.progress). `phase`, `done`
 * and `total` are shown as they are ("distill 120/469 epoch 1/1"); two optional fields let the
 * ETA be estimated from the first steps of the first group instead of after it:
 * * `fraction`: share of the whole group's work done, 0–1, across all its phases (e.g. steps done
 *   over all steps of teacher and distillation);
 * * `runs`: how many runs the group computes (the runner's `specs.length`).
 * Without them the ETA is a lower bound ("≥"): the rest of the current phase.
 */
export interface RunnerProgress {
  phase: string;
  done: number;
  total: number;
  detail?: string;
  fraction?: number;
  runs?: number;
}

export interface ExecProgress {
  experiment: string;
  total: number;
  /** Computed by this process. */
  done: number;
  /** Read from the cache (including runs another process computed meanwhile). */
  cached: number;
  failed: number;
  remaining: number;
  /** Estimated ms until the remaining runs are computed; null until one run has been timed. */
  etaMs: number | null;
  /** The runner's own progress line for the group in flight (phase / epoch). */
  runner?: RunnerProgress;
  /** Stage artifacts so far, by stage: computed here, reused from the store, corrupt ones replaced. */
  stages?: Record<string, { computed: number; reused: number; corrupt: number }>;
  /** Set on the last event of a plan. */
  finished?: boolean;
}

/** " · teacher 2 computed, 8 reused" for progress lines; empty without stages. */
export function stagesText(p: Pick<ExecProgress, 'stages'>): string {
  const s = Object.entries(p.stages ?? {});
  return s.map(([name, c]) => ` · ${name} ${c.computed} computed, ${c.reused} reused${c.corrupt ? `, ${c.corrupt} corrupt replaced` : ''}`).join('');
}

/** An ETA, and whether it is only a lower bound (the rest of what is known so far). */
export interface Eta {
  ms: number | null;
  lowerBound: boolean;
}

/**
 * ETA from the executor's timed runs when it has them (`etaMs`), else from the runner's step-level
 * progress of the group in flight: time so far in the group (or phase) scaled by the share left.
 * Stateful: feed it every event of one plan, in order.
 */
export function createEtaEstimator(now: () => number = Date.now) {
  let groupStart = now();
  let phaseStart = groupStart;
  let phase: string | undefined;
  let settled = -1;
  return (p: ExecProgress): Eta => {
    const t = now();
    const s = p.done + p.cached + p.failed;
    if (s !== settled || !p.runner) {
      // A run settled, or the executor speaks between groups: the next runner line starts a group.
      if (s !== settled || phase !== undefined) groupStart = t;
      settled = s;
      phase = undefined;
    }
    if (p.etaMs !== null || p.finished) return { ms: p.etaMs, lowerBound: false };
    const r = p.runner;
    if (!r) return { ms: null, lowerBound: false };
    if (r.phase !== phase) {
      // The group's first phase started with the group; a later one when the previous one ended.
      phaseStart = phase === undefined ? groupStart : t;
      phase = r.phase;
    }
    const MIN_MS = 1500;
    if (typeof r.fraction === 'number' && r.fraction > 0 && r.fraction <= 1) {
      const elapsed = t - groupStart;
      if (elapsed < MIN_MS) return { ms: null, lowerBound: false };
      const group = elapsed / r.fraction;
      const left = group - elapsed;
      if (typeof r.runs === 'number' && r.runs > 0) {
        const after = Math.max(0, p.remaining - r.runs);
        return { ms: left + (after * group) / r.runs, lowerBound: false };
      }
      return { ms: left, lowerBound: p.remaining > 0 };
    }
    if (r.total > 0 && r.done > 0 && r.done < r.total) {
      const elapsed = t - phaseStart;
      if (elapsed < MIN_MS) return { ms: null, lowerBound: false };
      return { ms: (elapsed * (r.total - r.done)) / r.done, lowerBound: true };
    }
    return { ms: null, lowerBound: false };
  };
}

export function formatEta(e: Eta): string {
  return e.ms === null ? '?' : `${e.lowerBound ? '≥' : ''}${formatClock(e.ms)}`;
}

/** Compact terminal form for ETAs and the run summary line ("1m05s"); reports and write-ups use report/format.ts formatDuration. */
export function formatClock(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressLine(p: ExecProgress, eta: Eta = { ms: p.etaMs, lowerBound: false }): string {
  const r = p.runner ? ` · ${p.runner.phase} ${p.runner.done}/${p.runner.total}${p.runner.detail ? ' ' + p.runner.detail : ''}` : '';
  return `${p.experiment}: ${p.done + p.cached + p.failed}/${p.total} runs (${p.done} done, ${p.cached} cached, ${p.failed} failed, ${p.remaining} remaining) ETA ${formatEta(eta)}${stagesText(p)}${r}`;
}

export interface ProgressRenderer {
  update(p: ExecProgress): void;
  stop(): void;
}

/** TTY: a live bar. Otherwise: a line at most every `intervalMs` (and the final one). */
export function createProgressRenderer(opts: { stream?: NodeJS.WriteStream; tty?: boolean; intervalMs?: number; now?: () => number } = {}): ProgressRenderer {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  let estimate = createEtaEstimator(opts.now);
  let experiment: string | undefined;
  const etaOf = (p: ExecProgress): Eta => {
    if (p.experiment !== experiment) {
      experiment = p.experiment;
      estimate = createEtaEstimator(opts.now);
    }
    return estimate(p);
  };
  if (!tty) {
    const interval = opts.intervalMs ?? 15_000;
    let last = 0;
    let lastText = '';
    return {
      update(p) {
        const now = Date.now();
        const text = progressLine(p, etaOf(p));
        // Only plan-level changes or the interval produce a line; runner chatter alone does not.
        if (p.finished || now - last >= interval) {
          if (text !== lastText && (p.total > p.cached || p.finished)) stream.write(text + '\n');
          last = now;
          lastText = text;
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{experiment} |{bar}| {value}/{total} runs · {done} done · {cached} cached · {failed} failed · ETA {etaText}{stages}{runner}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = {
        experiment: p.experiment,
        done: p.done,
        cached: p.cached,
        failed: p.failed,
        etaText: formatEta(etaOf(p)),
        stages: stagesText(p),
        runner: p.runner ? ` · ${p.runner.phase} ${p.runner.done}/${p.runner.total}${p.runner.detail ? ' ' + p.runner.detail : ''}` : '',
      };
      const value = p.done + p.cached + p.failed;
      if (!started) {
        bar.start(p.total, value, payload);
        started = true;
      } else {
        bar.setTotal(p.total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
