// ETA from the first steps: the executor's estimate once a run is timed, before that the runner's
// step-level progress (exact with `fraction` and `runs`, a lower bound "≥" from the phase alone).
import { describe, expect, it } from 'vitest';
import { createEtaEstimator, formatEta, progressLine, type ExecProgress } from '../../src/exec/progress.ts';

const base: ExecProgress = { experiment: 'e', total: 50, done: 0, cached: 0, failed: 0, remaining: 50, etaMs: null };

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('ETA', () => {
  it('with fraction and runs: the group so far scaled to the whole plan', () => {
    const c = clock();
    const eta = createEtaEstimator(c.now);
    expect(eta(base)).toEqual({ ms: null, lowerBound: false });
    c.advance(10_000);
    // 10 runs in the group, a quarter done after 10 s: the group takes 40 s, 30 s left, then 40 more runs = 4 groups.
    const e = eta({ ...base, runner: { phase: 'teacher', done: 100, total: 313, fraction: 0.25, runs: 10 } });
    expect(e.lowerBound).toBe(false);
    expect(e.ms).toBeCloseTo(30_000 + 4 * 40_000, 6);
    expect(formatEta(e)).toBe('3m10s');
  });

  it('without them: the rest of the current phase, as a lower bound', () => {
    const c = clock();
    const eta = createEtaEstimator(c.now);
    eta(base);
    c.advance(4_000);
    const e = eta({ ...base, runner: { phase: 'teacher', done: 100, total: 300 } });
    expect(e).toEqual({ ms: 8_000, lowerBound: true });
    expect(formatEta(e)).toBe('≥8s');
    // A new phase is timed from when it started.
    c.advance(8_000);
    eta({ ...base, runner: { phase: 'distill', done: 1, total: 400 } });
    c.advance(2_000);
    expect(eta({ ...base, runner: { phase: 'distill', done: 101, total: 400 } }).ms).toBeCloseTo((2_000 * 299) / 101, 6);
  });

  it('too early to tell, then the executor’s own estimate once a run is timed', () => {
    const c = clock();
    const eta = createEtaEstimator(c.now);
    eta(base);
    c.advance(200);
    expect(eta({ ...base, runner: { phase: 'teacher', done: 1, total: 300 } }).ms).toBeNull();
    c.advance(60_000);
    expect(eta({ ...base, done: 10, remaining: 40, etaMs: 240_000 })).toEqual({ ms: 240_000, lowerBound: false });
  });

  it('the progress line shows the estimate', () => {
    expect(progressLine({ ...base, runner: { phase: 'teacher', done: 100, total: 300 } }, { ms: 8_000, lowerBound: true })).toContain('ETA ≥8s · teacher 100/300');
    expect(progressLine({ ...base, etaMs: 61_000 })).toContain('ETA 1m01s');
  });
});
