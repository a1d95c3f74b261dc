// The HTML report in a real browser: headless Chromium renders it (skipped where chromium is not
// installed) and the screenshot must be far from blank.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium, pngSize, screenshot } from '../../scripts/screenshot-report.ts';
import { renderReport } from '../../src/report/render.ts';
import { fixtureModel } from './fixture.ts';

const chromium = findChromium();

describe.skipIf(!chromium)('HTML report in headless Chromium', () => {
  it('renders tables and SVG charts (screenshot much richer than a blank page)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sublab-shot-'));
    const html = path.join(dir, 'report.html');
    writeFileSync(html, [...renderReport(await fixtureModel({ svg: true }), 'html').values()][0]!);
    const blank = path.join(dir, 'blank.html');
    writeFileSync(blank, '<!DOCTYPE html><html><body></body></html>');
    screenshot(html, path.join(dir, 'report.png'));
    screenshot(blank, path.join(dir, 'blank.png'));
    const png = readFileSync(path.join(dir, 'report.png'));
    const empty = readFileSync(path.join(dir, 'blank.png'));
    expect(pngSize(png)).toEqual({ width: 1200, height: 1600 });
    expect(png.length).toBeGreaterThan(50_000);
    expect(png.length).toBeGreaterThan(10 * empty.length);
  }, 120_000);
});
