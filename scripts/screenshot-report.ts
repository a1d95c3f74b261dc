// Render an HTML report in Debian's headless Chromium and save a PNG, to check by eye (and in
// tests/report/screenshot.test.ts) that the report, its tables and its SVG charts really display.
//
//   npx tsx scripts/screenshot-report.ts reports/weight-decay.html [out.png] [--size 1200,1600]
//
// Needs `chromium` (apt-get install chromium). Exits 3 when it is not installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const p = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (p) return p;
    } catch {
      // not installed under this name
    }
  }
  return null;
}

export function screenshot(html: string, png: string, size: [number, number] = [1200, 1600]): void {
  const chromium = findChromium();
  if (!chromium) throw new Error('chromium not found (Debian: apt-get install chromium)');
  if (!existsSync(html)) throw new Error(`${html}: no such file`);
  const profile = mkdtempSync(path.join(tmpdir(), 'sublab-chromium-'));
  try {
    const r = spawnSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        `--screenshot=${path.resolve(png)}`,
        `--window-size=${size[0]},${size[1]}`,
        pathToFileURL(path.resolve(html)).href,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.error) throw r.error;
    if (!existsSync(png) || statSync(png).size === 0) throw new Error(`chromium wrote no screenshot (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Width and height from the PNG's IHDR chunk. */
export function pngSize(buf: Buffer): { width: number; height: number } {
  if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG') throw new Error('not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

async function main(argv: string[]): Promise<number> {
  const sizeAt = argv.indexOf('--size');
  let size: [number, number] = [1200, 1600];
  if (sizeAt >= 0) {
    const [w, h] = (argv[sizeAt + 1] ?? '').split(',').map(Number);
    if (!w || !h) {
      process.stderr.write('--size needs WIDTH,HEIGHT\n');
      return 2;
    }
    size = [w, h];
    argv.splice(sizeAt, 2);
  }
  const [html, png = html?.replace(/\.html?$/, '') + '.png'] = argv;
  if (!html) {
    process.stderr.write('usage: tsx scripts/screenshot-report.ts REPORT.html [OUT.png] [--size W,H]\n');
    return 2;
  }
  if (!findChromium()) {
    process.stderr.write('chromium not found (Debian: apt-get install chromium)\n');
    return 3;
  }
  try {
    screenshot(html, png, size);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`wrote ${png}\n`);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
