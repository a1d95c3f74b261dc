// Issue 13 (10, 11): a sweep string cannot break out of the markdown chart's code fence; experiment
// names in other scripts get distinct report file names.
import { describe, expect, it } from 'vitest';
import { escapeModel, fenceSafe } from '../../src/report/render.ts';
import { slugify } from '../../src/report/model.ts';

describe('markdown code fences', () => {
  it('neutralises backtick runs inside the chart block', () => {
    const evil = 'x\n```\n<img src=x onerror=alert(1)>\n```';
    expect(fenceSafe(evil)).not.toContain('```');
    const m = escapeModel({ charts: [{ ascii: evil }] }, 'md');
    expect(m.charts[0]!.ascii).not.toContain('```');
    expect(m.charts[0]!.ascii).toContain('<img'); // harmless inside the fence, kept as text
  });
});

describe('report file names', () => {
  it('non-Latin names get distinct slugs; Latin ones are unchanged', () => {
    const names = ['вес', 'распад', '重み減衰', 'تجربة'];
    const slugs = names.map(slugify);
    expect(new Set(slugs).size).toBe(names.length);
    for (const s of slugs) expect(s).toMatch(/^experiment-[0-9a-f]{8}$/);
    expect(slugify('Weight decay (Café)')).toBe('weight-decay-cafe');
    expect(slugify('decay 重み')).toMatch(/^decay-[0-9a-f]{8}$/);
  });
});
