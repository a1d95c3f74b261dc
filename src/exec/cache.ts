// Content-addressed result cache: one JSON file per run id (the id already hashes runner, runner
// version, result-relevant parameters and seed). Entries are written atomically and checksummed;
// claim files keep several processes (or machines on a shared filesystem) from computing the same
// run at the same time, and expire so a crashed worker's claim is taken over.
import { ensureDir } from '../util/ensure-dir.ts';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Value } from '../language/ast.ts';
import type { RunOutput } from '../runners/schema.ts';
import { asStoredJson, canonicalJson } from '../util/canonical-json.ts';
import { atomicWriteFileSync } from '../util/atomic-write.ts';

export interface CacheEntry {
  id: string;
  runner: string;
  params: Record<string, Value>;
  seed: number;
  output: RunOutput;
  /** Compute time attributed to this run (group time / group size). */
  wallMs: number;
  /** ISO time this result was computed. */
  finishedAt: string;
  /** git commit (and dirty flag) of the .exp file's repository when computed; absent: unknown. */
  git?: EntryGit;
  /**
   * The first computation of this run in this cache, kept when `--fresh` recomputes it: results
   * existed since then, whatever a later recomputation says (preregistration status reads it).
   */
  first?: { finishedAt: string; git?: EntryGit };
  /** The stage artifacts the run used, stage name → key (src/exec/stages.ts); absent: none. */
  stages?: Record<string, string>;
  /**
   * The runner's parts (arms, evaluations, curves) whose metrics the entry holds, for a runner
   * that declares parts (src/plan/needs.ts); absent: everything the runner computes.
   */
  parts?: string[];
  /** sha256 (hex) of the canonical JSON of every other field. */
  checksum: string;
}

export type CacheEntryInput = Omit<CacheEntry, 'checksum'>;

export interface EntryGit {
  commit: string | null;
  dirty: boolean | null;
}

/** Largest cache entry read (an entry is one run's rows; anything bigger is not one of ours). */
export const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

export interface ClaimInfo {
  pid: number;
  host: string;
  /** ms since epoch of the claim or its last refresh. */
  time: number;
  token: string;
}

export interface CacheOptions {
  /** Receives one line per problem found (corrupt entry, stale claim taken over). */
  warn?: (msg: string) => void;
  /** A claim not refreshed for this long is stale (default 10 min). */
  claimTtlMs?: number;
}

export type ReadResult =
  | { status: 'hit'; entry: CacheEntry }
  | { status: 'miss' }
  | { status: 'corrupt'; file: string; reason: string };

export function entryChecksum(e: CacheEntryInput): string {
  // git, first, stages and parts are left out when absent, so entries written before they existed still verify.
  const { id, runner, params, seed, output, wallMs, finishedAt, git, first, stages, parts } = e;
  // Hashed as the file stores it (a NaN metric as null), so a written entry re-hashes the same.
  return createHash('sha256').update(canonicalJson(asStoredJson({ id, runner, params, seed, output, wallMs, finishedAt, git, first, stages, parts }))).digest('hex');
}

/** Whether an entry holds every part `needed` names (an entry without `parts` holds everything). */
export function holdsParts(e: Pick<CacheEntry, 'parts'>, needed: readonly string[] | undefined): boolean {
  return !needed || !e.parts || needed.every((p) => e.parts!.includes(p));
}

/**
 * A run's output computed for `parts` merged into its entry holding `prev.parts`: each row's
 * metrics (and their non-finite marks) and each object in `extras` (the curves) are the union,
 * the new values winning (they are the same numbers: parts are computed independently). Rows
 * that do not pair up (another row count) are not merged: the new output stands alone.
 */
export function mergeParts(prev: Pick<CacheEntry, 'output' | 'parts'>, out: RunOutput, parts: readonly string[]): { output: RunOutput; parts: string[] } {
  if (prev.parts === undefined || prev.output.rows.length !== out.rows.length) return { output: out, parts: [...parts] };
  const rows = out.rows.map((r, i) => {
    const old = prev.output.rows[i]!;
    const nonFinite = { ...old.nonFinite, ...r.nonFinite };
    for (const k of Object.keys(r.metrics)) if (!r.nonFinite?.[k]) delete nonFinite[k];
    return { ...old, ...r, metrics: { ...old.metrics, ...r.metrics }, ...(Object.keys(nonFinite).length ? { nonFinite } : {}) };
  });
  const extras: Record<string, unknown> = { ...prev.output.extras };
  for (const [k, v] of Object.entries(out.extras ?? {})) {
    const was = extras[k];
    const plain = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
    extras[k] = plain(v) && plain(was) ? { ...(was as object), ...(v as object) } : v;
  }
  const held = [...new Set([...prev.parts, ...parts])].sort();
  return { output: { ...out, rows, ...(Object.keys(extras).length ? { extras } : {}) }, parts: held };
}

