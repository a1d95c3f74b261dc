import { describe, expect, it } from 'vitest';
import { asciiChart, chartData, svgChart, terminalCharts, vegaLiteSpec } from '../../src/report/charts.ts';
import { fixtureInput, fixtureModel } from './fixture.ts';
import { renderReport } from '../../src/report/render.ts';

describe('charts', () => {
  it('one chart per swept metric with mean and 95% CI per sweep value', () => {
    const { input } = fixtureInput();
    const charts = chartData(input.experiment.sweeps, input.experiment.measures, input.table.rows);
    expect(charts.map((c) => c.metric)).toEqual(input.experiment.measures);
    const tr = charts.find((c) => c.metric === 'transfer_ratio')!;
    expect(tr.points.map((p) => p.x)).toEqual(['0', '0.5', '0.9']);
    // transfer_ratio = 0.3 + 0.5 s + wobble, wobble mean 0, sd √(7.5e-4 / 3) = 0.0158114 → half = 3.182446 · 0.0158114 / 2
    expect(tr.points[1]!.mean).toBeCloseTo(0.55, 12);
    expect(tr.points[1]!.hi - tr.points[1]!.mean).toBeCloseTo(0.0251594, 6);
    expect(tr.points.every((p) => p.n === 4)).toBe(true);
  });

  it('ASCII: labels under their columns, rising line for a rising metric', () => {
    const { input } = fixtureInput();
    const text = terminalCharts(input);
    expect(text).toContain('transfer_ratio vs sparsity (mean)');
    const c = chartData(input.experiment.sweeps, ['transfer_ratio'], input.table.rows)[0]!;
    const lines = asciiChart(c).split('\n');
    expect(lines[1]).toMatch(/^ +0\.75 ┤ +╭$/); // top row: the maximum, at the right end
    expect(lines[lines.length - 2]).toMatch(/^ +0\.3 ┼─╯/); // bottom row: the minimum, at the left
    expect(lines[lines.length - 1]).toBe(' '.repeat(12) + '0       0.5     0.9');
  });

  it('SVG from Vega-Lite has an error bar, a line and a point per sweep value', async () => {
    const { input } = fixtureInput();
    const c = chartData(input.experiment.sweeps, ['transfer_ratio'], input.table.rows)[0]!;
    const svg = await svgChart(c);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/aria-roledescription="errorbar"/g)?.length).toBeGreaterThanOrEqual(3);
    expect(svg).toContain('mark-line role-mark');
    expect(svg.match(/role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(3);
    expect(svg).toContain('transfer_ratio vs sparsity');
  });

  it('with a second sweep axis: one dodged series per value of the other axis in the SVG, pooled in ASCII', async () => {
    const { input } = fixtureInput();
    const rows = input.table.rows.flatMap((r) => ['a', 'b'].map((g) => ({ ...r, params: { ...r.params, arm: g }, metrics: { ...r.metrics, transfer_ratio: r.metrics.transfer_ratio! + (g === 'b' ? 1 : 0) } })));
    const sweeps = [...input.experiment.sweeps, { name: 'arm', values: ['a', 'b'] }];
    const c = chartData(sweeps, ['transfer_ratio'], rows).find((x) => x.param === 'sparsity')!;
    expect(c.pooled).toBe(true);
    expect(c.series!.map((s) => s.name)).toEqual(['arm = a', 'arm = b']);
    expect(c.series![1]!.points[0]!.mean - c.series![0]!.points[0]!.mean).toBeCloseTo(1, 12);
    const spec = vegaLiteSpec(c) as { encoding: Record<string, unknown> };
    expect(spec.encoding).toHaveProperty('color');
    expect(spec.encoding).toHaveProperty('xOffset');
    const svg = await svgChart(c);
    expect(svg.match(/role="graphics-symbol" aria-roledescription="point"/g)).toHaveLength(6);
    expect(svg).toContain('arm = b');
    expect(asciiChart(c)).toContain('pooled over other sweeps');
  });

  it('HTML embeds the SVG charts unescaped', async () => {
    const html = [...renderReport(await fixtureModel({ svg: true }), 'html').values()][0]!;
    expect(html.match(/<figure><svg /g)).toHaveLength(3);
    expect(html).not.toContain('&lt;svg');
  });
});
