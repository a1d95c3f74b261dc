// The registration lock: `sublab.lock` beside the .exp files of a folder, JSON Lines, one entry per
// prediction per registration. Only ever appended. Each entry carries the hash of the entry before
// it and a hash of its own content, so a hand edit anywhere breaks the chain and is reported.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { atomicWriteFileSync } from '../util/atomic-write.ts';
import { lockGit } from './git.ts';
import path from 'node:path';
import { sha256 } from './normalise.ts';
import { canonicalJson } from '../util/canonical-json.ts';

export const LOCK_NAME = 'sublab.lock';
/** `prev` of the first entry. */
export const GENESIS = '0'.repeat(64);

export interface GitInfo {
  /** null when the folder is not in a git repository (or git is missing). */
  commit: string | null;
  /** Uncommitted changes in the work tree; null when unknown. */
  dirty: boolean | null;
}

export interface LockEntry {
  v: 1;
  kind: 'register' | 'amend';
  /** The .exp file, relative to the lock's folder, `/`-separated. */
  file: string;
  experiment: string;
  /** Normalised prediction text (see normalisePrediction). */
  prediction: string;
  /** The `because` text as registered (not part of the hash). */
  because?: string;
  /** sha256 of `prediction`. */
  hash: string;
  /** sha256 of the experiment's canonical setup. */
  setupHash: string;
  /** ISO time of registration. */
  time: string;
  git: GitInfo;
  /**
   * Earliest result of the experiment sublab knew of when this entry was written (ISO), or null:
   * none. Absent in entries written before sublab recorded it.
   */
  resultsSince?: string | null;
  /** amend only: the entryHash of the entry this one replaces, and why. */
  supersedes?: string;
  reason?: string;
  /** entryHash of the previous line (GENESIS for the first). */
  prev: string;
  /** sha256 of the canonical JSON of every other field. */
  entryHash: string;
}

export type LockEntryInput = Omit<LockEntry, 'v' | 'prev' | 'entryHash'>;

export interface LockProblem {
  line: number;
  message: string;
}

export interface LockState {
  path: string;
  entries: LockEntry[];
  /** Empty when the chain verifies. */
  problems: LockProblem[];
  tampered: boolean;
}

export function lockPathFor(expFile: string): string {
  return path.join(path.dirname(path.resolve(expFile)), LOCK_NAME);
}

/** `file` as the lock stores it. */
export function lockRelative(lockPath: string, expFile: string): string {
  return path.relative(path.dirname(lockPath), path.resolve(expFile)).split(path.sep).join('/');
}

export function entryHashOf(e: Omit<LockEntry, 'entryHash'>): string {
  return sha256(canonicalJson(e));
}

export function parseLock(text: string, lockPath = LOCK_NAME): LockState {
  const entries: LockEntry[] = [];
  const problems: LockProblem[] = [];
  let prev = GENESIS;
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') {
      // Only the final newline may leave an empty line; blank lines inside are edits.
      if (i !== lines.length - 1) problems.push({ line, message: 'blank line inside the lock' });
      return;
    }
    let e: LockEntry;
    try {
      e = JSON.parse(raw) as LockEntry;
    } catch {
      problems.push({ line, message: 'not valid JSON' });
      return;
    }
    if (typeof e !== 'object' || e === null || typeof e.entryHash !== 'string' || typeof e.prediction !== 'string') {
      problems.push({ line, message: 'not a lock entry' });
      return;
    }
    const { entryHash, ...rest } = e;
    if (e.prev !== prev) problems.push({ line, message: 'chain broken: prev does not match the entry before it (entry removed, reordered or inserted)' });
    if (entryHashOf(rest) !== entryHash) problems.push({ line, message: 'entry edited: its content no longer matches its entryHash' });
    if (sha256(e.prediction) !== e.hash) problems.push({ line, message: 'prediction text does not match its hash' });
    if (e.kind === 'amend' && !entries.some((o) => o.entryHash === e.supersedes)) {
      problems.push({ line, message: 'amend entry supersedes an entry that is not earlier in the lock' });
    }
    prev = entryHash;
    entries.push(e);
  });
  return { path: lockPath, entries, problems, tampered: problems.length > 0 };
}

