// `sublab writeup` on a fixture topic whose cache holds made-up results (nothing trains): what it
// reads (the cache only), what it writes (md, html, tex + figures), and that the LaTeX compiles
// without overfull lines when pdflatex is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { command as writeup, parseWriteupArgs, writeWriteup } from '../../src/cli/writeup.ts';
import { renderReport } from '../../src/report/render.ts';
import { findChromium, pngSize, screenshot } from '../../scripts/screenshot-report.ts';
import { fixtureModel } from './fixture.ts';
import { AMEND_REASON, makeWriteupFixture, type WriteupFixture } from './writeup-fixture.ts';
import { runCounts } from '../../src/report/writeup.ts';

function hasPdflatex(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v pdflatex'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compile twice (longtable widths settle on the second pass); the log's overfull boxes in pt. */
function compile(dir: string, file: string): { ok: boolean; overfull: number[]; log: string } {
  let r = { status: 0 } as ReturnType<typeof spawnSync>;
  for (let i = 0; i < 2; i++) r = spawnSync('pdflatex', ['-interaction=nonstopmode', '-halt-on-error', file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  const log = readFileSync(path.join(dir, file.replace(/\.tex$/, '.log')), 'utf8');
  const overfull = [...log.matchAll(/Overfull \\hbox \(([\d.]+)pt too wide\)/g)].map((m) => Number(m[1]));
  return { ok: r.status === 0 && existsSync(path.join(dir, file.replace(/\.tex$/, '.pdf'))), overfull, log };
}

/** A line is "too wide" only beyond this (TeX reports fractions of a point for rounding). */
const TOLERANCE_PT = 1;

let fx: WriteupFixture;
let out: string;
let written: string[];

beforeAll(async () => {
  fx = makeWriteupFixture({ exploratory: true, amend: true });
  out = path.join(path.dirname(fx.dir), 'out');
  const before = readdirSync(fx.cache).sort();
  written = await writeWriteup({ inputs: [fx.dir], formats: ['md', 'html', 'tex'], out, cacheDir: fx.cache });
  // Reading is all it does: no claim, no new entry, nothing moved.
  expect(readdirSync(fx.cache).sort()).toEqual(before);
}, 60_000);
afterEach(() => vi.restoreAllMocks());
afterAll(() => rmSync(path.dirname(fx.dir), { recursive: true, force: true }));

describe('sublab writeup', () => {
  it('writes one document per format, and the figures the LaTeX includes', () => {
    expect(written.map((w) => path.basename(w))).toEqual(['writeup.md', 'writeup.html', 'writeup.tex']);
    const figures = readdirSync(path.join(out, 'writeup-figures'));
    // sparsity sweep: 4 predicted metrics × 1 axis; init by sparsity: 1 metric × 2 axes.
    expect(figures.length).toBe(6);
  });

  it('markdown: summary of every prediction, exploratory apart, identifiers in code spans', () => {
    const md = readFileSync(path.join(out, 'writeup.md'), 'utf8');
    expect(md).toContain('# Fixture topic: superposition_toy \\<write-up>');
    expect(md).toMatch(/12 preregistered predictions \(registered before their first result\): \*\*11 confirmed\*\*, \*\*0 refuted\*\*, \*\*0 inconclusive\*\*, 1 not judged yet/);
    expect(md).toMatch(/\| ✅ \| \[sparsity sweep\]\(#sparsity-sweep\) \| `predict transfer_ratio increases with sparsity` \| \*\*confirmed\*\* \|/);
    // The one added after registration is exploratory, in its own table, not in the summary.
    const [summary, rest] = md.split('### Exploratory predictions');
    expect(summary).not.toContain('child_loss < 0.002');
    expect(rest).toMatch(/\| ❌ \| \[sparsity sweep\]\(#sparsity-sweep\) \| `predict child_loss < 0\.002 where sparsity = 0` \| \*\*refuted\*\* \|.*\| not registered \|/);
    // Setup in one line; the sweep table of predicted metrics only (child_features_per_dim is not predicted).
    expect(md).toContain('`runner superposition` · `extends base.exp` · `sparsity in [0, 0.5, 0.9, 0.99]` · 5 seeds');
    expect(md).toMatch(/\| `sparsity` \| n \| `teacher_features_per_dim` \| `transfer_ratio` \| `transfer_cosine` \| `child_loss` \|/);
    expect(md).not.toContain('child_features_per_dim');
    expect(md).toMatch(/\| 0\.5 \| 5 \| 2\.252 ± 0\.018 \|/);
    // Nothing swept: one row per metric.
    expect(md).toMatch(/\| `transfer_cosine` \| 0\.790 ± 0\.014 \|/);
    expect(md).toContain('**not run yet: none of its 6 runs is in the cache.**');
    // Readable raw markdown: no escaped underscores in identifiers, no HTML entities.
    expect(md).not.toMatch(/[a-z]\\_[a-z]/);
    expect(md).not.toContain('&lt;');
  });

  it('header: runs counted by id, a run several experiments share once', () => {
    const md = readFileSync(path.join(out, 'writeup.md'), 'utf8');
    // 6 + 20 + 16 + 6 planned; sparsity sweep and init by sparsity reuse base setup's runs at
    // sparsity 0.9 (seeds 0-4 and 0-3) and share 4 at sparsity 0.5: 35 distinct, of which the 6
    // of "not run yet" are not in the cache.
    expect(md).toContain(': 4 experiments, 48 runs (35 distinct: experiments share runs), 29 of the 35 in the cache. Generated by');
    expect(md).toContain('| runs in the cache | 29 of 35 |');
    expect(readFileSync(path.join(out, 'writeup.html'), 'utf8')).toContain('4 experiments, 48 runs (35 distinct: experiments share runs), 29 of the 35 in the cache ·');
    expect(readFileSync(path.join(out, 'writeup.tex'), 'utf8')).toContain('This write-up covers 4 experiments, 48 runs (35 distinct: experiments share runs), 29 of the 35 in the cache.');
    expect(runCounts(2, 10, 10, 4)).toBe('2 experiments, 10 runs, 4 of them in the cache');
    expect(runCounts(2, 10, 10, 10)).toBe('2 experiments, 10 runs, all in the cache');
    expect(runCounts(3, 12, 8, 8)).toBe('3 experiments, 12 runs (8 distinct: experiments share runs), all in the cache');
    expect(runCounts(3, 12, 8, 0)).toBe('3 experiments, 12 runs (8 distinct: experiments share runs), none in the cache yet');
    expect(runCounts(1, 1, 1, 1)).toBe('1 experiment, 1 run, in the cache');
  });

  it('an amendment reason once per experiment, after its verdicts', () => {
    const md = readFileSync(path.join(out, 'writeup.md'), 'utf8');
    expect(md.split('thresholds copied from the wrong pilot')).toHaveLength(2);
    expect(md).toContain(`Amendments (the reasons recorded by \`sublab register --amend\`):\n\n1. lines 9, 12 — ${AMEND_REASON}\n`);
    const base = md.slice(md.indexOf('## base setup'), md.indexOf('## sparsity sweep'));
    expect(base).toContain('1. lines 9, 12 —');
    const html = readFileSync(path.join(out, 'writeup.html'), 'utf8');
    expect(html).toContain('<li id="base-setup-amendment-1" value="1">lines 9, 12 — thresholds copied from the wrong pilot (100% &amp; #3 of them); fixed before any result</li>');
    expect(html.split('thresholds copied from the wrong pilot')).toHaveLength(2);
    const tex = readFileSync(path.join(out, 'writeup.tex'), 'utf8');
    expect(tex).toContain('\\noindent 1.~lines 9, 12 --- thresholds copied from the wrong pilot (100\\% \\& \\#3 of them); fixed before any result\\par');
    expect(tex.match(/before results \(amended, note~1\)/g)).toHaveLength(2);
  });

  it('HTML: one SVG figure per predicted metric and axis, with error bars', () => {
    const html = readFileSync(path.join(out, 'writeup.html'), 'utf8');
    expect(html.match(/<figure><svg /g)).toHaveLength(6);
    expect(html).toContain('aria-roledescription="errorbar"');
    expect(html).toContain('<h3>Exploratory predictions (not registered before their first result)</h3>');
    expect(html).toContain('<a href="#sparsity-sweep">sparsity sweep</a>');
  });

  it.skipIf(!findChromium())('HTML: renders in headless Chromium (tables and figures, far from blank)', () => {
    const png = path.join(out, 'writeup.png');
    screenshot(path.join(out, 'writeup.html'), png, [1200, 2400]);
    const buf = readFileSync(png);
    expect(pngSize(buf)).toEqual({ width: 1200, height: 2400 });
    expect(buf.length).toBeGreaterThan(150_000);
  }, 120_000);

  it('LaTeX: a complete document including the PNG figures', () => {
    const tex = readFileSync(path.join(out, 'writeup.tex'), 'utf8');
    expect(tex).toContain('\\documentclass');
    expect(tex).toContain('\\end{document}');
    expect(tex.match(/\\includegraphics\[width=0\.48\\linewidth,height=0\.34\\linewidth,keepaspectratio\]\{writeup-figures\/[a-z0-9-]+\.png\}/g)).toHaveLength(6);
    expect(tex).toContain('\\subsection*{Exploratory predictions (not registered before their first result)}');
  });

  it.skipIf(!hasPdflatex())('LaTeX: compiles with pdflatex, no line wider than the text', () => {
    const r = compile(out, 'writeup.tex');
    expect(r.ok, r.log.slice(-3000)).toBe(true);
    expect(r.overfull.filter((w) => w > TOLERANCE_PT), r.log.match(/Overfull[^\n]*\n[^\n]*/g)?.join('\n')).toEqual([]);
  }, 240_000);

  it.skipIf(!hasPdflatex())('the per-experiment LaTeX report fits a minimal article too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sublab-tex-'));
    const body = [...renderReport(await fixtureModel(), 'tex').values()][0]!;
    writeFileSync(path.join(dir, 'body.tex'), body);
    writeFileSync(path.join(dir, 'doc.tex'), '\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs,tabularx}\n\\begin{document}\n\\input{body}\n\\end{document}\n');
    const r = compile(dir, 'doc.tex');
    expect(r.ok, r.log.slice(-3000)).toBe(true);
    expect(r.overfull.filter((w) => w > TOLERANCE_PT)).toEqual([]);
  }, 240_000);

  it.skipIf(!hasPdflatex())('per-experiment LaTeX with every metric: split into parts, transposed without a sweep, fits', async () => {
    const { planFile } = await import('../../src/exec/session.ts');
    const { ResultCache } = await import('../../src/exec/cache.ts');
    const { cachedTable } = await import('../../src/cli/writeup.ts');
    const { buildReportModel } = await import('../../src/report/model.ts');
    const inputs = ['sparsity.exp', 'base.exp'].map((f) => {
      const plan = planFile(path.join(fx.dir, f)).plans[0]!;
      const { table } = cachedTable(plan, new ResultCache(fx.cache), () => {});
      return { experiment: plan.experiment, table, verdicts: [], wallMs: 1, cacheHits: 0 };
    });
    const model = await buildReportModel(inputs, {
      statuses: () => [],
      sublabVersion: '0',
      git: { commit: null, dirty: null },
      machine: { os: 'x', cpu: 'y', cores: 1 },
      date: '2026-01-01T00:00:00.000Z',
    });
    const [sweep, single] = model.experiments;
    expect(sweep!.sweepTable.metrics).toHaveLength(7);
    expect(sweep!.sweepTableParts.map((p) => p.metrics.length)).toEqual([4, 3]);
    expect(single!.byMetric).toHaveLength(7);
    const dir = mkdtempSync(path.join(tmpdir(), 'sublab-tex-'));
    const bodies = [...renderReport(model, 'tex').values()];
    writeFileSync(path.join(dir, 'body.tex'), bodies.join('\n\\clearpage\n'));
    writeFileSync(path.join(dir, 'doc.tex'), '\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs,tabularx}\n\\begin{document}\n\\input{body}\n\\end{document}\n');
    const r = compile(dir, 'doc.tex');
    expect(r.ok, r.log.slice(-3000)).toBe(true);
    expect(r.overfull.filter((w) => w > TOLERANCE_PT), r.log.match(/Overfull[^\n]*\n[^\n]*/g)?.join('\n')).toEqual([]);
  }, 240_000);

  it('without the optional sharp module: SVG files, placeholders and a note, still a valid document', async () => {
    vi.resetModules();
    vi.doMock('sharp', () => {
      throw new Error('Cannot find module sharp');
    });
    try {
      const { writeWriteup: fresh } = await import('../../src/cli/writeup.ts');
      const dest = path.join(path.dirname(fx.dir), 'out-nosharp');
      await fresh({ inputs: [fx.dir], formats: ['tex'], out: dest, cacheDir: fx.cache });
      const tex = readFileSync(path.join(dest, 'writeup.tex'), 'utf8');
      expect(tex).not.toContain('\\includegraphics');
      expect(tex).toContain('figure not rendered');
      expect(tex).toMatch(/the optional sharp module[^}]*is missing/);
      expect(readdirSync(path.join(dest, 'writeup-figures')).filter((f) => f.endsWith('.svg'))).toHaveLength(6);
      if (hasPdflatex()) expect(compile(dest, 'writeup.tex').ok).toBe(true);
    } finally {
      vi.doUnmock('sharp');
      vi.resetModules();
    }
  }, 240_000);

  it('options: --cache, the deprecated --cache-dir with a warning, formats, errors', () => {
    expect(parseWriteupArgs([fx.dir, '--format', 'md,tex', '--cache', 'c'])).toMatchObject({ inputs: [fx.dir], formats: ['md', 'tex'], cacheDir: 'c' });
    const warnings: string[] = [];
    expect(parseWriteupArgs([fx.dir, '--cache-dir=c'], (m) => warnings.push(m))).toMatchObject({ cacheDir: 'c' });
    expect(warnings).toEqual([expect.stringMatching(/--cache-dir is deprecated: use --cache/)]);
    expect(parseWriteupArgs([fx.dir, '-f', 'all']).formats).toEqual(['md', 'html', 'tex']);
    expect(() => parseWriteupArgs([])).toThrow(/no folder/);
    expect(() => parseWriteupArgs([path.join(fx.dir, 'missing')])).toThrow(/no such file or folder/);
  });

  it('the command: exit 0 and "wrote", exit 2 on a usage error', async () => {
    let text = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((text += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((text += String(s)), true));
    const dest = path.join(path.dirname(fx.dir), 'out2');
    expect(await writeup.run([fx.dir, '--out', dest, '--cache', fx.cache])).toBe(0);
    expect(text).toContain(`wrote ${path.join(dest, 'writeup.md')}`);
    expect(await writeup.run(['--format', 'pdf', fx.dir])).toBe(2);
  });
});
