// Issue 13 (5, 6, 9): seeds that would alias, plans too big to run, and the command runner's
// program and input files in its run ids.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment } from '../../src/plan/plan.ts';
import { PlanError, planFile } from '../../src/exec/session.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-limits-'));
});
afterEach(() => {
  delete process.env.SUBLAB_MAX_RUNS;
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};
const SUP = (extra = '') => `experiment "pin" {
  runner superposition
  set steps = 10
  sweep sparsity in [0, 0.9]
  seeds 2
  ${extra}
  predict transfer_ratio > 0.2
}
`;
const errorsOf = (f: string) => compileFile(f).diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);

describe('seeds', () => {
  it('keeps the ids of valid seeds (pinned from before seed validation)', () => {
    const exp = compileFile(write('pin.exp', SUP())).experiments[0]!;
    // Pinned at superposition version 2 (ids hash the runner version; at version 1 they were
    // bd1e80d2f3ee1780, dfb4651d8701ddd2, 627d0eaa20ea1910, 31b98116341ac592 before and after
    // seed validation).
    expect(planExperiment(exp, { overrides: { seed: '5' } }).runs.map((r) => r.id)).toEqual(['16a4072136d8f61d', '223ea644bfa04d35', '349322d26638bbbf', '4c745387208908e0']);
    expect(planExperiment(exp, { overrides: { seed: String(2 ** 32 - 2) } }).runs).toHaveLength(4);
  });

  it('refuses seeds past 32 bits (they would alias smaller ones) and seeds past 2^53', () => {
    const f = write('pin.exp', SUP());
    expect(() => planFile(f, { overrides: { seed: '4294967296' } })).toThrow(PlanError);
    expect(() => planFile(f, { overrides: { seed: '4294967296' } })).toThrow(/largest seed/);
    expect(() => planFile(f, { overrides: { seed: '4294967295' } })).toThrow(/seeds 4294967295 to 4294967296 go past/);
    expect(() => planFile(f, { overrides: { seed: '1e300' } })).toThrow(/seed must be a whole number between 0 and 4294967295/);
  });

  it('says so at check time for a seed set in the file', () => {
    expect(errorsOf(write('s.exp', SUP('set seed = 4294967296')))).toEqual([expect.stringContaining('largest seed')]);
  });
});

describe('plan size', () => {
  it('`seeds 10000000` is an error at check time and at plan time, at once', () => {
    const f = write('big.exp', SUP().replace('seeds 2', 'seeds 10000000'));
    const t0 = Date.now();
    expect(errorsOf(f)).toEqual([expect.stringContaining('20,000,000 runs (2 sweep points × 10,000,000 seeds), more than the limit of 100,000; set SUBLAB_MAX_RUNS')]);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('a 10⁶-point grid is refused before it is built; SUBLAB_MAX_RUNS raises the limit', () => {
    const vals = Array.from({ length: 1000 }, (_, i) => i / 1000).join(', ');
    const f = write('grid.exp', SUP().replace('sweep sparsity in [0, 0.9]', `sweep sparsity in [${vals}]\n  sweep lr in [${vals}]`).replace('seeds 2', 'seeds 1'));
    const t0 = Date.now();
    expect(errorsOf(f)[0]).toContain('1,000,000 runs');
    expect(Date.now() - t0).toBeLessThan(5000);
    process.env.SUBLAB_MAX_RUNS = '3';
    expect(errorsOf(write('small.exp', SUP()))[0]).toContain('4 runs');
  });
});

describe('command runner run ids hash the files they depend on', () => {
  const CMD = (extra = '') => `experiment "c" {
  runner command
  set command = "node prog.mjs --flag"
  ${extra}
  measure acc
  seeds 2
  predict acc > 0.5
}
`;
  const ids = (f: string) => planExperiment(compileFile(f).experiments[0]!).runs.map((r) => r.id);

  it('editing the program gives new run ids; an unchanged program keeps them', () => {
    write('prog.mjs', 'console.log(1)\n');
    const f = write('c.exp', CMD());
    const a = ids(f);
    expect(ids(f)).toEqual(a);
    write('prog.mjs', 'console.log(2)\n');
    const b = ids(f);
    expect(b[0]).not.toBe(a[0]);
    expect(new Set([...a, ...b]).size).toBe(4);
  });

  it('files named by `set inputs` count too; a missing one is a plan error', () => {
    write('prog.mjs', 'console.log(1)\n');
    write('data.csv', 'x\n1\n');
    const f = write('c.exp', CMD('set inputs = "data.csv"'));
    const a = ids(f);
    write('data.csv', 'x\n2\n');
    expect(ids(f)[0]).not.toBe(a[0]);
    const g = write('d.exp', CMD('set inputs = "data.csv, nope.csv"'));
    expect(() => planFile(g)).toThrow(/d\.exp:4:3: error: runner command: inputs: "nope\.csv" does not exist/);
  });
});
