// Issue 13 (8, 10, 11) through the real `sublab` command: messages instead of stack traces,
// nothing from a program or a file may drive the terminal, register --status tells the truth.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'bin/sublab.mjs');
let dir: string;
const sublab = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, SUBLAB_CACHE: path.join(dir, 'cache') } });
  return { code: r.status, out: r.stdout + r.stderr };
};
const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+/);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-clihostile-'));
  fs.writeFileSync(
    path.join(dir, 'prog.mjs'),
    `let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => { const p = JSON.parse(s); if (p.seed === 1) { process.stderr.write('\\x1b]0;pwned\\x07\\x1b[2Jboom\\n'); process.exit(3); } console.log(JSON.stringify({ acc: 0.9 })); });\n`,
  );
  fs.writeFileSync(path.join(dir, 'x.exp'), `experiment "x" {\n  runner command\n  set command = "${process.execPath} prog.mjs"\n  measure acc\n  seeds 3\n  predict acc > 0.5\n}\n`);
  fs.writeFileSync(path.join(dir, 'empty.exp'), '');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sublab under hostile input', () => {
  it('a program printing terminal escapes cannot drive the terminal; register --status sees the results', () => {
    const r = sublab('run', 'x.exp', '--no-progress');
    expect(r.code).toBe(1);
    expect(r.out).toContain('exited with code 3');
    expect(r.out).toContain('\\x1b]0;pwned\\x07');
    expect(r.out).not.toMatch(/[\x1b\x07]/);
    const refused = sublab('register', 'x.exp');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('already exist');
    // The experiment's own runs, every point: no talk of a shared baseline point.
    expect(refused.out).toContain('Register before running next time');
    expect(refused.out).not.toContain('another file may share');
    const reg = sublab('register', 'x.exp', '--after-results');
    expect(reg.code).toBe(0);
    expect(reg.out).toContain('already exist');
    const st = sublab('register', 'x.exp', '--status');
    expect(st.code).toBe(0);
    expect(st.out).toContain('registered after results existed');
    expect(st.out).not.toContain('no results yet');
  });

  it('--json naming a directory or /dev/full: a message, no stack trace', () => {
    fs.mkdirSync(path.join(dir, 'out.json'), { recursive: true });
    const a = sublab('run', 'x.exp', '--no-progress', '--json', 'out.json');
    expect(a.code).toBe(2);
    expect(a.out).toContain('--json out.json is a directory');
    noStack(a.out);
    if (fs.existsSync('/dev/full')) {
      const b = sublab('run', 'x.exp', '--no-progress', '--json', '/dev/full');
      expect(b.code).toBe(1);
      expect(b.out).toContain('cannot write --json /dev/full: no space left on the device');
      noStack(b.out);
    }
  });

  it('an empty file is an error (exit 2), not a silent success', () => {
    const r = sublab('run', 'empty.exp', '--no-progress');
    expect(r.code).toBe(2);
    expect(r.out).toContain('no experiment in this file');
  });
});
