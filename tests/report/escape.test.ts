import { describe, expect, it } from 'vitest';
import { codeLatex, codeSpanMarkdown, escapeHtml, escapeLatex, escapeMarkdown, escapeModel, inlineCode, renderReport } from '../../src/report/render.ts';
import { fixtureModel } from './fixture.ts';

describe('escaping', () => {
  const nasty = 'a|b <c> & 50% d_e';

  it('markdown: table-safe, no HTML, no emphasis, and only where markdown would act', () => {
    expect(escapeMarkdown(nasty)).toBe('a\\|b \\<c> & 50% d_e');
    expect(escapeMarkdown('*x* `y` [z](w) ~s~ \\')).toBe('\\*x\\* \\`y\\` [z\\](w) \\~s\\~ \\\\');
    expect(escapeMarkdown('two\nlines')).toBe('two lines');
    // Readable as written: intraword _, < before a space or digit, & not starting an entity, [a, b].
    expect(escapeMarkdown('teacher_features_per_dim, p < 0.001 & rho [0.5, 0.9]')).toBe('teacher_features_per_dim, p < 0.001 & rho [0.5, 0.9]');
    // But whatever could start markup is escaped.
    expect(escapeMarkdown('_x_ &amp; <b> a](b) [c]: d')).toBe('\\_x\\_ \\&amp; \\<b> a\\](b) [c\\]: d');
    expect(escapeMarkdown('- item')).toBe('\\- item');
    expect(escapeMarkdown('1. item')).toBe('1\\. item');
    expect(escapeMarkdown('> quote')).toBe('\\> quote');
    expect(escapeMarkdown('# h #')).toBe('\\# h \\#');
    expect(escapeMarkdown('-0.5')).toBe('-0.5');
  });

  it('markdown code spans: verbatim, never broken out of', () => {
    expect(codeSpanMarkdown('predict a_b < 1')).toBe('`predict a_b < 1`');
    expect(codeSpanMarkdown('x `y` z')).toBe('``x `y` z``');
    expect(codeSpanMarkdown('`x')).toBe('`` `x ``');
    expect(codeSpanMarkdown('```\nfence ``` ``')).toBe('```` ``` fence ``` `` ````');
    // A pipe stays inside its table cell; a backslash before it cannot undo the escape.
    expect(codeSpanMarkdown('a|b')).toBe('`a\\|b`');
    expect(codeSpanMarkdown('a\\|b')).toBe('`a\\\\\\|b`');
    expect(codeSpanMarkdown('')).toBe('');
  });

  it('LaTeX code: \\texttt, escaped, breakable', () => {
    expect(codeLatex('a_b = 1, x/y')).toBe('\\texttt{a\\_\\allowbreak{}b =\\allowbreak{} 1,\\allowbreak{} x/\\allowbreak{}y}');
    expect(codeLatex('50% & $')).toBe('\\texttt{50\\% \\& \\$}');
  });

  it('html', () => {
    expect(escapeHtml(nasty)).toBe('a|b &lt;c&gt; &amp; 50% d_e');
    expect(escapeHtml(`"q" 'a'`)).toBe('&quot;q&quot; &#39;a&#39;');
  });

  it('latex: every special character', () => {
    expect(escapeLatex(nasty)).toBe('a\\textbar{}b \\textless{}c\\textgreater{} \\& 50\\% d\\_e');
    expect(escapeLatex('\\ & % $ # _ { } ~ ^')).toBe('\\textbackslash{} \\& \\% \\$ \\# \\_ \\{ \\} \\textasciitilde{} \\textasciicircum{}');
    expect(escapeLatex('0.5 ± 0.1, ρ ≤ 1')).toBe('0.5 $\\pm$ 0.1, $\\rho$ $\\leq$ 1');
    // Symbols of rationales and descriptions; anything pdflatex cannot typeset is named, not fatal.
    expect(escapeLatex('1/28 ≈ 0.036, ‖W‖², α, café “q”, 🦉 ∫')).toBe('1/28 $\\approx$ 0.036, $\\|$W$\\|$$^2$, $\\alpha$, café “q”, [U+1F989] [U+222B]');
  });

  it('escapes every string of the model except the raw chart fields', () => {
    const m = escapeModel({ name: '<x>', charts: [{ ascii: '<a>', svg: '<svg/>' }] }, 'html');
    expect(m).toEqual({ name: '&lt;x&gt;', charts: [{ ascii: '&lt;a&gt;', svg: '<svg/>' }] });
    const md = escapeModel({ name: 'a|b', charts: [{ ascii: 'a|b', svg: '', metric: 'x_y' }], confirmatory: [{ text: 'predict x_y < 1', because: 'b_c' }] }, 'md');
    expect(md.name).toBe('a\\|b');
    expect(md.charts[0]!.ascii).toBe('a|b');
    // Identifiers and prediction texts (by path) become code spans; prose stays prose.
    expect(md.charts[0]!.metric).toBe('`x_y`');
    expect(md.confirmatory[0]).toEqual({ text: '`predict x_y < 1`', because: 'b_c' });
  });

  it('rendered reports carry |, <, &, %, _ from names and strings escaped', async () => {
    const model = await fixtureModel();
    const md = [...renderReport(model, 'md').values()][0]!;
    expect(md).toContain('# sparsity & superposition \\| 100% \\<toy_model>');
    expect(md).toContain('more superposition_shares & more \\<directions> \\| 50% of the time');
    expect(md).toContain('| `predict transfer_ratio > init_ratio where sparsity = 0.9` |');
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
    const body = tex.split('\n').flatMap((l) => [...l.matchAll(/\\texttt\{(predict[^\n]*?)\}\}/g)].map((m) => m[1]!));
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
      'sparsity & superposition \\| 100% \\<toy_model>: [✅ registered before its first result][❔ registered before its first result]',
    );
    expect([...renderReport(model, 'tex', dir).values()][0]).toContain('\\toprule');
    expect(() => renderReport(model, 'md', path.join(dir, 'missing'))).toThrow(/does not exist/);
  });
});

describe('inlineCode (a README heading with code spans)', () => {
  const t = 'Topic A (runner `mlp_distill`) & more';
  it('renders code spans as code in each format and escapes the rest', () => {
    expect(inlineCode(t, 'html')).toBe('Topic A (runner <code>mlp_distill</code>) &amp; more');
    expect(inlineCode(t, 'tex')).toBe('Topic A (runner \\texttt{mlp\\_\\allowbreak{}distill}) \\& more');
    expect(inlineCode(t, 'md')).toContain('`mlp_distill`');
  });
  it('drops the backticks where only plain text fits', () => {
    expect(inlineCode(t, 'html', true)).toBe('Topic A (runner mlp_distill) &amp; more');
    expect(inlineCode(t, 'tex', true)).toBe('Topic A (runner mlp\\_distill) \\& more');
    expect(inlineCode('no code here', 'tex')).toBe('no code here');
  });
});
