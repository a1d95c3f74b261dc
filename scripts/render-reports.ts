// Regenerate reports/ for the bundled experiments: every .exp under experiments/ (or the files
// given), run from the cache where results exist, rendered in markdown, HTML and LaTeX into
// reports/<same folder as under experiments/>/<experiment-slug>.<ext>, and the write-up of each
// folder rendered (from the cache only) as reports/<folder>/writeup.<ext>.
//
//   npx tsx scripts/render-reports.ts                 # all bundled experiments and write-ups
//   npx tsx scripts/render-reports.ts experiments/topic-a/weight-decay.exp --format md
//   npx tsx scripts/render-reports.ts --writeups-only  # only the write-ups (seconds)
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReports } from '../src/cli/report.ts';
import { writeWriteup } from '../src/cli/writeup.ts';
import { gitInfo } from '../src/prereg/lock.ts';
import { formats, type Format } from '../src/report/render.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function expFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...expFiles(p));
    else if (name.endsWith('.exp')) out.push(p);
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  let fmts: Format[] = [...formats];
  const files: string[] = [];
  let reports = true;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--writeups-only') reports = false;
    else if (argv[i] === '--format') {
      fmts = (argv[++i] ?? '').split(',').filter((f): f is Format => (formats as readonly string[]).includes(f));
      if (fmts.length === 0) {
        process.stderr.write('--format needs md, html and/or tex\n');
        return 2;
      }
    } else files.push(path.resolve(argv[i]!));
  }
  const experiments = path.join(root, 'experiments');
  const todo = files.length ? files : expFiles(experiments);
  if (todo.length === 0) {
    process.stderr.write('no .exp files under experiments/\n');
    return 1;
  }
  process.chdir(root); // report paths and git provenance relative to the project
  const git = gitInfo(root); // once, before the first report dirties the tree
  let failed = 0;
  for (const file of reports ? todo : []) {
    const rel = path.relative(experiments, path.dirname(file));
    const out = path.join(root, 'reports', rel.startsWith('..') ? '' : rel);
    process.stderr.write(`${path.relative(root, file)} …\n`);
    try {
      const written = await writeReports({ files: [file], formats: fmts, out, git }, (s) => process.stderr.write(`  ${s}\n`));
      for (const w of written) process.stdout.write(`wrote ${path.relative(root, w)}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`  failed: ${(e as Error).message}\n`);
    }
  }
  if (reports) process.stderr.write(`${todo.length - failed} of ${todo.length} files reported\n`);
  // One write-up per folder that holds any of the files.
  const folders = [...new Set(todo.map((f) => path.dirname(f)))].sort();
  for (const dir of folders) {
    const rel = path.relative(experiments, dir);
    const out = path.join(root, 'reports', rel.startsWith('..') ? path.basename(dir) : rel);
    process.stderr.write(`${path.relative(root, dir)}/ write-up …\n`);
    try {
      const written = await writeWriteup({ inputs: [dir], formats: fmts, out, git }, (s) => process.stderr.write(`  ${s}\n`));
      for (const w of written) process.stdout.write(`wrote ${path.relative(root, w)}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`  write-up failed: ${(e as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
