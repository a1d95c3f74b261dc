// Progress of a sweep: a cli-progress bar on a TTY, an occasional plain line otherwise (logs and CI
// should not fill with carriage returns).
import cliProgress from 'cli-progress';

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
  runner?: { phase: string; done: number; total: number; detail?: string };
  /** Set on the last event of a plan. */
  finished?: boolean;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressLine(p: ExecProgress): string {
  const r = p.runner ? ` · ${p.runner.phase} ${p.runner.done}/${p.runner.total}${p.runner.detail ? ' ' + p.runner.detail : ''}` : '';
  return `${p.experiment}: ${p.done + p.cached + p.failed}/${p.total} runs (${p.done} done, ${p.cached} cached, ${p.failed} failed, ${p.remaining} remaining) ETA ${formatDuration(p.etaMs)}${r}`;
}

export interface ProgressRenderer {
  update(p: ExecProgress): void;
  stop(): void;
}

/** TTY: a live bar. Otherwise: a line at most every `intervalMs` (and the final one). */
export function createProgressRenderer(opts: { stream?: NodeJS.WriteStream; tty?: boolean; intervalMs?: number } = {}): ProgressRenderer {
  const stream = opts.stream ?? process.stderr;
  const tty = opts.tty ?? Boolean(stream.isTTY);
  if (!tty) {
    const interval = opts.intervalMs ?? 15_000;
    let last = 0;
    let lastText = '';
    return {
      update(p) {
        const now = Date.now();
        const text = progressLine(p);
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
      format: '{experiment} |{bar}| {value}/{total} runs · {done} done · {cached} cached · {failed} failed · ETA {etaText}{runner}',
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
        etaText: formatDuration(p.etaMs),
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
