// Charts of each swept metric: mean ± 95% CI per sweep value. ASCII (asciichart) for markdown and
// the terminal; SVG (Vega-Lite compiled to Vega, rendered headless in Node) for HTML.
import { createRequire } from 'node:module';
import type { Value } from '../language/ast.ts';
import type { ResultRow } from '../results/types.ts';
import { summarize } from '../exec/summary.ts';
import { formatNumber } from './format.ts';
import { maxOf, minOf } from '../util/arrays.ts';
import { formatValue } from '../util/format-value.ts';

const require = createRequire(import.meta.url);
// asciichart ships no types; this is the one function used.
const asciichart = require('asciichart') as { plot(series: number[] | number[][], cfg?: { height?: number; format?: (x: number) => string; padding?: string }): string };

export interface ChartPoint {
  /** Sweep value as displayed. */
  x: string;
  mean: number;
  /** mean ± 95% CI half-width; equal to mean when n < 2. */
  lo: number;
  hi: number;
  n: number;
}

export interface ChartData {
  metric: string;
  param: string;
  title: string;
  /** True when other sweep axes exist and were pooled into each point. */
  pooled: boolean;
  points: ChartPoint[];
  /**
   * With other sweep axes: the same chart split by their values, one line per combination
   * ("child_init = shared"), for the SVG (the ASCII chart keeps the pooled `points`). At most
   * MAX_SERIES lines; beyond that, absent, and the SVG shows the pooled points.
   */
  series?: { name: string; points: ChartPoint[] }[];
}

export const MAX_SERIES = 6;

export { formatValue };

/** One chart per (sweep axis with ≥ 2 values) × metric, points in sweep order. */
export function chartData(
  sweeps: readonly { name: string; values: readonly Value[] }[],
  metrics: readonly string[],
  rows: readonly ResultRow[],
): ChartData[] {
  const out: ChartData[] = [];
  for (const axis of sweeps) {
    if (axis.values.length < 2) continue;
    for (const metric of metrics) {
      const points: ChartPoint[] = [];
      for (const value of axis.values) {
        const at = rows.filter((r) => r.params[axis.name] === value).map((r) => r.metrics[metric]).filter((m): m is number => m !== undefined);
        const s = summarize(at);
        if (s.n === 0) continue;
        points.push({ x: formatValue(value), mean: s.mean, lo: s.mean - (s.half ?? 0), hi: s.mean + (s.half ?? 0), n: s.n });
      }
      if (points.length < 2) continue;
      const c: ChartData = { metric, param: axis.name, title: `${metric} vs ${axis.name}`, pooled: sweeps.length > 1, points };
      const others = sweeps.filter((s) => s !== axis);
      const combos = others.reduce<Record<string, Value>[]>((acc, s) => acc.flatMap((a) => s.values.map((v) => ({ ...a, [s.name]: v }))), [{}]);
      if (others.length && combos.length <= MAX_SERIES) {
        c.series = combos.map((combo) => {
          const name = Object.entries(combo).map(([k, v]) => `${k} = ${formatValue(v)}`).join(', ');
          const pts: ChartPoint[] = [];
          for (const value of axis.values) {
            const at = rows
              .filter((r) => r.params[axis.name] === value && Object.entries(combo).every(([k, v]) => r.params[k] === v))
              .map((r) => r.metrics[metric])
              .filter((m): m is number => m !== undefined);
            const s = summarize(at);
            if (s.n) pts.push({ x: formatValue(value), mean: s.mean, lo: s.mean - (s.half ?? 0), hi: s.mean + (s.half ?? 0), n: s.n });
          }
          return { name, points: pts };
        });
      }
      out.push(c);
    }
  }
  return out;
}

const SEGMENT = 8; // columns between two sweep values in the ASCII chart

/**
 * The mean per sweep value, linearly interpolated between values so five points are not five
 * columns wide; x labels placed under their columns. (CI bounds drawn as extra lines tangle with
 * the mean in a text chart; the interval is in the sweep table and the HTML chart.)
 */
