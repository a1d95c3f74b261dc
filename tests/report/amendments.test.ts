// An amendment's reason is shown once: reports (md, html, tex) and `register --status` number each
// distinct reason as a note, and every amended prediction points to its note. Real registrations
// and amendments of a tiny `command` experiment; the LaTeX is compiled when pdflatex is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { command as register } from '../../src/cli/register.ts';
import { command as report } from '../../src/cli/report.ts';
import { amendmentNotes, linesText, noteNumber } from '../../src/report/amendments.ts';

const GEN = `let s = '';
process.stdin.on('data', (d) => (s += d)).on('end', () => {
  const p = JSON.parse(s);
  console.log(JSON.stringify({ y: 2 * p.x + (p.seed % 3) * 0.01, z: 0.5 + (p.seed % 2) * 0.01 }));
});
`;

const SRC = `experiment "amended toy" {
  runner command
  set command = "${process.execPath} gen.mjs"
  sweep x in [1, 2]
  seeds 3
  measure y, z
  predict y increases with x
  predict z < 1
  predict y > 0.5 for each x
  predict z > 0.1
}
`;

/** Long, with characters every format escapes, and a marker to count. */
const REASON_1 =
  'MARKER-ONE: the thresholds of the first registration were copied from the pilot at 100% & _without_ its #3 seed | ' +
  'so they were wrong by a factor {2}; '.repeat(12) +
  'corrected before any result existed.';
const REASON_2 = 'MARKER-TWO: a typo in the threshold';

let dir: string;
let exp: string;
let out: string;
const cache = () => path.join(dir, 'cache');
const lineOf = (text: string) => readFileSync(exp, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;
const count = (s: string, sub: string) => s.split(sub).length - 1;

function hasPdflatex(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pdflatex'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sublab-amend-'));
  exp = path.join(dir, 'toy.exp');
  writeFileSync(path.join(dir, 'gen.mjs'), GEN);
  writeFileSync(exp, SRC);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe('amendmentNotes', () => {
  it('one note per distinct reason, in order of first appearance, lines ascending and once', () => {
    const notes = amendmentNotes([
      { line: 12, amendReason: 'b' },
      { line: 9, amendReason: 'a' },
      { line: 4 },
      { line: 9, amendReason: 'a' },
      { line: 7, amendReason: 'b' },
      { line: 11, amendReason: '' },
    ]);
    expect(notes).toEqual([
      { number: 1, lines: [7, 12], reason: 'b' },
      { number: 2, lines: [9], reason: 'a' },
    ]);
    expect(noteNumber(notes, 'a')).toBe(2);
    expect(noteNumber(notes, undefined)).toBe(0);
    expect(noteNumber(notes, 'c')).toBe(0);
    expect(linesText([9])).toBe('line 9');
    expect(linesText([7, 12])).toBe('lines 7, 12');
  });
});

