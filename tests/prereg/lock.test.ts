import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compileFile } from '../../src/language/compile.ts';
import { appendEntries, gitInfo, lockPathFor, parseLock, readLock } from '../../src/prereg/lock.ts';
import { planRegistration } from '../../src/prereg/register.ts';
import { predictionStatuses } from '../../src/prereg/status.ts';
import { statusesForResult } from '../../src/prereg/index.ts';
import { command as registerCommand } from '../../src/cli/register.ts';

const SRC = `experiment "toy" {
  runner superposition
  set steps = 200
  sweep sparsity in [0, 0.9]
  seeds 3
  predict transfer_ratio increases with sparsity because "more superposition"
  predict transfer_ratio > 0.2
}
`;

let dir: string;
let file: string;
const noGit = { commit: null, dirty: null };

function compile() {
  const r = compileFile(file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.experiments[0]!;
}

function register(at: string, opts: { amend?: boolean; reason?: string } = {}) {
  const lock = readLock(lockPathFor(file));
  const plan = planRegistration([compile()], lock, { ...opts, git: noGit, now: new Date(at) });
  appendEntries(lock, plan.entries);
  return plan;
}

const statuses = (first: string | null) => predictionStatuses(compile(), readLock(lockPathFor(file)), first === null ? null : new Date(first)).map((s) => s.status);

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sublab-lock-'));
  file = path.join(dir, 'toy.exp');
  writeFileSync(file, SRC);
});

describe('registration lock', () => {
  it('appends one JSON line per prediction with chained hashes; re-registering adds nothing', () => {
    const plan = register('2026-01-01T00:00:00Z');
    expect(plan.actions.map((a) => a.action)).toEqual(['register', 'register']);
    const text = readFileSync(path.join(dir, 'sublab.lock'), 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ kind: 'register', file: 'toy.exp', experiment: 'toy', prediction: 'predict transfer_ratio increases with sparsity', because: 'more superposition', time: '2026-01-01T00:00:00.000Z', git: noGit });
    expect(JSON.parse(lines[1]!).prev).toBe(first.entryHash);
    expect(parseLock(text).tampered).toBe(false);

    const again = register('2026-01-02T00:00:00Z');
    expect(again.actions.map((a) => a.action)).toEqual(['unchanged', 'unchanged']);
    expect(readFileSync(path.join(dir, 'sublab.lock'), 'utf8')).toBe(text);
  });

  it('registered before / after the first result, and not registered (exploratory)', () => {
    expect(statuses('2026-01-05T00:00:00Z')).toEqual(['not-registered', 'not-registered']);
    register('2026-01-01T00:00:00Z');
    expect(statuses(null)).toEqual(['registered', 'registered']);
    expect(statuses('2026-01-05T00:00:00Z')).toEqual(['registered-before', 'registered-before']);
    expect(statuses('2025-12-31T00:00:00Z')).toEqual(['registered-after', 'registered-after']);

    // A prediction added after results existed: exploratory, whether registered later or not.
    writeFileSync(file, SRC.replace('}\n', '  predict child_loss < 0.01\n}\n'));
    const s = predictionStatuses(compile(), readLock(lockPathFor(file)), new Date('2026-01-05T00:00:00Z'));
    expect(s.map((x) => [x.status, x.exploratory])).toEqual([
      ['registered-before', false],
      ['registered-before', false],
      ['not-registered', true],
    ]);
    register('2026-01-06T00:00:00Z');
    expect(statuses('2026-01-05T00:00:00Z')).toEqual(['registered-before', 'registered-before', 'registered-after']);
    // The entry point for the run CLI / Vitest: the lock beside the file, first result from the rows.
    const row = (finishedAt?: string) => ({ runId: 'r', point: 0, seed: 0, params: {}, metrics: {}, keys: {}, backend: 'cpu', wallMs: 1, cached: true, finishedAt });
    expect(statusesForResult({ experiment: compile(), table: { rows: [row('2026-01-05T00:00:00Z'), row('2026-01-07T00:00:00Z')] } }).map((x) => x.status)).toEqual(['registered-before', 'registered-before', 'registered-after']);
    // A row with no time: results of unknown date, so nothing is called confirmatory.
    expect(statusesForResult({ experiment: compile(), table: { rows: [row(undefined)] } }).map((x) => x.status)).toEqual(['registered-after', 'registered-after', 'registered-after']);
  });

  it('a comment or whitespace edit keeps the registration; a changed threshold or setup does not', () => {
    register('2026-01-01T00:00:00Z');
    writeFileSync(file, SRC.replace('  predict transfer_ratio > 0.2', '  // reformatted\n  predict   transfer_ratio\n    > 2e-1'));
    expect(statuses('2026-01-05T00:00:00Z')).toEqual(['registered-before', 'registered-before']);

    writeFileSync(file, SRC.replace('> 0.2', '> 0.3'));
    const s = predictionStatuses(compile(), readLock(lockPathFor(file)), new Date('2026-01-05T00:00:00Z'));
    expect(s.map((x) => x.status)).toEqual(['registered-before', 'changed']);
    expect(s[1]!.changes).toEqual(['text']);
    expect(s[1]!.entry!.prediction).toBe('predict transfer_ratio > 0.2');
    expect(s[1]!.exploratory).toBe(true);

    writeFileSync(file, SRC.replace('seeds 3', 'seeds 5'));
    const t = predictionStatuses(compile(), readLock(lockPathFor(file)), new Date('2026-01-05T00:00:00Z'));
    expect(t.map((x) => [x.status, x.changes])).toEqual([
      ['changed', ['setup']],
      ['changed', ['setup']],
    ]);
  });

  it('refuses a changed prediction without --amend; --amend appends and keeps the old entry', () => {
    register('2026-01-01T00:00:00Z');
    writeFileSync(file, SRC.replace('> 0.2', '> 0.3'));
    const before = readFileSync(path.join(dir, 'sublab.lock'), 'utf8');
    const refused = register('2026-01-02T00:00:00Z');
    expect(refused.actions.map((a) => a.action)).toEqual(['unchanged', 'refused']);
    expect(refused.entries).toEqual([]);
    expect(readFileSync(path.join(dir, 'sublab.lock'), 'utf8')).toBe(before);

    expect(() => register('2026-01-02T00:00:00Z', { amend: true })).toThrow(/reason/);
    const amended = register('2026-01-02T00:00:00Z', { amend: true, reason: 'threshold typo' });
    expect(amended.actions.map((a) => a.action)).toEqual(['unchanged', 'amend']);
    const lock = readLock(lockPathFor(file));
    expect(lock.tampered).toBe(false);
    expect(lock.entries).toHaveLength(3);
    expect(lock.entries[2]).toMatchObject({ kind: 'amend', supersedes: lock.entries[1]!.entryHash, reason: 'threshold typo', prediction: 'predict transfer_ratio > 0.3' });
    const s = predictionStatuses(compile(), lock, new Date('2026-01-05T00:00:00Z'));
    expect(s.map((x) => x.status)).toEqual(['registered-before', 'registered-before']);
    expect(s[1]!.amendReason).toBe('threshold typo');
    // Amended after the first result: not confirmatory.
    expect(predictionStatuses(compile(), lock, new Date('2026-01-01T12:00:00Z')).map((x) => x.status)).toEqual(['registered-before', 'registered-after']);
  });

  it('detects hand edits: changed field, removed line, reordered lines, recomputed hash without chain', () => {
    register('2026-01-01T00:00:00Z');
    const lockFile = path.join(dir, 'sublab.lock');
    const good = readFileSync(lockFile, 'utf8');
    const lines = good.trimEnd().split('\n');

    const edited = good.replace('> 0.2', '> 0.3');
    const p1 = parseLock(edited);
    expect(p1.tampered).toBe(true);
    expect(p1.problems.map((p) => p.line)).toContain(2);

    expect(parseLock(lines[1] + '\n').tampered).toBe(true); // first entry removed
    expect(parseLock(`${lines[1]}\n${lines[0]}\n`).tampered).toBe(true); // reordered
    expect(parseLock(good.replace('2026-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')).tampered).toBe(true); // backdated
    expect(parseLock(good + 'not json\n').problems).toEqual([{ line: 3, message: 'not valid JSON' }]);

    // Every status from a tampered lock is "lock tampered", and registering onto it is refused.
    writeFileSync(lockFile, edited);
    expect(statuses('2026-01-05T00:00:00Z')).toEqual(['tampered', 'tampered']);
    expect(() => register('2026-01-02T00:00:00Z')).toThrow(/fails verification/);
  });

  it('records git commit and dirty flag, and null outside a repository', () => {
    expect(gitInfo(dir)).toEqual({ commit: null, dirty: null });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe', encoding: 'utf8' });
    git('init', '-q');
    git('add', 'toy.exp');
    git('commit', '-q', '-m', 'init');
    const head = git('rev-parse', 'HEAD').trim();
    expect(gitInfo(dir)).toEqual({ commit: head, dirty: false });
    writeFileSync(file, SRC + '// edit\n');
    expect(gitInfo(dir)).toEqual({ commit: head, dirty: true });
  });
});

