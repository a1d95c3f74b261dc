// Issue 13 (8): junk in the cache folder (a foreign file, a directory or FIFO under an entry's
// name) is reported; nothing hangs, nothing throws a stack trace, a whole run is not lost.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResultCache } from '../../src/exec/cache.ts';
import { cacheCommand } from '../../src/cli/cache.ts';
import { runFile } from '../../src/exec/run-file.ts';
import { planFile } from '../../src/exec/session.ts';

let dir: string;
let cacheDir: string;
let out: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-cachejunk-'));
  cacheDir = path.join(dir, 'cache');
  fs.mkdirSync(cacheDir);
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});
const mkfifo = (p: string) => {
  try {
    execFileSync('mkfifo', [p]);
    return true;
  } catch {
    return false;
  }
};

describe('a cache folder with junk in it', () => {
  it('cache ls, verify and gc report foreign files, directories and FIFOs without hanging', async () => {
    fs.writeFileSync(path.join(cacheDir, 'my junk.json'), 'hello');
    fs.writeFileSync(path.join(cacheDir, 'abc.json'), '{not json');
    fs.mkdirSync(path.join(cacheDir, 'dir0000000000000.json'));
    const fifo = mkfifo(path.join(cacheDir, 'fifo000000000000.json'));
    expect(await cacheCommand(['ls', '--cache', cacheDir])).toBe(0);
    expect(out).toContain('not a sublab entry (name is no run id)');
    expect(out).toContain('not a regular file (a directory)');
    if (fifo) expect(out).toContain('not a regular file (a FIFO)');
    out = '';
    expect(await cacheCommand(['verify', '--cache', cacheDir])).toBe(1);
    expect(out).toMatch(/corrupt: .*abc\.json \(not valid JSON/);
    out = '';
    expect(await cacheCommand(['gc', '--cache', cacheDir])).toBe(0);
    expect(fs.existsSync(path.join(cacheDir, 'abc.json'))).toBe(false);
    expect(fs.existsSync(path.join(cacheDir, 'dir0000000000000.json'))).toBe(true);
    expect(out).toContain('left in place');
  });

  it('a run whose entry name is taken by a FIFO or a directory neither hangs nor sinks the sweep', async () => {
    fs.writeFileSync(path.join(dir, 'prog.mjs'), `process.stdin.resume(); process.stdin.on('end', () => console.log('{"acc": 1}'));\n`);
    const f = path.join(dir, 'x.exp');
    fs.writeFileSync(f, `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  seeds 3\n  predict acc > 0.5\n}\n`);
    const ids = planFile(f).plans[0]!.runs.map((r) => r.id);
    const cache = new ResultCache(cacheDir, { warn: () => {} });
    if (!mkfifo(cache.entryPath(ids[0]!))) fs.writeFileSync(cache.entryPath(ids[0]!), '');
    fs.mkdirSync(cache.entryPath(ids[1]!));
    fs.writeFileSync(path.join(cache.entryPath(ids[1]!), 'x'), 'keep me');
    const r = (await runFile(f, { cacheDir, warn: () => {} })).experiments[0]!;
    expect(r.table.rows.map((x) => x.seed)).toEqual([0, 2]);
    expect(r.table.failed).toHaveLength(1);
    expect(r.table.failed[0]!.error).toContain('cache entry cannot be written');
    expect(fs.readdirSync(cacheDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
