import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeLatex, escapeMarkdown, escapeModel, renderReport } from '../../src/report/render.ts';
import { fixtureModel } from './fixture.ts';

describe('escaping', () => {
  const nasty = 'a|b <c> & 50% d_e';

  it('markdown: table-safe, no HTML, no emphasis', () => {
    expect(escapeMarkdown(nasty)).toBe('a\\|b &lt;c&gt; &amp; 50% d\\_e');
    expect(escapeMarkdown('*x* `y` [z](w) ~s~ \\')).toBe('\\*x\\* \\`y\\` \\[z\\](w) \\~s\\~ \\\\');
    expect(escapeMarkdown('two\nlines')).toBe('two lines');
  });

  it('html', () => {
    expect(escapeHtml(nasty)).toBe('a|b &lt;c&gt; &amp; 50% d_e');
    expect(escapeHtml(`"q" 'a'`)).toBe('&quot;q&quot; &#39;a&#39;');
  });

  it('latex: every special character', () => {
    expect(escapeLatex(nasty)).toBe('a\\textbar{}b \\textless{}c\\textgreater{} \\& 50\\% d\\_e');
    expect(escapeLatex('\\ & % $ # _ { } ~ ^')).toBe('\\textbackslash{} \\& \\% \\$ \\# \\_ \\{ \\} \\textasciitilde{} \\textasciicircum{}');
    expect(escapeLatex('0.5 ± 0.1, ρ ≤ 1')).toBe('0.5 $\\pm$ 0.1, $\\rho$ $\\leq$ 1');
  });

  it('escapes every string of the model except the raw chart fields', () => {
    const m = escapeModel({ name: '<x>', charts: [{ ascii: '<a>', svg: '<svg/>' }] }, 'html');
    expect(m).toEqual({ name: '&lt;x&gt;', charts: [{ ascii: '&lt;a&gt;', svg: '<svg/>' }] });
    const md = escapeModel({ name: 'a|b', charts: [{ ascii: 'a|b', svg: '' }] }, 'md');
    expect(md.name).toBe('a\\|b');
    expect(md.charts[0]!.ascii).toBe('a|b');
  });

  it('rendered reports carry |, <, &, %, _ from names and strings escaped', async () => {
    const model = await fixtureModel();
    const md = [...renderReport(model, 'md').values()][0]!;
    expect(md).toContain('# sparsity &amp; superposition \\| 100% &lt;toy\\_model&gt;');
    expect(md).toContain('more superposition\\_shares &amp; more &lt;directions&gt; \\| 50% of the time');
    // Each table row of the predictions table keeps its 12 cell borders (no stray unescaped |).
    const rows = md.split('\n').filter((l) => l.startsWith('| ✅') || l.startsWith('| ❌') || l.startsWith('| ❔'));
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(r.replace(/\\\|/g, '').split('|').length - 1).toBe(12);

    const html = [...renderReport(model, 'html').values()][0]!;
    expect(html).toContain('<h1>sparsity &amp; superposition | 100% &lt;toy_model&gt;</h1>');
    expect(html).not.toContain('<toy_model>');
    expect(html).not.toContain('<directions>');

    const tex = [...renderReport(model, 'tex').values()][0]!;
    expect(tex).toContain('\\subsection*{sparsity \\& superposition \\textbar{} 100\\% \\textless{}toy\\_model\\textgreater{}}');
    // No unescaped special character outside the template's own markup.
    const body = tex.split('\n').filter((l) => l.startsWith('predict'));
    expect(body).toHaveLength(3);
    for (const l of body) expect(l.replace(/\\[&%_#${}]/g, '').replace(/\$\\?[a-z]*-?\$/g, '')).not.toMatch(/[%_#$<>|]/);
  });
});

describe('user templates', () => {
  it('a user directory overrides a format, with partials; other formats fall back', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'sublab-tpl-'));
    mkdirSync(path.join(dir, 'md'));
    writeFileSync(path.join(dir, 'md', 'report.hbs'), '{{name}}: {{#each confirmatory}}{{> row}}{{/each}}');
    writeFileSync(path.join(dir, 'md', 'row.hbs'), '[{{mark}} {{statusLabel}}]');
    const model = await fixtureModel();
    expect([...renderReport(model, 'md', dir).values()][0]).toBe(
      'sparsity &amp; superposition \\| 100% &lt;toy\\_model&gt;: [✅ registered before its first result][❔ registered before its first result]',
    );
    expect([...renderReport(model, 'tex', dir).values()][0]).toContain('\\toprule');
    expect(() => renderReport(model, 'md', path.join(dir, 'missing'))).toThrow(/does not exist/);
  });
});