describe('sublab register (CLI)', () => {
  let out: string;
  beforeEach(() => {
    out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
  });
  afterEach(() => vi.restoreAllMocks());

  it('registers, refuses a change, amends with a reason, and checks usage', async () => {
    expect(await registerCommand.run([file, file])).toBe(0);
    expect(out).toMatch(/2 entries appended/);
    expect(readLock(lockPathFor(file)).entries).toHaveLength(2);
    writeFileSync(file, SRC.replace('> 0.2', '> 0.25'));
    expect(await registerCommand.run([file])).toBe(1);
    expect(out).toMatch(/REFUSED.*\n.*--amend/);
    expect(await registerCommand.run([file, '--amend'])).toBe(2);
    expect(await registerCommand.run([file, '--amend', '--reason', 'rounding'])).toBe(0);
    expect(readLock(lockPathFor(file)).entries.map((e) => e.kind)).toEqual(['register', 'register', 'amend']);
    out = '';
    expect(await registerCommand.run([file, '--status'])).toBe(0);
    expect(out).toMatch(/predict transfer_ratio > 0\.25 \(amended, note 1\)\n {2}Amendments \(the reasons recorded in the lock\):\n {4}1\. line \d+: rounding\n/);
    writeFileSync(file, 'experiment "x" {\n  runner nope\n}\n');
    expect(await registerCommand.run([file])).toBe(2);
    expect(out).toMatch(/toy\.exp:2:/);
  });
});
