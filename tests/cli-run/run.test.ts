// `sublab run` as a user runs it: real processes, real training (tiny superposition models).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLiteral, parseRunArgs } from '../../src/cli/run.ts';
import { UsageError } from '../../src/cli/command.ts';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const fx = (name: string) => path.join('tests/cli-run/fixtures', name);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Done {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function sublab(args: string[]): Done {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, SUBLAB_CACHE: '' } });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function sublabAsync(args: string[]): { child: ReturnType<typeof spawn>; done: Promise<Done> } {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, SUBLAB_CACHE: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

type JsonRow = Record<string, unknown> & { run_id: string; cached: boolean; seed: number };
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { experiments: { name: string; file: string; rows: JsonRow[]; predictions: Record<string, unknown>[] }[] };
const metricsById = (rows: JsonRow[]) => Object.fromEntries(rows.map((r) => [r.run_id, [r.teacher_loss, r.child_loss, r.transfer_ratio]]));

describe('argument parsing', () => {
  it('reads --set values like .exp literals', () => {
    expect(parseLiteral('0.001')).toBe(0.001);
    expect(parseLiteral('3e-4')).toBe(3e-4);
    expect(parseLiteral('-2')).toBe(-2);
    expect(parseLiteral('true')).toBe(true);
    expect(parseLiteral('false')).toBe(false);
    expect(parseLiteral('ablated')).toBe('ablated');
    expect(parseLiteral('"42"')).toBe('42');
    expect(parseLiteral('a; rm -rf /')).toBe('a; rm -rf /');
  });

  it('parses every option and rejects bad ones with a usage error', () => {
    const f = fx('confirmed.exp');
    expect(parseRunArgs([f, '--set', 'lr=0.01', '--set=variant=ablated', '--seeds', '4', '--json', 'o.json', '--fresh', '--cache', 'c', '--retries=2'])).toEqual({
      files: [f],
      // --set values stay text here; the planner types them by the schema (see tests/plan).
      overrides: { lr: '0.01', variant: 'ablated' },
      seeds: 4,
      json: 'o.json',
      fresh: true,
      cacheDir: 'c',
      execution: { retries: 2, 'all-metrics': false },
      progress: true,
    });
    expect(parseRunArgs([f, '--progress-json']).progress).toBe('json');
    expect(parseRunArgs([f, '--no-progress']).progress).toBe(false);
    expect(() => parseRunArgs([f, '--seeds', '0'])).toThrow(UsageError);
    expect(() => parseRunArgs([f, '--set', 'lr'])).toThrow(/--set expects key=value, got "lr"/);
    expect(() => parseRunArgs([f, '--bogus'])).toThrow(/unknown option --bogus/);
    expect(() => parseRunArgs([])).toThrow(/no \.exp file given/);
    expect(() => parseRunArgs(['missing.exp'])).toThrow(/no such file: missing\.exp/);
    expect(() => parseRunArgs([f, '--json'])).toThrow(/--json needs a value/);
  });
});

describe('sublab run', () => {
  it('exit 0 when every prediction is confirmed; prints the override, the table and the verdict; writes --json', () => {
    const json = path.join(tmp, 'ok.json');
    const r = sublab(['run', fx('confirmed.exp'), '--cache', path.join(tmp, 'c0'), '--set', 'steps=30', '--json', json, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('experiment "all confirmed"');
    expect(r.stdout).toContain('override: steps = 30 (from --set)');
    // The table shows the predicted metric (teacher_loss) and says the others are left out.
    expect(r.stdout).toMatch(/sparsity\s+│\s+teacher_loss\n/);
    expect(r.stdout).toMatch(/\(6 more metrics not shown: --all-metrics/);
    expect(r.stdout).toMatch(/\n {2}0\.5\s+│\s+\S+ ± \S+ \(3\)/);
    expect(r.stdout).toMatch(/✔ confirmed\s+predict teacher_loss > 0 {2}\[not registered\] {2}\(line 11\)/);
    expect(r.stdout).toContain('1 prediction: 1 confirmed, 0 refuted, 0 inconclusive');
    const j = readJson(json);
    expect(j.experiments).toHaveLength(1);
    const e = j.experiments[0]!;
    expect(e.name).toBe('all confirmed');
    expect(e.file).toBe(fx('confirmed.exp'));
    expect(e.rows).toHaveLength(6);
    expect(e.rows[0]).toMatchObject({ sparsity: 0.5, steps: 30, seed: 0, cached: false });
    for (const k of ['run_id', 'backend', 'wall_ms', 'teacher_loss', 'transfer_ratio']) expect(e.rows[0]).toHaveProperty(k);
    expect(e.predictions).toHaveLength(1);
    expect(e.predictions[0]).toMatchObject({ text: 'predict teacher_loss > 0', line: 11, verdict: 'confirmed', n: 6 });
    for (const k of ['test', 'statistic', 'effect', 'ci', 'p', 'p_adjusted']) expect(e.predictions[0]).toHaveProperty(k);
  });

  it('exit 1 when a prediction is refuted, with distinct marks', () => {
    const r = sublab(['run', fx('refuted.exp'), '--cache', path.join(tmp, 'c1'), '--no-progress']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✔ confirmed\s+predict teacher_loss > 0/);
    expect(r.stdout).toMatch(/✘ refuted\s+predict teacher_loss < 0 {2}\[not registered\] {2}\(line 11\)/);
    expect(r.stdout).toMatch(/\n {2}all\s+│/);
  });

  it('exit 2 on a language error (compiler format on stderr) and on a bad override', () => {
    const bad = sublab(['run', fx('bad.exp'), '--cache', path.join(tmp, 'c2')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tests\/cli-run\/fixtures\/bad\.exp:3:7: error: unknown parameter "sparsty"/m);
    expect(bad.stdout).toBe('');
    const set = sublab(['run', fx('confirmed.exp'), '--cache', path.join(tmp, 'c2'), '--set', 'nonexistent=1']);
    expect(set.code).toBe(2);
    expect(set.stderr).toMatch(/experiment "all confirmed": unknown parameter "nonexistent"/);
    const usage = sublab(['run']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: sublab run');
  });

  it('two concurrent processes on one plan compute every run exactly once; SIGKILL mid-sweep resumes with identical results', async () => {
    // Two processes, one fresh cache.
    const shared = path.join(tmp, 'shared');
    const [a, b] = [0, 1].map((i) => sublabAsync(['run', fx('sweep.exp'), '--cache', shared, '--json', path.join(tmp, `p${i}.json`), '--no-progress']));
    const [ra, rb] = await Promise.all([a!.done, b!.done]);
    // (Two seeds per point: the prediction itself may well be inconclusive, exit 1; never 2 or a crash.)
    for (const r of [ra, rb]) {
      expect([0, 1], r.stderr).toContain(r.code);
      expect(r.stdout).toContain('1 prediction:');
    }
    const rowsA = readJson(path.join(tmp, 'p0.json')).experiments[0]!.rows;
    const rowsB = readJson(path.join(tmp, 'p1.json')).experiments[0]!.rows;
    expect(rowsA).toHaveLength(12);
    const computedBy = new Map<string, number>();
    for (const r of [...rowsA, ...rowsB]) if (!r.cached) computedBy.set(r.run_id, (computedBy.get(r.run_id) ?? 0) + 1);
    expect(computedBy.size).toBe(12);
    expect([...computedBy.values()].every((n) => n === 1)).toBe(true);
    // Both really did share the work, and agree on every number.
    expect(rowsA.some((r) => !r.cached) && rowsB.some((r) => !r.cached)).toBe(true);
    expect(metricsById(rowsB)).toEqual(metricsById(rowsA));
    expect(fs.readdirSync(shared).filter((f) => !f.endsWith('.json') && f !== 'stages')).toEqual([]);

    // A third process, killed with SIGKILL once some runs are cached.
    const kc = path.join(tmp, 'killed');
    const k = sublabAsync(['run', fx('sweep.exp'), '--cache', kc, '--no-progress']);
    const entries = () => (fs.existsSync(kc) ? fs.readdirSync(kc).filter((f) => f.endsWith('.json')).length : 0);
    for (let i = 0; i < 600 && entries() < 2; i++) await new Promise((r) => setTimeout(r, 50));
    k.child.kill('SIGKILL');
    const rk = await k.done;
    expect(rk.signal).toBe('SIGKILL');
    const before = entries();
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(12);

    // Running the same command again resumes (taking over the dead process's claims) ...
    const resumed = sublab(['run', fx('sweep.exp'), '--cache', kc, '--json', path.join(tmp, 'r.json'), '--no-progress']);
    expect([0, 1], resumed.stderr).toContain(resumed.code);
    const rowsR = readJson(path.join(tmp, 'r.json')).experiments[0]!.rows;
    expect(rowsR.filter((r) => r.cached)).toHaveLength(before);
    expect(metricsById(rowsR)).toEqual(metricsById(rowsA));

    // ... and once more computes nothing.
    const again = sublab(['run', fx('sweep.exp'), '--cache', kc, '--json', path.join(tmp, 'a.json'), '--no-progress']);
    expect(again.stdout.split('\n').slice(0, 2).join('\n') + again.stderr).toContain('0 computed, 12 cached, 0 failed');
    expect(readJson(path.join(tmp, 'a.json')).experiments[0]!.rows.every((r) => r.cached)).toBe(true);
  }, 180_000);

  it('sublab cache ls / verify / gc', () => {
    const dir = path.join(tmp, 'c0');
    const ls = sublab(['cache', 'ls', '--cache', dir]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/superposition\s+seed 0 /);
    expect(ls.stdout).toMatch(/6 entries, .* in /);
    const victim = fs.readdirSync(dir).find((f) => f.endsWith('.json'))!;
    fs.writeFileSync(path.join(dir, victim), '{"id":');
    const v = sublab(['cache', 'verify', '--cache', dir]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`corrupt: ${path.join(dir, victim)}`);
    expect(v.stdout).toContain('5 valid, 1 corrupt');
    const gc = sublab(['cache', 'gc', '--cache', dir]);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toContain(`removed ${path.join(dir, victim)}`);
    expect(sublab(['cache', 'verify', '--cache', dir]).code).toBe(0);
    expect(sublab(['cache', 'frobnicate']).code).toBe(2);
  });
});
