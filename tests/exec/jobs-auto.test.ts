// `--jobs auto`: as many processes as the cores hold, given the cores one group of each runner keeps
// busy (Runner.cores). The runners here are the real ones; only the plans are made up.
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Value } from '../../src/language/ast.ts';
import type { ExperimentPlan } from '../../src/plan/types.ts';
import type { Runner } from '../../src/runners/schema.ts';
import { autoJobs, requestedJobs } from '../../src/exec/pool.ts';
import { runner as mlp } from '../../src/runners/mlp_distill/runner.ts';
import { runner as superposition } from '../../src/runners/superposition/runner.ts';
import { runner as lm } from '../../src/runners/lm_distill/runner.ts';
import { runner as command } from '../../src/runners/command/runner.ts';

const cores = os.availableParallelism();

function session(...groups: [Runner, Record<string, Value>][]) {
  const plans = groups.map(([, params]) => ({ runs: [{ id: 'x', params, seed: 0, point: 0 }] }) as unknown as ExperimentPlan);
  return { plans, runnerOf: (p: ExperimentPlan) => groups[plans.indexOf(p)]![0] };
}

describe('--jobs auto', () => {
  it('stays "auto" until the runners are known', () => {
    expect(requestedJobs('auto', undefined)).toBe('auto');
    expect(requestedJobs(undefined, '0')).toBe('auto');
    expect(requestedJobs(undefined, ' 3 ')).toBe(3);
  });

  it('ONNX Runtime runners at their default threads fill the cores from one process: one process', () => {
    expect(autoJobs(session([mlp, {}]))).toBe(1);
    expect(autoJobs(session([lm, { models: 64 }]))).toBe(1);
  });

  it('one thread a group (superposition, a command program, a runner thread count of 1): one process per core', () => {
    expect(autoJobs(session([superposition, {}]))).toBe(cores);
    expect(autoJobs(session([command, {}]))).toBe(cores);
    expect(autoJobs(session([mlp, { threads: 1 }]))).toBe(cores);
    expect(autoJobs(session([superposition, {}]), 8)).toBe(8);
    expect(autoJobs(session([mlp, { threads: 2 }]), 8)).toBe(4);
  });

  it('a file with several experiments: the busiest runner decides; never below one', () => {
    expect(autoJobs(session([superposition, {}], [mlp, { threads: 4 }]), 8)).toBe(2);
    expect(autoJobs(session([mlp, { threads: 16 }]), 8)).toBe(1);
  });
});
