// The package build (`npm run build`; `prepare` runs it whenever npm packs this folder: `npm pack`,
// `npm publish`, and `npm install <git url>`, which packs the clone). tsc emits JavaScript and
// .d.ts into dist/ (tsconfig.build.json); the files sublab reads or starts at run time that are
// not TypeScript are copied beside them. A checkout needs no build: bin/sublab.mjs and the
// plain-JS entries run src/ through tsx when it is there.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// npm runs `prepare` also after `npm install`/`npm ci` in a checkout, which runs src/ through tsx
// and needs no build. Only where npm packs the folder does pacote set npm_package_resolved (npm 10
// and 11 alike; `prepack` would not do: git dependencies get only `prepare`).
if (process.argv.includes('--if-packing') && !process.env.npm_package_resolved) process.exit(0);

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
/** Runtime assets: plain-JS entries (src/exec/pool-child.mjs, workers), report templates, the CST types. */
const assets = ['.mjs', '.hbs', '.d.ts'];
/** Folders copied whole: `sublab init`'s scaffold (read from beside src/cli/init's JavaScript). */
const assetDirs = ['src/init/template'];

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: ['ignore', 2, 2], cwd: root });
} catch {
  process.stderr.write('sublab build: tsc failed (see above)\n');
  process.exit(1);
}
// Everything goes to stderr: `npm pack --json` prints its answer on stdout.
let copied = 0;
for (const top of ['src', 'grammar']) {
  for (const e of readdirSync(path.join(root, top), { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !assets.some((x) => e.name.endsWith(x))) continue;
    const rel = path.relative(root, path.join(e.parentPath ?? e.path, e.name));
    cpSync(path.join(root, rel), path.join(dist, rel));
    copied++;
  }
}
for (const d of assetDirs) {
  cpSync(path.join(root, d), path.join(dist, d), { recursive: true });
  copied += readdirSync(path.join(root, d), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}
process.stderr.write(`sublab build: dist/ written (${copied} runtime files copied beside the JavaScript)\n`);
