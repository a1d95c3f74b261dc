// The results ledger: `.sublab/results-seen.jsonl` in the project of an .exp file, one line per
// experiment setup the first time sublab saw results of it (and again only for an earlier time).
// It lives outside the result cache, so neither `--fresh` nor another cache folder erases the fact
// that results existed. Best effort: a missing or unreadable ledger only means less evidence.
import fs from 'node:fs';
import path from 'node:path';
import type { CheckedExperiment } from '../language/checked.ts';
import { projectRoot } from '../exec/cache.ts';
import { setupHash } from './normalise.ts';

/** Ledgers larger than this are read only up to it (lines are ~200 bytes; this is ~80,000 setups). */
const MAX_LEDGER_BYTES = 16 * 1024 * 1024;

interface SeenLine {
  file: string;
  experiment: string;
  setupHash: string;
  at: string;
}

export function ledgerPath(expFile: string): string {
  return path.join(projectRoot(path.dirname(path.resolve(expFile))), '.sublab', 'results-seen.jsonl');
}

function readLines(file: string): SeenLine[] {
  let text: string;
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile()) return [];
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(st.size, MAX_LEDGER_BYTES));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
  const out: SeenLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as SeenLine;
      if (o && typeof o.setupHash === 'string' && typeof o.at === 'string' && typeof o.file === 'string') out.push(o);
    } catch {
      /* a torn or foreign line */
    }
  }
  return out;
}

/** Earliest time results of this experiment (as set up now) were seen, or null. */
export function firstSeen(exp: CheckedExperiment): Date | null {
  const file = path.resolve(exp.file);
  const hash = setupHash(exp);
  let first: number | null = null;
  for (const l of readLines(ledgerPath(exp.file))) {
    if (l.file !== file || l.experiment !== exp.name || l.setupHash !== hash) continue;
    const t = Date.parse(l.at);
    if (!Number.isNaN(t) && (first === null || t < first)) first = t;
  }
  return first === null ? null : new Date(first);
}

/** Note that results of `exp` existed at `at` (written only when earlier than what is on record). */
export function recordSeen(exp: CheckedExperiment, at: Date): void {
  try {
    const known = firstSeen(exp);
    if (known && known.getTime() <= at.getTime()) return;
    const file = ledgerPath(exp.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const line: SeenLine = { file: path.resolve(exp.file), experiment: exp.name, setupHash: setupHash(exp), at: at.toISOString() };
    // One short line per append: O_APPEND keeps concurrent writers' lines whole.
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  } catch {
    /* read-only project: the cache and the lock still carry the evidence */
  }
}