describe('amended predictions: the reason once, each amended row pointing to it', () => {
  it('register --status before any result: the reason once per experiment, the label column fits the labels printed', async () => {
    expect(await register.run([exp])).toBe(0);
    writeFileSync(exp, SRC.replace('z < 1', 'z < 0.9').replace('y > 0.5', 'y > 0.4'));
    expect(await register.run([exp, '--amend', '--reason', REASON_1])).toBe(0);
    writeFileSync(exp, SRC.replace('z < 1', 'z < 0.9').replace('y > 0.5', 'y > 0.4').replace('z > 0.1', 'z > 0.2'));
    expect(await register.run([exp, '--amend', '--reason', REASON_2])).toBe(0);
    out = '';
    expect(await register.run([exp, '--status', '--cache', cache()])).toBe(0);
    expect(count(out, 'MARKER-ONE')).toBe(1);
    expect(count(out, 'MARKER-TWO')).toBe(1);
    const rows = out.split('\n').filter((l) => / line \d+: predict/.test(l));
    expect(rows).toHaveLength(4);
    // "registered (no results yet)" is the only label: two spaces after it, not the width of a longer one.
    for (const r of rows) expect(r).toMatch(/^ {2}registered \(no results yet\) {2}line \d+: /);
    expect(rows[1]).toMatch(/predict z < 0\.9 \(amended, note 1\)$/);
    expect(rows[2]).toMatch(/predict y > 0\.4 for each x \(amended, note 1\)$/);
    expect(rows[3]).toMatch(/predict z > 0\.2 \(amended, note 2\)$/);
    expect(rows[0]).not.toContain('amended');
    expect(out).toContain(`  Amendments (the reasons recorded in the lock):\n    1. lines ${lineOf('z < 0.9')}, ${lineOf('y > 0.4')}: ${REASON_1}\n    2. line ${lineOf('z > 0.2')}: ${REASON_2}\n`);
  });

  it('reports (md, html, tex): the cell says "amended, note N", the reason is printed once under the table', async () => {
    expect(await report.run([exp, '--format', 'all', '--out', path.join(dir, 'reports'), '--cache', cache()])).toBe(0);
    const read = (ext: string) => readFileSync(path.join(dir, 'reports', `amended-toy.${ext}`), 'utf8');
    const z = lineOf('z < 0.9');
    const y = lineOf('y > 0.4');
    const z2 = lineOf('z > 0.2');

    const md = read('md');
    expect(count(md, 'MARKER-ONE')).toBe(1);
    expect(count(md, 'MARKER-TWO')).toBe(1);
    // z < 0.9, and y > 0.4 for each of the two values of x.
    expect(count(md, '| registered before its first result (amended, note 1) |')).toBe(3);
    expect(count(md, '| registered before its first result (amended, note 2) |')).toBe(1);
    expect(md).toContain('Amendments (the reasons recorded by `sublab register --amend`):');
    expect(md).toContain(`\n1. lines ${z}, ${y} — MARKER-ONE: the thresholds of the first registration were copied from the pilot at 100% & \\_without\\_ its #3 seed \\| so`);
    expect(md).toContain(`\n2. line ${z2} — ${REASON_2}\n`);

    const html = read('html');
    expect(count(html, 'MARKER-ONE')).toBe(1);
    expect(count(html, '(amended, <a href="#amendment-1">note 1</a>)')).toBe(3);
    expect(html).toContain(`<li id="amendment-2" value="2">line ${z2} — ${REASON_2}</li>`);

    const tex = read('tex');
    expect(count(tex, 'MARKER-ONE')).toBe(1);
    expect(count(tex, '(amended, note~1)')).toBe(3);
    expect(tex).toContain(`1.~lines ${z}, ${y} --- MARKER-ONE: the thresholds of the first registration were copied from the pilot at 100\\% \\& \\_without\\_ its \\#3 seed \\textbar{} so they were wrong by a factor \\{2\\};`);
  });

  it.skipIf(!hasPdflatex())('the LaTeX report with its notes compiles in a minimal article, no line wider than the text', () => {
    const tdir = mkdtempSync(path.join(tmpdir(), 'sublab-amend-tex-'));
    try {
      writeFileSync(path.join(tdir, 'body.tex'), readFileSync(path.join(dir, 'reports', 'amended-toy.tex'), 'utf8'));
      writeFileSync(path.join(tdir, 'doc.tex'), '\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs,tabularx}\n\\begin{document}\n\\input{body}\n\\end{document}\n');
      const r = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', 'doc.tex'], { cwd: tdir, encoding: 'utf8', timeout: 120_000 });
      const log = readFileSync(path.join(tdir, 'doc.log'), 'utf8');
      expect(r.status === 0 && existsSync(path.join(tdir, 'doc.pdf')), log.slice(-3000)).toBe(true);
      const overfull = [...log.matchAll(/Overfull \\hbox \(([\d.]+)pt too wide\)/g)].map((m) => Number(m[1]));
      expect(overfull.filter((w) => w > 1)).toEqual([]);
    } finally {
      rmSync(tdir, { recursive: true, force: true });
    }
  }, 120_000);

  it('register --status after the results: labels of different widths share one column', async () => {
    // A prediction added after the run: "not registered", shorter than "registered before its first result".
    writeFileSync(exp, readFileSync(exp, 'utf8').replace('  predict z > 0.2\n', '  predict z > 0.2\n  predict y > 0\n'));
    out = '';
    expect(await register.run([exp, '--status', '--cache', cache()])).toBe(0);
    const rows = out.split('\n').filter((l) => / line \d+: predict/.test(l));
    expect(rows).toHaveLength(5);
    expect(rows.slice(0, 4).every((r) => r.startsWith('  registered before its first result  line '))).toBe(true);
    expect(rows[4]).toMatch(/^ {2}not registered {22}line \d+: predict y > 0$/);
    expect(new Set(rows.map((r) => r.indexOf(' line ')))).toEqual(new Set([2 + 'registered before its first result'.length + 1]));
    expect(count(out, 'MARKER-ONE')).toBe(1);
  });
});
