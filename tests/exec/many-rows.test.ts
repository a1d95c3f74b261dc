// Issue 20 (4): 200,000 rows from one run (a command program, 7 MB of stdout) are run, cached,
// read back, judged, reported and written up, on the first try and on every try after.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appendAll, maxOf, minOf } from '../../src/util/arrays.ts';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-manyrows-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const sublab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args, '--cache', path.join(dir, 'cache')], { cwd: dir, encoding: 'utf8', timeout: 170_000 });
  return { code: r.status, out: r.stdout + r.stderr };
};

describe('arrays of any length', () => {
  it('appendAll, maxOf and minOf handle 500,000 elements (spreads overflow the stack)', () => {
    const big = Array.from({ length: 500_000 }, (_, i) => i);
    expect(() => Math.max(...big)).toThrow(RangeError);
    expect(appendAll([1], big)).toHaveLength(500_001);
    expect(maxOf(big)).toBe(499_999);
    expect(minOf(big)).toBe(0);
    expect(maxOf([])).toBe(-Infinity);
    expect(minOf([1, NaN])).toBeNaN();
  });
});

describe('200,000 rows from one run', () => {
  it('run, run again from the cache, report and writeup all work', () => {
    fs.writeFileSync(
      path.join(dir, 'prog.mjs'),
      `process.stdin.resume(); process.stdin.on('end', () => { const out = []; for (let i = 0; i < 200000; i++) out.push(JSON.stringify({ acc: 0.9 + (i % 7) / 1000, step: i })); process.stdout.write(out.join('\\n') + '\\n'); });\n`,
    );
    fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "many rows" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  predict acc > 0.5\n}\n`);
    for (const attempt of ['computed', 'cached']) {
      const r = sublab('run', 'x.exp', '--no-progress');
      expect(r.out, attempt).not.toContain('Maximum call stack');
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`1 ${attempt}`);
    }
    const rep = sublab('report', 'x.exp', '--format', 'md', '--out', 'reports');
    expect(rep.code, rep.out).toBe(0);
    const wu = sublab('writeup', 'x.exp', '--format', 'md', '--out', 'wu');
    expect(wu.code, wu.out).toBe(0);
  }, 180_000);
});
