// End to end on a real (tiny) experiment run by the `command` runner: register, report in three
// formats, edit a registered prediction (changed since registration), add one after the run
// (exploratory), hand-edit the lock (tampered).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { command as register } from '../../src/cli/register.ts';
import { command as report, parseReportArgs } from '../../src/cli/report.ts';

const GEN = `let s = '';
process.stdin.on('data', (d) => (s += d)).on('end', () => {
  const p = JSON.parse(s);
  console.log(JSON.stringify({ y: 2 * p.x + (p.seed % 3) * 0.01, z: 0.5 + (p.seed % 2) * 0.01 }));
});
`;

const exp0 = (dir: string) => `experiment "toy_command | 100%" {
  runner command
  set command = "node ${dir}/gen.mjs"
  sweep x in [1, 2, 3]
  seeds 3
  measure y, z
  predict y increases with x because "y = 2x"
  predict z < 1
}
`;

let dir: string;
let exp: string;
let EXP: string;
let out: string;
const args = () => [exp, '--format', 'all', '--out', path.join(dir, 'reports'), '--cache', path.join(dir, 'cache')];
const md = () => readFileSync(path.join(dir, 'reports', 'toy-command-100.md'), 'utf8');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sublab-report-'));
  exp = path.join(dir, 'toy.exp');
  EXP = exp0(dir);
  writeFileSync(path.join(dir, 'gen.mjs'), GEN);
  writeFileSync(exp, EXP);
});
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('sublab register + sublab report', () => {
  it('parses options', () => {
    expect(parseReportArgs(['a.exp', '-f', 'md,tex', '--out=x'])).toMatchObject({ files: ['a.exp'], formats: ['md', 'tex'], out: 'x' });
    expect(parseReportArgs(['a.exp'])).toMatchObject({ formats: ['md'], out: 'reports' });
    expect(() => parseReportArgs(['a.exp', '--format', 'pdf'])).toThrow(/unknown format "pdf"/);
    expect(() => parseReportArgs([])).toThrow(/no .exp file/);
    expect(parseReportArgs(['a.exp', '--cache', 'c'])).toMatchObject({ cacheDir: 'c' });
    // The old name still works for a release, with a warning.
    const warnings: string[] = [];
    expect(parseReportArgs(['a.exp', '--cache-dir', 'c'], (m) => warnings.push(m))).toMatchObject({ cacheDir: 'c' });
    expect(warnings).toEqual([expect.stringMatching(/--cache-dir is deprecated: use --cache DIR/)]);
  });

  it('registered before the run: confirmatory, in md, html and tex', async () => {
    expect(await register.run([exp])).toBe(0);
    expect(await report.run(args())).toBe(0);
    for (const ext of ['md', 'html', 'tex']) expect(existsSync(path.join(dir, 'reports', `toy-command-100.${ext}`))).toBe(true);
    const text = md();
    expect(text).toContain('# toy_command \\| 100%');
    expect(text).toMatch(/\| ✅ \| `predict y increases with x` \| y = 2x \| registered before its first result \| (Spearman|Page)/);
    expect(text).toMatch(/\| ✅ \| `predict z < 1` \| {2}\| registered before its first result \|/);
    expect(text).not.toContain('## Exploratory');
    expect(text).toMatch(/\| 1 \| 3 \| 2\.010 ± 0\.025 \|/); // y at x = 1: mean 2.01, sd 0.01 → half 0.0248
    expect(text).toContain('y vs x (mean)');
    expect(readFileSync(path.join(dir, 'reports', 'toy-command-100.html'), 'utf8')).toContain('<svg');
    expect(readFileSync(path.join(dir, 'reports', 'toy-command-100.tex'), 'utf8')).toContain('\\toprule');
  });

  it('editing a registered prediction shows "changed since registration"', async () => {
    writeFileSync(exp, EXP.replace('z < 1', 'z < 0.9'));
    expect(await report.run(args())).toBe(0);
    expect(md()).toMatch(/## Exploratory[^]*`predict z < 0\.9` \| {2}\| changed since registration \|/);
  });

  it('a prediction added after the run is exploratory', async () => {
    writeFileSync(exp, EXP.replace('  predict z < 1\n', '  predict z < 1\n  predict y > 1\n'));
    expect(await report.run(args())).toBe(0);
    const text = md();
    expect(text).toMatch(/## Exploratory[^]*`predict y > 1` \| {2}\| not registered \|/);
    expect(await register.run([exp])).toBe(1); // results exist: refused unless asked for
    expect(await register.run([exp, '--after-results'])).toBe(0);
    expect(await report.run(args())).toBe(0);
    expect(md()).toMatch(/## Exploratory[^]*`predict y > 1` \| {2}\| registered after results existed \|/);
  });

  it('a hand-edited lock is reported as tampered, not trusted', async () => {
    const lock = path.join(dir, 'sublab.lock');
    writeFileSync(lock, readFileSync(lock, 'utf8').replace('predict z < 1', 'predict z < 2'));
    expect(await report.run(args())).toBe(0);
    const text = md();
    expect(text).toContain('the registration lock fails verification');
    expect(text).toContain('No prediction was registered before the first result.');
    expect(text.match(/\| lock tampered \|/g)).toHaveLength(3);
    expect(await register.run([exp])).toBe(1);
    expect(out).toMatch(/fails verification/);
  });

  it('a file with a language error exits 2 with the diagnostic', async () => {
    const bad = path.join(dir, 'bad.exp');
    writeFileSync(bad, 'experiment "b" {\n  runner command\n  predict\n}\n');
    expect(await report.run([bad, '--out', path.join(dir, 'reports')])).toBe(2);
    expect(out).toMatch(/bad\.exp:\d+:\d+: error/);
  });
});