/** Largest lock read (about 100,000 entries); a bigger one is refused, not loaded. */
export const MAX_LOCK_BYTES = 64 * 1024 * 1024;

/**
 * Read and verify a lock. Where git is there and the lock is committed, the entries committed at
 * HEAD must still be its first entries: the chain alone cannot notice its last line deleted.
 */
export function readLock(lockPath: string, opts: { git?: boolean } = {}): LockState {
  let st;
  try {
    st = lstatSync(lockPath);
  } catch {
    return { path: lockPath, entries: [], problems: [], tampered: false };
  }
  const refuse = (message: string): LockState => ({ path: lockPath, entries: [], problems: [{ line: 0, message }], tampered: true });
  if (!st.isFile()) return refuse(`${st.isDirectory() ? 'a directory' : 'not a regular file'}, not a lock file`);
  if (st.size > MAX_LOCK_BYTES) return refuse(`${st.size} bytes, more than the ${MAX_LOCK_BYTES} a lock may have`);
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (e) {
    return refuse(`cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const state = parseLock(text, lockPath);
  if (opts.git !== false && !state.tampered) {
    const head = lockGit(lockPath)?.headText();
    if (head) {
      const committed = parseLock(head, lockPath).entries;
      const i = committed.findIndex((c, k) => state.entries[k]?.entryHash !== c.entryHash);
      if (i >= 0) {
        state.problems.push({ line: i + 1, message: `differs from the lock committed at HEAD: its entry ${i + 1} (${committed[i]!.entryHash.slice(0, 12)}) is missing or changed (lines deleted since the last commit?)` });
        state.tampered = true;
      }
    }
  }
  return state;
}

/** The entries `inputs` would become when appended to `state` (pure: writes nothing). */
export function chainEntries(state: LockState, inputs: readonly LockEntryInput[]): LockEntry[] {
  let prev = state.entries.length ? state.entries[state.entries.length - 1]!.entryHash : GENESIS;
  return inputs.map((input) => {
    const body = { v: 1 as const, ...input, prev };
    const entry: LockEntry = { ...body, entryHash: entryHashOf(body) };
    prev = entry.entryHash;
    return entry;
  });
}

/** One JSON object per line, fields in a fixed order (diff-friendly). */
export function serialiseEntries(entries: readonly LockEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + '\n').join('');
}

/** Chain new entries onto `state` and append them to its file. Refuses to extend a tampered lock. */
export function appendEntries(state: LockState, inputs: readonly LockEntryInput[]): LockEntry[] {
  if (state.tampered) throw new Error(`${state.path}: lock fails verification; restore it (e.g. from git) before registering`);
  const made = chainEntries(state, inputs);
  if (made.length) {
    // A lock whose last line lacks its newline (hand-saved) would glue two entries together.
    const cur = existsSync(state.path) ? readFileSync(state.path, 'utf8') : '';
    const lead = cur.length && !cur.endsWith('\n') ? '\n' : '';
    // The whole lock rewritten atomically (callers hold its file lock): a full disk leaves the
    // previous lock intact instead of a torn last line.
    atomicWriteFileSync(state.path, cur + lead + serialiseEntries(made));
    state.entries.push(...made);
  }
  return made;
}

export function gitInfo(dir: string): GitInfo {
  const git = (args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git(['rev-parse', 'HEAD']).trim();
    let dirty: boolean | null = null;
    try {
      dirty = git(['status', '--porcelain']).trim() !== '';
    } catch {
      dirty = null;
    }
    return { commit, dirty };
  } catch {
    // Not a repository, no commit yet, or no git.
    return { commit: null, dirty: null };
  }
}
