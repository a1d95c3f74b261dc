import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResultCache, entryChecksum, resolveCacheDir, projectRoot, type CacheEntryInput } from '../../src/exec/cache.ts';

let dir: string;
let warnings: string[];
let cache: ResultCache;

const input = (id: string, value = 0.5): CacheEntryInput => ({
  id,
  runner: 'superposition',
  params: { sparsity: 0.9, variant: 'auxiliary' },
  seed: 3,
  output: { rows: [{ metrics: { transfer_ratio: value, nan_metric: NaN } }], backend: 'cpu', extras: { curve: [1, 2, 3] } },
  wallMs: 12.5,
  finishedAt: '2026-01-01T00:00:00.000Z',
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-cache-'));
  warnings = [];
  cache = new ResultCache(dir, { warn: (m) => warnings.push(m), claimTtlMs: 60_000 });
});
afterEach(() => {
  cache.releaseAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('canonical JSON and checksum', () => {
  it('does not depend on key order and hashes NaN as the file stores it (null)', () => {
    const a = input('r1');
    const b = { ...a, params: { variant: 'auxiliary', sparsity: 0.9 } };
    expect(entryChecksum(a)).toBe(entryChecksum(b));
    expect(entryChecksum(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(entryChecksum(input('r1', 0.51))).not.toBe(entryChecksum(a));
    const rows = (m: number | null) => ({ ...a, output: { ...a.output, rows: [{ metrics: { x: m as number } }] } });
    expect(entryChecksum(rows(NaN))).toBe(entryChecksum(rows(null)));
    expect(entryChecksum(rows(Infinity))).toBe(entryChecksum(rows(null)));
    expect(entryChecksum(rows(1))).not.toBe(entryChecksum(rows(null)));
  });
});

describe('entries', () => {
  it('round-trips an entry and leaves no temp file behind', () => {
    const written = cache.write(input('run1'));
    const read = cache.read('run1');
    expect(read).toEqual(JSON.parse(JSON.stringify(written)));
    expect(read!.output.rows[0]!.metrics.transfer_ratio).toBe(0.5);
    expect(fs.readdirSync(dir).sort()).toEqual(['run1.json']);
    expect(cache.read('nope')).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it('reports a truncated entry, moves it aside and treats it as missing', () => {
    cache.write(input('run2'));
    const file = cache.entryPath('run2');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
    expect(cache.read('run2')).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    expect(warnings[0]).toMatch(/truncated/);
    expect(fs.existsSync(file)).toBe(false);
    // gc removes the moved-aside copy.
    expect(cache.gc().removed.map((r) => r.reason)).toEqual(['corrupt entry moved aside']);
  });

  it('detects a value changed on disk by its checksum', () => {
    cache.write(input('run3'));
    const file = cache.entryPath('run3');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"transfer_ratio":0.5', '"transfer_ratio":0.7'));
    expect(cache.inspect('run3')).toMatchObject({ status: 'corrupt', reason: 'checksum mismatch' });
    expect(cache.verify()).toEqual({ ok: 0, corrupt: [{ file, reason: 'checksum mismatch' }] });
    expect(cache.read('run3')).toBeUndefined();
    expect(warnings[0]).toMatch(/corrupt cache entry .*run3\.json \(checksum mismatch\)/);
  });

  it('rejects an entry stored under another id', () => {
    cache.write(input('run4'));
    fs.copyFileSync(cache.entryPath('run4'), cache.entryPath('run5'));
    expect(cache.inspect('run5')).toMatchObject({ status: 'corrupt', reason: 'entry is for run run4' });
  });

  it('gc removes corrupt entries and old temp files, keeps good entries', () => {
    cache.write(input('good'));
    fs.writeFileSync(cache.entryPath('bad'), '{"id":"bad"');
    const tmp = path.join(dir, '.good.123.abcd.tmp');
    fs.writeFileSync(tmp, 'partial');
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(tmp, old, old);
    const removed = cache.gc().removed.map((r) => path.basename(r.file)).sort();
    expect(removed).toEqual(['.good.123.abcd.tmp', 'bad.json']);
    expect(cache.verify()).toEqual({ ok: 1, corrupt: [] });
  });
});

describe('claims', () => {
  it('is exclusive between holders and released by its owner only', () => {
    const other = new ResultCache(dir, { warn: (m) => warnings.push(m) });
    expect(cache.claim('r')).toBe(true);
    expect(other.claim('r')).toBe(false);
    other.release('r'); // not its claim: no effect
    expect(fs.existsSync(cache.claimPath('r'))).toBe(true);
    cache.release('r');
    expect(fs.existsSync(cache.claimPath('r'))).toBe(false);
    expect(other.claim('r')).toBe(true);
    other.releaseAll();
  });

  it('takes over a claim whose process is dead', () => {
    // A real process that has exited: its pid is free.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    fs.writeFileSync(cache.claimPath('d'), JSON.stringify({ pid: deadPid, host: os.hostname(), time: Date.now(), token: 'x' }));
    expect(cache.claim('d')).toBe(true);
    expect(warnings.join('\n')).toMatch(new RegExp(`took over stale claim on run d \\(process ${deadPid} is gone\\)`));
    expect(JSON.parse(fs.readFileSync(cache.claimPath('d'), 'utf8')).pid).toBe(process.pid);
  });

  it('takes over an expired claim of a live process on another host, not a fresh one', () => {
    fs.writeFileSync(cache.claimPath('e'), JSON.stringify({ pid: 1, host: 'elsewhere', time: Date.now(), token: 'y' }));
    expect(cache.claim('e')).toBe(false);
    fs.writeFileSync(cache.claimPath('e'), JSON.stringify({ pid: 1, host: 'elsewhere', time: Date.now() - 120_000, token: 'y' }));
    expect(cache.claim('e')).toBe(true);
    expect(warnings.join('\n')).toMatch(/not refreshed for 120 s/);
  });

  it('refresh keeps a claim alive', async () => {
    expect(cache.claim('f')).toBe(true);
    const before = cache.readClaim('f')!.time;
    await new Promise((r) => setTimeout(r, 20));
    cache.refreshClaims();
    expect(cache.readClaim('f')!.time).toBeGreaterThan(before);
    expect(fs.readdirSync(dir)).toEqual(['f.claim']);
  });
});

describe('cache location', () => {
  it('defaults to .sublab/cache in the project of the .exp file; --cache and SUBLAB_CACHE win', () => {
    const root = path.resolve(__dirname, '../..');
    expect(projectRoot(path.join(root, 'experiments/superposition'))).toBe(root);
    const saved = process.env.SUBLAB_CACHE;
    delete process.env.SUBLAB_CACHE;
    try {
      expect(resolveCacheDir(undefined, path.join(root, 'experiments/superposition/x.exp'))).toBe(path.join(root, '.sublab/cache'));
      process.env.SUBLAB_CACHE = '/tmp/elsewhere';
      expect(resolveCacheDir(undefined, 'x.exp')).toBe('/tmp/elsewhere');
      expect(resolveCacheDir('rel/dir', 'x.exp')).toBe(path.resolve('rel/dir'));
    } finally {
      if (saved === undefined) delete process.env.SUBLAB_CACHE;
      else process.env.SUBLAB_CACHE = saved;
    }
  });
});
