// Times the seven-factor study of bench/study-155/ (seven one-factor sweeps of 4–5 points at 5
// seeds on mlp_distill's defaults, predictions on the accuracies: 155 runs) the way a user runs it:
// one `sublab run` of every factor file, from an empty temporary cache, and prints the wall time.
//   npx tsx bench/study-155.ts [-- extra sublab run arguments, e.g. --jobs 2 or --set models=5]
// The cache is removed afterwards unless SUBLAB_BENCH_KEEP=1 (then its folder is printed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;
const dir = path.join(here, 'study-155');
const files = readdirSync(dir).filter((f) => f.endsWith('.exp') && f !== 'defaults.exp').sort().map((f) => path.join(dir, f));
const extra = process.argv.slice(2).filter((a) => a !== '--');
const cache = mkdtempSync(path.join(os.tmpdir(), 'sublab-study-155-'));
const bin = path.join(here, '..', 'bin', 'sublab.mjs');
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const loadBefore = load();
const t0 = performance.now();
// Exit 1 only says some prediction is not confirmed: the time is what this measures.
const r = spawnSync(process.execPath, [bin, 'run', ...files, '--cache', cache, '--allow-uncommitted-lock', ...extra], { stdio: ['ignore', 'inherit', 'inherit'] });
const wall = (performance.now() - t0) / 1000;
const entries = readdirSync(cache).filter((f) => /^[0-9a-f]{16}\.json$/.test(f)).length;
console.log(JSON.stringify({
  study: 'bench/study-155', files: files.length, wall_s: +wall.toFixed(1), wall: `${Math.floor(wall / 60)}m${(wall % 60).toFixed(0).padStart(2, '0')}s`,
  exit: r.status, cache_entries: entries, machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`, load_before: loadBefore, load_after: load(),
  ...(process.env.SUBLAB_BENCH_KEEP === '1' ? { cache } : {}),
}, null, 2));
if (process.env.SUBLAB_BENCH_KEEP !== '1') rmSync(cache, { recursive: true, force: true });