export function asciiChart(c: ChartData, height = 10): string {
  const ys = c.points.map((p) => p.mean);
  const series: number[] = [];
  for (let i = 0; i < ys.length - 1; i++) for (let k = 0; k < SEGMENT; k++) series.push(ys[i]! + ((ys[i + 1]! - ys[i]!) * k) / SEGMENT);
  series.push(ys[ys.length - 1]!);
  const labelWidth = 10;
  const lo = minOf(ys);
  const hi = maxOf(ys);
  const head = `${c.title} (mean${c.pooled ? ', pooled over other sweeps' : ''})`;
  // A constant series would give asciichart a zero range (one row labelled with a rounded bound).
  if (hi - lo <= 1e-9 * Math.max(1, Math.abs(hi))) return `${head}\nconstant: ${formatNumber(lo)} at every ${c.param} (${c.points.map((p) => p.x).join(', ')})`;
  const plot = asciichart.plot(series, { height, format: (x: number) => formatNumber(x).padStart(labelWidth) });
  const offset = labelWidth + 2; // "     label ┤"
  let axis = '';
  for (let i = 0; i < c.points.length; i++) {
    const col = offset + i * SEGMENT;
    axis = (axis.length >= col ? axis + ' ' : axis.padEnd(col)) + c.points[i]!.x;
  }
  return `${head}\n${plot.replace(/\s+$/gm, '')}\n${axis}`;
}

/**
 * Vega-Lite: points and line for the mean, error bars for the 95% CI, x in sweep order; with
 * `series`, one coloured line per combination of the other sweep axes, dodged so bars do not hide
 * each other.
 */
export function vegaLiteSpec(c: ChartData): Record<string, unknown> {
  const split = c.series && c.series.length > 1;
  const values = split
    ? c.series!.flatMap((s) => s.points.map((p, i) => ({ ...p, order: i, series: s.name })))
    : c.points.map((p, i) => ({ ...p, order: i }));
  const color = split ? { color: { field: 'series', type: 'nominal', title: null, sort: c.series!.map((s) => s.name) }, xOffset: { field: 'series', type: 'nominal', sort: c.series!.map((s) => s.name) } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: c.title, subtitle: `mean ± 95% CI over seeds${c.pooled && !split ? '; pooled over other sweeps' : ''}`, anchor: 'start' },
    width: 360,
    height: 220,
    // A fixed band for the y labels: every chart has the same size whatever its numbers, so charts
    // side by side in a write-up line up.
    config: { axisY: { minExtent: 44, maxExtent: 44 }, axisX: { minExtent: 24, maxExtent: 24 }, legend: { orient: 'bottom', labelLimit: 300 } },
    data: { values },
    encoding: {
      x: { field: 'x', type: 'ordinal', sort: c.points.map((p) => p.x), title: c.param, axis: { labelAngle: 0 } },
      ...color,
    },
    layer: [
      {
        mark: { type: 'errorbar', ticks: { size: 10 } },
        encoding: { y: { field: 'lo', type: 'quantitative', title: c.metric, scale: { zero: false } }, y2: { field: 'hi' } },
      },
      // Dodged series are points with their bars (a line would not follow the offsets).
      ...(split ? [] : [{ mark: { type: 'line' }, encoding: { y: { field: 'mean', type: 'quantitative' } } }]),
      {
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          y: { field: 'mean', type: 'quantitative' },
          tooltip: [
            { field: 'x', title: c.param },
            ...(split ? [{ field: 'series', title: 'series' }] : []),
            { field: 'mean', format: '.4g' },
            { field: 'lo', format: '.4g' },
            { field: 'hi', format: '.4g' },
            { field: 'n' },
          ],
        },
      },
    ],
  };
}

export async function svgChart(c: ChartData): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const spec = vl.compile(vegaLiteSpec(c) as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The ASCII charts of one experiment's results (one per swept axis × metric), for `sublab run` to
 * print after the verdicts. Empty string when nothing is swept.
 */
export function terminalCharts(result: {
  experiment: { sweeps: readonly { name: string; values: readonly Value[] }[]; measures: readonly string[] };
  table: { rows: readonly ResultRow[] };
}): string {
  return chartData(result.experiment.sweeps, result.experiment.measures, result.table.rows)
    .map((c) => asciiChart(c))
    .join('\n\n');
}
