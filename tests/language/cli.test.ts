// The real command line: node bin/sublab.mjs, as a user (or an editor) runs it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sublab(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/sublab.mjs', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const design = ['baseline', 'weight-decay', 'learning-rate', 'owl'].map((n) => `tests/fixtures/design/${n}.exp`);

describe('sublab check', () => {
  it('exits 0 and says ok for the design examples', () => {
    const r = sublab('check', ...design);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok: 4 experiments in 4 files\n');
    expect(r.code).toBe(0);
  });

  it('exits 1 with path:line:col: error: diagnostics, the line and a caret on stderr', () => {
    const file = 'tests/language/cases/invalid/unknown-parameter/input.exp';
    const r = sublab('check', design[0]!, file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3:7: error: unknown parameter "hiden" for runner mlp_distill (did you mean "hidden"?)\n   3 |   set hiden = 128\n     |       ^^^^^\n`);
    expect(r.stderr).toMatch(/^2 errors in 2 files$/m);
  });

  it('--json prints every diagnostic with its code and the code\'s number on stdout', () => {
    const file = 'tests/language/cases/invalid/unknown-parameter/input.exp';
    const r = sublab('check', '--json', design[0]!, file);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ experiments: 1, errors: 2 });
    expect(out.diagnostics).toEqual([
      { severity: 'error', code: 'unknown-parameter', id: 'SL3009', file, line: 3, column: 7, length: 5, message: 'unknown parameter "hiden" for runner mlp_distill (did you mean "hidden"?)' },
      { severity: 'error', code: 'unknown-parameter', id: 'SL3009', file, line: 4, column: 9, length: 12, message: 'unknown parameter "weigth_decay" for runner mlp_distill (did you mean "weight_decay"?)' },
    ]);
    const ok = sublab('check', '--json', ...design);
    expect([ok.code, JSON.parse(ok.stdout)]).toEqual([0, { experiments: 4, errors: 0, diagnostics: [] }]);
  });

  it('exits 1 with a diagnostic-style message for a missing file', () => {
    const r = sublab('check', 'no/such/file.exp');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no/such/file.exp:1:1: error: cannot read "no/such/file.exp": no such file');
  });

  it('exits 2 with usage for no files or an unknown flag', () => {
    const none = sublab('check');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: sublab check');
    const flag = sublab('check', '--frobnicate', design[0]!);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^sublab check: error: unknown option --frobnicate\n+usage: sublab check/);
  });
});

describe('sublab plan', () => {
  it('--json prints experiments with their runs; --seeds and --set apply', () => {
    const r = sublab('plan', design[1]!, '--json', '--seeds', '2', '--set', 'hidden=32');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { experiments: { name: string; runs: { id: string; runner: string; params: Record<string, unknown>; seed: number }[] }[] };
    expect(out.experiments).toHaveLength(1);
    const [exp] = out.experiments;
    expect(exp!.name).toBe('weight decay');
    expect(exp!.runs).toHaveLength(10);
    expect(exp!.runs.map((x) => x.seed)).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(exp!.runs.map((x) => x.params.weight_decay)).toEqual([0, 0, 1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2, 0.1, 0.1]);
    for (const run of exp!.runs) {
      expect(run).toMatchObject({ runner: 'mlp_distill', params: { hidden: 32, epochs_teacher: 5 } });
      expect(run.id).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('prints a table, and exits 2 on an unknown --set name', () => {
    const t = sublab('plan', design[3]!);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/5 points x 1 seed = 5 runs/);
    expect(t.stdout).toMatch(/^\s+1\s+animal="eagles"\s+0\s+[0-9a-f]{16}$/m);
    const bad = sublab('plan', design[0]!, '--set', 'hiden=3');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown parameter "hiden"');
  });
});

describe('sublab runners', () => {
  it('lists runners and shows one runner\'s parameters and metrics', () => {
    const all = sublab('runners');
    expect(all.code).toBe(0);
    for (const n of ['mlp_distill', 'superposition', 'token_probe', 'command']) expect(all.stdout).toContain(n);
    const one = sublab('runners', 'mlp_distill');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/dataset\s+mnist \| fashion_mnist\s+"mnist"/);
    expect(one.stdout).toMatch(/student_acc\s+student \(aux logits only\) digit accuracy/);
    expect(sublab('runners', 'mlp_distil').stderr).toContain('did you mean "mlp_distill"?');
  });
});
