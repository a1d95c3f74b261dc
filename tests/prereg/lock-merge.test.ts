// A lock whose lines were added by a merge commit (two branches appended to it; the conflict was
// resolved by hand) counts those lines as committed, under the merge.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lockGit } from '../../src/prereg/git.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const line = (h: string) => `{"v":1,"kind":"register","entryHash":"${h.repeat(64)}"}\n`;

describe('lockGit on merged history', () => {
  it('finds an entry first added by a merge commit, and keeps the first commit of the others', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sublab-lock-merge-'));
    dirs.push(dir);
    const g = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    g('init', '-q', '-b', 'main');
    g('config', 'user.email', 't@example.com');
    g('config', 'user.name', 't');
    const lock = path.join(dir, 'sublab.lock');
    writeFileSync(lock, line('a'));
    g('add', '.'); g('commit', '-qm', 'a');
    g('checkout', '-qb', 'side');
    appendFileSync(lock, line('b'));
    g('commit', '-qam', 'b');
    const bCommit = g('rev-parse', 'HEAD');
    g('checkout', '-q', 'main');
    appendFileSync(lock, line('c'));
    g('commit', '-qam', 'c');
    try { g('merge', '-q', 'side'); } catch { /* the conflict, resolved below */ }
    writeFileSync(lock, line('a') + line('c') + line('d')); // b re-chained by hand as d
    g('add', '.'); g('commit', '-qm', 'merge');
    const merge = g('rev-parse', 'HEAD');
    const lg = lockGit(lock)!;
    expect(lg.entryCommit('d'.repeat(64))).toBe(merge);
    expect(lg.entryCommit('b'.repeat(64))).toBe(bCommit);
    expect(lg.entryCommit('e'.repeat(64))).toBeNull();
  });
});