/** The nearest directory at or above `from` holding a package.json, else `from` itself. */
export function projectRoot(from: string): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from);
    dir = up;
  }
}

/** `explicit` (--cache), else $SUBLAB_CACHE, else `.sublab/cache` in the project of `expFile` (or cwd). */
export function resolveCacheDir(explicit?: string, expFile?: string): string {
  if (explicit) return path.resolve(explicit);
  if (process.env.SUBLAB_CACHE) return path.resolve(process.env.SUBLAB_CACHE);
  const from = expFile ? path.dirname(path.resolve(expFile)) : process.cwd();
  return path.join(projectRoot(from), '.sublab', 'cache');
}

export function fileKind(st: fs.Stats): string {
  if (st.isFile()) return 'a file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const ID_RE = /^[A-Za-z0-9_.-]+$/;

export class ResultCache {
  readonly dir: string;
  readonly claimTtlMs: number;
  private readonly warn: (msg: string) => void;
  /** Claims this process holds, by run id → token; released on exit. */
  private readonly held = new Map<string, string>();
  private static all = new Set<ResultCache>();
  private static exitHooked = false;

  constructor(dir: string, opts: CacheOptions = {}) {
    this.dir = path.resolve(dir);
    this.claimTtlMs = opts.claimTtlMs ?? 10 * 60_000;
    this.warn = opts.warn ?? ((m) => process.stderr.write(`sublab: warning: ${m}\n`));
    const st = fs.statSync(this.dir, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new Error(`result cache ${this.dir} is not a directory (--cache or $SUBLAB_CACHE names ${fileKind(st)})`);
    ensureDir(this.dir, 'result cache');
    ResultCache.all.add(this);
    if (!ResultCache.exitHooked) {
      ResultCache.exitHooked = true;
      // A normal exit (or Ctrl-C handled by the CLI) frees claims at once; kill -9 leaves them to
      // the dead-pid / expiry check.
      process.on('exit', () => {
        for (const c of ResultCache.all) c.releaseAll();
      });
    }
  }

  private check(id: string): void {
    if (!ID_RE.test(id)) throw new Error(`invalid run id "${id}"`);
  }

  entryPath(id: string): string {
    this.check(id);
    return path.join(this.dir, `${id}.json`);
  }

  claimPath(id: string): string {
    this.check(id);
    return path.join(this.dir, `${id}.claim`);
  }

  /** Read and verify one entry; never returns a result whose checksum does not match. */
  inspect(id: string): ReadResult {
    const file = this.entryPath(id);
    let text: string;
    try {
      // Never open a FIFO, device or directory that happens to carry an entry's name (it could hang).
      const st = fs.lstatSync(file);
      if (!st.isFile()) return { status: 'corrupt', file, reason: `not a regular file (${fileKind(st)})` };
      if (st.size > MAX_ENTRY_BYTES) return { status: 'corrupt', file, reason: `${st.size} bytes, more than any entry (${MAX_ENTRY_BYTES})` };
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'miss' };
      return { status: 'corrupt', file, reason: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
    let entry: CacheEntry;
    try {
      entry = JSON.parse(text) as CacheEntry;
    } catch {
      return { status: 'corrupt', file, reason: text.length === 0 ? 'empty file' : 'not valid JSON (truncated?)' };
    }
    if (!entry || typeof entry !== 'object' || typeof entry.checksum !== 'string' || !entry.output || !Array.isArray(entry.output.rows)) {
      return { status: 'corrupt', file, reason: 'missing fields' };
    }
    if (entry.id !== id) return { status: 'corrupt', file, reason: `entry is for run ${String(entry.id)}` };
    let sum: string;
    try {
      sum = entryChecksum(entry);
    } catch (e) {
      return { status: 'corrupt', file, reason: (e as Error).message }; // e.g. a lone surrogate: no entry of ours
    }
    if (sum !== entry.checksum) return { status: 'corrupt', file, reason: 'checksum mismatch' };
    return { status: 'hit', entry };
  }

  /** A verified entry, or undefined (a corrupt one is reported, moved aside and treated as missing). */
  read(id: string): CacheEntry | undefined {
    const r = this.inspect(id);
    if (r.status === 'hit') return r.entry;
    if (r.status === 'corrupt') {
      this.warn(`corrupt cache entry ${r.file} (${r.reason}); it will be recomputed`);
      try {
        if (!fs.lstatSync(r.file).isFile()) return undefined; // not ours to move; recomputed entries cannot replace it either
        fs.renameSync(r.file, `${r.file}.corrupt-${process.pid}-${Date.now()}`);
      } catch {
        // Someone else moved or replaced it already.
      }
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.inspect(id).status === 'hit';
  }

  /**
   * Write atomically (util/atomic-write): complete or not at all. On a full disk this throws
   * DiskFullError naming the disk; whatever entry was there stays.
   */
  write(input: CacheEntryInput): CacheEntry {
    const entry: CacheEntry = { ...input, checksum: entryChecksum(input) };
    const file = this.entryPath(entry.id);
    // A FIFO under the entry's name is replaced, never opened (it could hang); a directory stays.
    atomicWriteFileSync(file, JSON.stringify(entry), { special: 'replace' });
    return entry;
  }

  readClaim(id: string): ClaimInfo | undefined {
    try {
      const st = fs.lstatSync(this.claimPath(id));
      if (!st.isFile() || st.size > 64 * 1024) return undefined;
      const c = JSON.parse(fs.readFileSync(this.claimPath(id), 'utf8')) as ClaimInfo;
      if (c && typeof c.pid === 'number' && typeof c.time === 'number') return c;
      return undefined;
    } catch {
      return undefined;
    }
  }

  /** Why a claim is no longer valid, or undefined when its holder is alive. */
  claimStaleReason(c: ClaimInfo | undefined, claimFile: string): string | undefined {
    if (!c) {
      // Unreadable: maybe being written this instant; stale only when the file itself is old.
      try {
        const age = Date.now() - fs.statSync(claimFile).mtimeMs;
        return age > 5_000 ? 'unreadable claim file' : undefined;
      } catch {
        return undefined;
      }
    }
    if (Date.now() - c.time > this.claimTtlMs) return `not refreshed for ${Math.round((Date.now() - c.time) / 1000)} s`;
    if (c.host === os.hostname() && c.pid !== process.pid && !pidAlive(c.pid)) return `process ${c.pid} is gone`;
    return undefined;
  }

  /**
   * Try to claim a run for computation. true: this process now holds it (and must write the entry or
   * release). false: a live worker holds it. A stale claim is taken over.
   */
  claim(id: string): boolean {
    if (this.held.has(id)) return true;
    const file = this.claimPath(id);
    for (let attempt = 0; attempt < 5; attempt++) {
      const token = `${os.hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
      const info: ClaimInfo = { pid: process.pid, host: os.hostname(), time: Date.now(), token };
      try {
        // Created whole or not at all (link(2) is exclusive): a claim is never seen half written.
        if (atomicWriteFileSync(file, JSON.stringify(info), { exclusive: true })) {
          this.held.set(id, token);
          return true;
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = this.readClaim(id);
      const stale = this.claimStaleReason(current, file);
      if (!stale) return false;
      // Move the stale claim aside under a unique name, then check we moved the one we judged
      // (not a fresh claim made in between); O_EXCL on the next turn decides who wins.
      const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      let moved: ClaimInfo | undefined;
      try {
        moved = JSON.parse(fs.readFileSync(aside, 'utf8')) as ClaimInfo;
      } catch {
        moved = undefined;
      }
      if (current && moved && moved.token !== current.token) {
        // We displaced a live claim: put it back if the slot is still free.
        try {
          fs.linkSync(aside, file);
        } catch {
          /* someone claimed meanwhile; O_EXCL settles it */
        }
        fs.rmSync(aside, { force: true });
        return false;
      }
      fs.rmSync(aside, { force: true });
      this.warn(`took over stale claim on run ${id} (${stale})`);
    }
    return false;
  }

  /** Keep this process's claims alive during a long computation. */
  refreshClaims(ids: Iterable<string> = this.held.keys()): void {
    for (const id of ids) {
      const token = this.held.get(id);
      if (!token) continue;
      const c = this.readClaim(id);
      if (!c || c.token !== token) continue;
      try {
        atomicWriteFileSync(this.claimPath(id), JSON.stringify({ ...c, time: Date.now() }));
      } catch {
        /* a full disk: the claim keeps its last time and may expire; the entry write will say why */
      }
    }
  }

  release(id: string): void {
    const token = this.held.get(id);
    if (!token) return;
    this.held.delete(id);
    const c = this.readClaim(id);
    // Only remove our own claim, never one that took ours over.
    if (c && c.token === token) fs.rmSync(this.claimPath(id), { force: true });
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) {
      try {
        this.release(id);
      } catch {
        /* exiting anyway */
      }
    }
  }

  heldClaims(): string[] {
    return [...this.held.keys()];
  }

  /** The directory's `*.json` names without the extension (hidden ones left out; none when it is unreadable). */
  private jsonStems(): string[] {
    try {
      return fs.readdirSync(this.dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -5));
    } catch {
      return [];
    }
  }

  /** Run ids with an entry file (valid or not). */
  ids(): string[] {
    return this.jsonStems().filter((n) => ID_RE.test(n)).sort();
  }

  /** `*.json` names in the directory that cannot be run ids (not sublab's). */
  foreign(): string[] {
    return this.jsonStems().filter((n) => !ID_RE.test(n)).map((n) => path.join(this.dir, `${n}.json`));
  }

  /** Entries with their size; invalid ones flagged. */
  list(): { id: string; file: string; bytes: number; entry?: CacheEntry; problem?: string }[] {
    return this.ids().map((id) => {
      const file = this.entryPath(id);
      let bytes = 0;
      try {
        bytes = fs.lstatSync(file).size;
      } catch {
        /* vanished meanwhile */
      }
      const r = this.inspect(id);
      return r.status === 'hit' ? { id, file, bytes, entry: r.entry } : { id, file, bytes, problem: r.status === 'corrupt' ? r.reason : 'missing' };
    });
  }

  verify(): { ok: number; corrupt: { file: string; reason: string }[] } {
    let ok = 0;
    const corrupt: { file: string; reason: string }[] = [];
    for (const id of this.ids()) {
      const r = this.inspect(id);
      if (r.status === 'hit') ok++;
      else if (r.status === 'corrupt') corrupt.push({ file: r.file, reason: r.reason });
    }
    return { ok, corrupt };
  }

  /** Remove corrupt entries, stale claims, leftover temp files and moved-aside corrupt files. */
  gc(): { removed: { file: string; reason: string }[] } {
    const removed: { file: string; reason: string }[] = [];
    const rm = (file: string, reason: string) => {
      try {
        // Only plain files: a directory or FIFO under an entry's name is reported, never removed.
        const st = fs.lstatSync(file);
        if (!st.isFile()) {
          this.warn(`${file} is ${fileKind(st)}, not a cache entry; left in place (remove it by hand)`);
          return;
        }
        fs.rmSync(file, { force: true });
        removed.push({ file, reason });
      } catch {
        /* vanished meanwhile */
      }
    };
    for (const c of this.verify().corrupt) rm(c.file, c.reason);
    for (const name of fs.readdirSync(this.dir)) {
      const file = path.join(this.dir, name);
      if (name.endsWith('.tmp') || name.includes('.stale-')) {
        // A temp file younger than a minute may belong to a writer right now.
        let age = 0;
        try {
          age = Date.now() - fs.lstatSync(file).mtimeMs;
        } catch {
          continue;
        }
        if (age > 60_000) rm(file, 'leftover temp file');
      } else if (name.includes('.json.corrupt-')) {
        rm(file, 'corrupt entry moved aside');
      } else if (name.endsWith('.claim')) {
        const id = name.slice(0, -6);
        const reason = this.claimStaleReason(this.readClaim(id), file);
        if (reason) rm(file, `stale claim (${reason})`);
      }
    }
    return { removed };
  }
}
