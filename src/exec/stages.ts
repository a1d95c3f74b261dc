// The stage store: what runs share (a trained teacher, a generated dataset) is computed once and
// kept as a content-addressed artifact beside the result cache, in <cache>/stages/<runner>/<stage>/<key>/.
//
// An artifact is a folder. It is written into a temporary folder next to its final place, given a
// manifest (every file's size and sha256, the key's material, a checksum over the manifest) and
// renamed into place, so a reader sees a whole artifact or none (kill -9 mid-stage leaves only a
// temporary folder, which `sublab cache gc` removes). Loading verifies every file against the
// manifest; a corrupt artifact is reported, counted, moved aside and recomputed. Claims (the run
// cache's mechanism: O_EXCL files with pid, host and refresh time) make concurrent processes —
// `--jobs` children, SLURM tasks on a shared folder, two `sublab run`s — compute each artifact once
// while the others wait for it.
//
// Keys are derived (stageKeys): runner name and version, stage name, the resolved parameters
// declared as feeding the stage, the upstream stages' keys, the hash of the source files the
// stage's code reaches, the seed when seeded, and the declared data identity. All of it follows
// from a run's parameters and seed, so `sublab plan` derives the same keys without running.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Value } from '../language/ast.ts';
import type { ParamSpec, RunContext, RunnerSchema, StageSchema } from '../runners/schema.ts';
import { canonicalJson } from '../util/canonical-json.ts';
import { DiskFullError, fsyncDir, isNoSpace, writeAllSync } from '../util/atomic-write.ts';
import { fileKind, ResultCache, type ClaimInfo } from './cache.ts';
import { claimWaitNotice } from './claim-notice.ts';
import { NAME_RE, RUN_STAGE, stageCodeHash, stagesOfParam } from '../runners/stage-declaration.ts';

export { RUN_STAGE, stageCodeHash, stageDeclarationProblems, stagesOfParam } from '../runners/stage-declaration.ts';

/** The manifest's name inside an artifact folder. */
export const MANIFEST = '.sublab-stage.json';
/** Bump when the key material's shape or the artifact layout changes. */
const FORMAT = 1;
const KEY_RE = /^[0-9a-f]{64}$/;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

// ───────────────────────────── keys ─────────────────────────────

/** One artifact's address. */
export interface StageRef {
  runner: string;
  stage: string;
  key: string;
}

/** The first 12 hex digits of a key: what reports and progress lines show. */
export const shortKey = (key: string) => key.slice(0, 12);

/**
 * A key from its material: sha256 of the canonical JSON. Declared stages build the material in
 * stageKeys; a stage a program names at run time (the command protocol's `stage(...)`) builds its
 * own ({format, runner, stage, inputs, after, code}) and gets its key here.
 */
export function stageKeyOf(material: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(material)).digest('hex');
}

/**
 * The key of a stage a program names at run time (the command protocol's `stage(...)`,
 * docs/protocol.md "Stages"): the runner's name and version, the stage's name, the inputs the
 * program passes (canonical JSON), the keys of the stages it names in `after`, and the hash of its
 * code. The seed is in it only when the program passes it among the inputs.
 */
export function programStageKey(m: { runner: string; version: string; stage: string; inputs: unknown; after: Readonly<Record<string, string>>; code: string }): StageKeyInfo {
  const material: Record<string, unknown> = { format: FORMAT, runner: m.runner, version: m.version, stage: m.stage, inputs: m.inputs, after: { ...m.after }, code: m.code };
  return { key: stageKeyOf(material), material };
}

export interface StageKeyInfo {
  key: string;
  material: Record<string, unknown>;
}

/**
 * Every stage's key for one run: `params` the run's parameters (resolved here when the schema can
 * resolve), `seed` its seed, `expDir` what relative paths in `data` are relative to. Stages in
 * declaration order, so upstream keys exist when a downstream stage needs them.
 */
export function stageKeys(schema: RunnerSchema, params: Readonly<Record<string, Value>>, seed: number, env: { expDir: string }): Record<string, StageKeyInfo> {
  const resolved = resolveFor(schema, params);
  return keysOf(schema, resolved, (s) => (s.seedOf ? s.seedOf(resolved, seed) : seed), env);
}

/**
 * The keys of the further artifacts a run reads (StageSchema.reads), by the name it records each
 * under: `<stage>:<as>`, and `<upstream>:<as>` for the stages it comes after (drawn from the same
 * seed: what it is computed from). Empty for a runner whose stages declare no reads.
 */
export function readKeys(schema: RunnerSchema, params: Readonly<Record<string, Value>>, seed: number, env: { expDir: string }): Record<string, StageKeyInfo> {
  const out: Record<string, StageKeyInfo> = {};
  const stages = schema.stages ?? [];
  if (!stages.some((s) => s.reads)) return out;
  const resolved = resolveFor(schema, params);
  for (const s of stages) {
    for (const r of s.reads?.(resolved, seed) ?? []) {
      if (!NAME_RE.test(r.as)) throw new Error(`runner ${schema.name}, stage "${s.name}": a read's role "${r.as}" must be letters, digits, '_' or '-' (starting with a letter)`);
      const chain = upstreamOf(stages, s.name);
      const drawn = keysOf(schema, resolved, () => r.seed, env, chain);
      for (const name of chain) out[`${name}:${r.as}`] = drawn[name]!;
    }
  }
  return out;
}

/** The stage a recorded name stands for: `base` for `base:cross`. */
export const stageOfRole = (name: string): string => name.split(':')[0]!;

function resolveFor(schema: RunnerSchema, params: Readonly<Record<string, Value>>): Readonly<Record<string, Value>> {
  const resolve = (schema as { resolve?: (p: Readonly<Record<string, Value>>) => Readonly<Record<string, Value>> }).resolve;
  return resolve ? resolve(params) : params;
}

/** `name` and every stage it comes after, directly or not. */
function upstreamOf(stages: readonly StageSchema[], name: string): Set<string> {
  const out = new Set<string>();
  const visit = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    for (const a of stages.find((s) => s.name === n)?.after ?? []) visit(a);
  };
  visit(name);
  return out;
}

/** The keys of the stages (those in `only`, which holds every upstream of each), each drawn from `seedFor(stage)` when seeded. */
function keysOf(schema: RunnerSchema, resolved: Readonly<Record<string, Value>>, seedFor: (s: StageSchema) => number, env: { expDir: string }, only?: ReadonlySet<string>): Record<string, StageKeyInfo> {
  const out: Record<string, StageKeyInfo> = {};
  for (const s of schema.stages ?? []) {
    if (only && !only.has(s.name)) continue;
    const own: Record<string, Value> = {};
    for (const p of schema.params) if (stagesOfParam(p).includes(s.name)) own[p.name] = resolved[p.name]!;
    const after: Record<string, string> = {};
    for (const a of s.after ?? []) after[a] = out[a]!.key;
    const seeded = s.seeded ?? schema.seeded;
    const data = s.data?.(resolved, env);
    const material: Record<string, unknown> = {
      format: FORMAT,
      runner: schema.name,
      version: schema.version,
      stage: s.name,
      params: own,
      after,
      code: stageCodeHash(s),
      ...(seeded ? { seed: seedFor(s) } : {}),
      ...(data !== undefined ? { data } : {}),
    };
    out[s.name] = { key: stageKeyOf(material), material };
  }
  return out;
}

// ───────────────────────────── the store ─────────────────────────────

export interface StageManifest {
  format: number;
  runner: string;
  stage: string;
  key: string;
  /** What the key is made of (params, upstream keys, code hash, seed, data). */
  material: Record<string, unknown>;
  /** Every file of the artifact, sorted by path ('/' separators). */
  files: { path: string; bytes: number; sha256: string }[];
  createdAt: string;
  host: string;
  pid: number;
  /** sha256 (hex) of the canonical JSON of every other field. */
  checksum: string;
}

export type StageInspect =
  | { status: 'hit'; dir: string; manifest: StageManifest }
  | { status: 'miss' }
  | { status: 'corrupt'; dir: string; reason: string };

/** What `acquire` found for one artifact: stored (load it from `dir`), or claimed to compute into `tmp`. */
export type Acquired =
  | { ref: StageRef; status: 'stored'; dir: string }
  | { ref: StageRef; status: 'compute'; tmp: string; /** Why the stored one was not usable. */ corrupt?: string };

/** One artifact a group computed or reused, with the runs that use it. */
export interface StageEvent {
  runner: string;
  stage: string;
  key: string;
  outcome: 'computed' | 'reused';
  /** The runs that use it under the stage's name. */
  runIds: string[];
  /** Runs that use it under another name (StageRunSpec.as), e.g. a cross-init student's base. */
  uses?: { runId: string; as: string }[];
  /** Set when a corrupt stored artifact was replaced (the warning was given). */
  corrupt?: string;
}

export interface StageStoreOptions {
  /** One line per problem (corrupt artifact, stale claim taken over, waiting on another process). */
  warn?: (msg: string) => void;
  /** A claim not refreshed for this long is stale (default: the run cache's, 10 min). */
  claimTtlMs?: number;
  /** How often to look at an artifact another process is computing (default 250 ms). */
  pollMs?: number;
  /** After waiting this long on another process's claim, say who holds it (default 5 s). */
  claimNoticeMs?: number;
  /** Processes whose claims are expected (a pool's own children): waiting on them is not reported. */
  ownPids?: ReadonlySet<number>;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const bySha = new Map<string, { mtimeMs: number; size: number; ino: number; sha: string }>();

/** sha256 of a file, streamed (artifacts may be checkpoints of gigabytes); fsync when asked. */
function hashFile(file: string, sync = false): { bytes: number; sha256: string } {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const hit = bySha.get(file);
    if (!sync && hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size && hit.ino === st.ino) return { bytes: st.size, sha256: hit.sha };
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
    if (sync) fs.fsyncSync(fd);
    const sha = h.digest('hex');
    bySha.set(file, { mtimeMs: st.mtimeMs, size: st.size, ino: st.ino, sha });
    return { bytes: st.size, sha256: sha };
  } finally {
    fs.closeSync(fd);
  }
}

/** The files under `dir` (relative, '/' separators, sorted), without the manifest; throws on links and special files. */
function walk(dir: string): string[] {
  const out: string[] = [];
  const go = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) go(r);
      else if (d.isFile()) {
        if (r !== MANIFEST) out.push(r);
      } else throw new Error(`${path.join(dir, r)} is ${fileKind(fs.lstatSync(path.join(dir, r)))}; an artifact holds plain files and folders only`);
    }
  };
  go('');
  return out.sort();
}

function manifestChecksum(m: Omit<StageManifest, 'checksum'> & { checksum?: string }): string {
  const { checksum: _c, ...rest } = m;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export class StageStore {
  readonly root: string;
  readonly claimTtlMs: number;
  private readonly opts: StageStoreOptions;
  private readonly warn: (msg: string) => void;
  /** The run cache's claim mechanism, one instance per <runner>/<stage> folder (claim id = key). */
  private readonly claimers = new Map<string, ResultCache>();
  private refresher: NodeJS.Timeout | undefined;
  private heldCount = 0;
  /** Artifacts this store is computing now: a second request in this process waits for them too. */
  private readonly computing = new Set<string>();

  constructor(root: string, opts: StageStoreOptions = {}) {
    this.root = path.resolve(root);
    this.opts = opts;
    this.claimTtlMs = opts.claimTtlMs ?? 10 * 60_000;
    this.warn = opts.warn ?? ((m) => process.stderr.write(`sublab: warning: ${m}\n`));
    const st = fs.statSync(this.root, { throwIfNoEntry: false });
    if (st && !st.isDirectory()) throw new Error(`stage store ${this.root} is ${fileKind(st)}, not a directory`);
  }

  private check(ref: StageRef): void {
    if (!/^[A-Za-z0-9_-]+$/.test(ref.runner)) throw new Error(`invalid runner name "${ref.runner}"`);
    if (!NAME_RE.test(ref.stage)) throw new Error(`invalid stage name "${ref.stage}"`);
    if (!KEY_RE.test(ref.key)) throw new Error(`invalid stage key "${ref.key}"`);
  }

  /** The folder of the stage's artifacts. */
  stageDir(runner: string, stage: string): string {
    return path.join(this.root, runner, stage);
  }

  /** Where the committed artifact lives. */
  folder(ref: StageRef): string {
    this.check(ref);
    return path.join(this.stageDir(ref.runner, ref.stage), ref.key);
  }

  claimFile(ref: StageRef): string {
    return `${this.folder(ref)}.claim`;
  }

  private claims(ref: StageRef): ResultCache {
    const dir = this.stageDir(ref.runner, ref.stage);
    let c = this.claimers.get(dir);
    if (!c) {
      // Its one message ("took over stale claim on run <id>") names a stage artifact here.
      const warn = (m: string) => this.warn(m.replace(/claim on run ([0-9a-f]+)/, (_, k: string) => `claim on stage ${ref.runner}/${ref.stage} artifact ${shortKey(k)}`));
      c = new ResultCache(dir, { warn, claimTtlMs: this.claimTtlMs });
      this.claimers.set(dir, c);
    }
    return c;
  }

  /** Read and verify one artifact: its manifest's checksum, and every file's size and sha256. */
  inspect(ref: StageRef): StageInspect {
    const dir = this.folder(ref);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'miss' };
      return { status: 'corrupt', dir, reason: (e as NodeJS.ErrnoException).code ?? (e as Error).message };
    }
    if (!st.isDirectory()) return { status: 'corrupt', dir, reason: `${fileKind(st)}, not an artifact folder` };
    const bad = (reason: string): StageInspect => ({ status: 'corrupt', dir, reason });
    let m: StageManifest;
    try {
      const mf = path.join(dir, MANIFEST);
      const ms = fs.lstatSync(mf);
      if (!ms.isFile()) return bad(`its manifest is ${fileKind(ms)}`);
      if (ms.size > MAX_MANIFEST_BYTES) return bad(`its manifest has ${ms.size} bytes`);
      m = JSON.parse(fs.readFileSync(mf, 'utf8')) as StageManifest;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return bad(code === 'ENOENT' ? 'no manifest' : e instanceof SyntaxError ? 'manifest is not valid JSON' : (code ?? (e as Error).message));
    }
    if (!m || typeof m !== 'object' || typeof m.checksum !== 'string' || !Array.isArray(m.files)) return bad('manifest lacks fields');
    try {
      if (manifestChecksum(m) !== m.checksum) return bad('manifest checksum mismatch');
    } catch (e) {
      return bad((e as Error).message);
    }
    if (m.key !== ref.key || m.stage !== ref.stage || m.runner !== ref.runner) return bad(`manifest is for ${m.runner}/${m.stage} ${String(m.key).slice(0, 12)}`);
    let present: string[];
    try {
      present = walk(dir);
    } catch (e) {
      return bad((e as Error).message);
    }
    const listed = m.files.map((f) => f.path);
    const extra = present.filter((p) => !listed.includes(p));
    if (extra.length) return bad(`unexpected file ${extra[0]}${extra.length > 1 ? ` and ${extra.length - 1} more` : ''}`);
    for (const f of m.files) {
      const file = path.join(dir, ...f.path.split('/'));
      if (!present.includes(f.path)) return bad(`file ${f.path} is missing`);
      let h: { bytes: number; sha256: string };
      try {
        h = hashFile(file);
      } catch (e) {
        return bad(`file ${f.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (h.bytes !== f.bytes) return bad(`file ${f.path} has ${h.bytes} bytes, not ${f.bytes}`);
      if (h.sha256 !== f.sha256) return bad(`file ${f.path}: checksum mismatch`);
    }
    return { status: 'hit', dir, manifest: m };
  }

  /**
   * For each artifact: stored (verified), or claimed by this process to compute into a fresh
   * temporary folder. Artifacts another live process is computing are waited for; a stale claim
   * is taken over. Claims are taken in key order, so processes waiting on each other's artifacts
   * cannot deadlock. A corrupt stored artifact is reported (warning), moved aside and computed again.
   */
  async acquire(refs: readonly StageRef[], call: { signal?: AbortSignal } = {}): Promise<Acquired[]> {
    const pollMs = this.opts.pollMs ?? 250;
    const noticeMs = this.opts.claimNoticeMs ?? 5000;
    const unique = [...new Map(refs.map((r) => [`${r.runner}/${r.stage}/${r.key}`, r])).values()];
    unique.sort((a, b) => (a.runner + a.stage + a.key < b.runner + b.stage + b.key ? -1 : 1));
    const got = new Map<string, Acquired>();
    const id = (r: StageRef) => `${r.runner}/${r.stage}/${r.key}`;
    const start = Date.now();
    const noticed = new Set<string>();
    try {
      for (const ref of unique) {
        let corrupt: string | undefined;
        for (;;) {
          // `call.signal`: one caller gave up (a program that died while waiting for an artifact).
          if (this.opts.signal?.aborted || call.signal?.aborted) throw new Error('interrupted');
          const r = this.inspect(ref);
          if (r.status === 'hit') {
            got.set(id(ref), { ref, status: 'stored', dir: r.dir });
            break;
          }
          const claims = this.claims(ref);
          // (The claim files cannot tell two requests of one store apart: same process.)
          if (!this.computing.has(id(ref)) && claims.claim(ref.key)) {
            this.computing.add(id(ref));
            this.held(+1);
            // It may have been committed between the look and the claim.
            const again = this.inspect(ref);
            if (again.status === 'hit') {
              this.releaseClaim(ref);
              got.set(id(ref), { ref, status: 'stored', dir: again.dir });
              break;
            }
            if (again.status === 'corrupt') {
              corrupt = again.reason;
              this.warn(`corrupt stage artifact ${again.dir} (${again.reason}); it will be recomputed`);
              this.moveAside(again.dir);
            }
            const tmp = path.join(this.stageDir(ref.runner, ref.stage), `.${ref.key}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
            fs.mkdirSync(tmp);
            got.set(id(ref), { ref, status: 'compute', tmp, ...(corrupt ? { corrupt } : {}) });
            break;
          }
          // Another live process computes it: wait, and after a while say who.
          const c = claims.readClaim(ref.key);
          if (c && Date.now() - start >= noticeMs && !noticed.has(c.token) && !(c.host === os.hostname() && this.opts.ownPids?.has(c.pid))) {
            noticed.add(c.token);
            this.warn(claimWaitNotice(`stage ${ref.stage} artifact ${shortKey(ref.key)}`, c as ClaimInfo, this.claimTtlMs, this.claimFile(ref)));
          }
          await sleep(pollMs);
        }
      }
    } catch (e) {
      for (const a of got.values()) if (a.status === 'compute') this.discard(a.ref, a.tmp);
      throw e;
    }
    return refs.map((r) => got.get(id(r))!);
  }

  /**
   * Commit a computed artifact: checksum every file (fsynced) into the manifest, then rename the
   * temporary folder into place and release the claim. Returns the final folder.
   */
  commit(ref: StageRef, tmp: string, material: Record<string, unknown>): string {
    const final = this.folder(ref);
    try {
      if (fs.existsSync(path.join(tmp, MANIFEST))) throw new Error(`the artifact may not hold a file named ${MANIFEST}`);
      const files = walk(tmp).map((p) => ({ path: p, ...hashFile(path.join(tmp, ...p.split('/')), true) }));
      const body = { format: FORMAT, runner: ref.runner, stage: ref.stage, key: ref.key, material, files, createdAt: new Date().toISOString(), host: os.hostname(), pid: process.pid };
      const manifest: StageManifest = { ...body, checksum: manifestChecksum(body) };
      // Inside the temporary folder: the folder's rename below is what makes the artifact appear.
      const fd = fs.openSync(path.join(tmp, MANIFEST), 'wx');
      try {
        writeAllSync(fd, JSON.stringify(manifest, null, 1));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fsyncDir(tmp);
      try {
        fs.renameSync(tmp, final);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR') throw e;
        // Something is in the way: a valid artifact (our claim was taken over and the other
        // process finished first: same key, same content) is kept; anything else is moved aside.
        if (this.inspect(ref).status === 'hit') {
          fs.rmSync(tmp, { recursive: true, force: true });
          return final;
        }
        this.moveAside(final);
        fs.renameSync(tmp, final);
      }
      fsyncDir(path.dirname(final));
      // A rename keeps inode and mtime: the first load need not hash what commit just hashed.
      for (const f of files) {
        const hit = bySha.get(path.join(tmp, ...f.path.split('/')));
        if (hit) bySha.set(path.join(final, ...f.path.split('/')), hit);
      }
      return final;
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      // A full disk says which artifact and which filesystem (the run fails; nothing half there).
      if (isNoSpace(e) && !(e instanceof DiskFullError)) throw new DiskFullError(final, (e as NodeJS.ErrnoException).code ?? 'ENOSPC');
      throw e;
    } finally {
      this.releaseClaim(ref);
    }
  }

  /** Give up a claimed artifact: remove its temporary folder, release the claim. */
  discard(ref: StageRef, tmp: string): void {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } finally {
      this.releaseClaim(ref);
    }
  }

  private moveAside(dir: string): void {
    try {
      fs.renameSync(dir, `${dir}.corrupt-${process.pid}-${Date.now()}`);
    } catch {
      // Someone else moved or replaced it already.
    }
  }

  private releaseClaim(ref: StageRef): void {
    this.computing.delete(`${ref.runner}/${ref.stage}/${ref.key}`);
    const c = this.claims(ref);
    if (!c.heldClaims().includes(ref.key)) return;
    c.release(ref.key);
    this.held(-1);
  }

  /** Keep claims alive during long computations (the run cache's refresh, a third of the TTL). */
  private held(d: number): void {
    this.heldCount += d;
    if (this.heldCount > 0 && !this.refresher) {
      this.refresher = setInterval(() => {
        for (const c of this.claimers.values()) c.refreshClaims();
      }, Math.max(1000, this.claimTtlMs / 3));
      this.refresher.unref();
    } else if (this.heldCount <= 0 && this.refresher) {
      clearInterval(this.refresher);
      this.refresher = undefined;
    }
  }

  /** Whether a committed artifact is there (its manifest exists; not verified: for counting in plans). */
  exists(ref: StageRef): boolean {
    try {
      return fs.lstatSync(path.join(this.folder(ref), MANIFEST)).isFile();
    } catch {
      return false;
    }
  }

  /** Every artifact folder in the store, verified, with its size; and names there that are not sublab's. */
  list(): { items: StageListItem[]; foreign: string[] } {
    const items: StageListItem[] = [];
    const foreign: string[] = [];
    const dirs = (d: string) => {
      try {
        return fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return [];
      }
    };
    for (const r of dirs(this.root)) {
      if (!r.isDirectory()) {
        foreign.push(path.join(this.root, r.name));
        continue;
      }
      for (const s of dirs(path.join(this.root, r.name))) {
        const sd = path.join(this.root, r.name, s.name);
        if (!s.isDirectory() || !NAME_RE.test(s.name)) {
          foreign.push(sd);
          continue;
        }
        for (const e of dirs(sd)) {
          if (e.name.endsWith('.claim') || e.name.startsWith('.') || e.name.includes('.corrupt-')) continue;
          if (!KEY_RE.test(e.name)) {
            foreign.push(path.join(sd, e.name));
            continue;
          }
          const ref = { runner: r.name, stage: s.name, key: e.name };
          const v = this.inspect(ref);
          let bytes = 0;
          try {
            for (const f of walk(path.join(sd, e.name))) bytes += fs.lstatSync(path.join(sd, e.name, f)).size;
          } catch {
            /* reported as corrupt */
          }
          items.push(v.status === 'hit' ? { ref, dir: v.dir, bytes, manifest: v.manifest } : { ref, dir: path.join(sd, e.name), bytes, problem: v.status === 'corrupt' ? v.reason : 'missing' });
        }
      }
    }
    items.sort((a, b) => (a.dir < b.dir ? -1 : 1));
    return { items, foreign };
  }

  /**
   * Remove corrupt artifacts, corrupt ones moved aside, stale claims, and temporary folders whose
   * claim is no longer held by a live process (what a killed computation leaves).
   */
  gc(): { removed: { file: string; reason: string }[] } {
    const removed: { file: string; reason: string }[] = [];
    const rm = (file: string, reason: string) => {
      try {
        fs.rmSync(file, { recursive: true, force: true });
        removed.push({ file, reason });
      } catch (e) {
        this.warn(`cannot remove ${file} (${(e as Error).message})`);
      }
    };
    for (const it of this.list().items) if (it.problem) rm(it.dir, `corrupt artifact (${it.problem})`);
    const dirs = (d: string) => {
      try {
        return fs.readdirSync(d, { withFileTypes: true }).filter((x) => x.isDirectory());
      } catch {
        return [];
      }
    };
    for (const r of dirs(this.root)) {
      for (const s of dirs(path.join(this.root, r.name))) {
        if (!NAME_RE.test(s.name)) continue;
        const sd = path.join(this.root, r.name, s.name);
        const claims = new ResultCache(sd, { warn: () => {}, claimTtlMs: this.claimTtlMs });
        const liveClaim = (key: string) => {
          const file = claims.claimPath(key);
          if (!fs.existsSync(file)) return false;
          return claims.claimStaleReason(claims.readClaim(key), file) === undefined;
        };
        for (const name of fs.readdirSync(sd)) {
          const file = path.join(sd, name);
          const tmp = /^\.([0-9a-f]{64})\.tmp-/.exec(name);
          if (tmp) {
            let age = 0;
            try {
              age = Date.now() - fs.lstatSync(file).mtimeMs;
            } catch {
              continue;
            }
            // A folder younger than a minute may belong to a process that has not claimed yet.
            if (age > 60_000 && !liveClaim(tmp[1]!)) rm(file, 'unfinished artifact (its process is gone)');
          } else if (/^[0-9a-f]{64}\.corrupt-/.test(name)) rm(file, 'corrupt artifact moved aside');
          else if (name.endsWith('.claim') && KEY_RE.test(name.slice(0, -6))) {
            const reason = claims.claimStaleReason(claims.readClaim(name.slice(0, -6)), file);
            if (reason) rm(file, `stale claim (${reason})`);
          } else if (name.includes('.claim.') && name.endsWith('.tmp')) {
            try {
              if (Date.now() - fs.lstatSync(file).mtimeMs > 60_000) rm(file, 'leftover temp file');
            } catch {
              /* vanished */
            }
          }
        }
      }
    }
    return { removed };
  }
}

export interface StageListItem {
  ref: StageRef;
  dir: string;
  bytes: number;
  manifest?: StageManifest;
  problem?: string;
}

// ───────────────────────────── what a runner calls ─────────────────────────────

/** One spec as the stage API needs it (a TypedRunSpec fits). */
export interface StageRunSpec {
  id: string;
  seed: number;
  params: Readonly<Record<string, Value>>;
  /**
   * The name run `id` records this artifact under when it is not the stage's own (default): a run
   * that reads a second artifact of a stage, as a cross-init student reads another seed's base,
   * names it `<stage>:<role>` (`base:cross`), so its cache entry records every artifact it read.
   */
  as?: string;
}

/** One artifact for one run: where to read it, its key, whether it was stored already. */
export interface StageArtifact {
  key: string;
  dir: string;
  reused: boolean;
}

/**
 * The artifacts of one stage for a group of runs (a batched runner trains its seeds side by side):
 * which are stored (load them), which this process computes (write each into `dir(i)`, then
 * `commit`). Specs with the same key share one artifact: only the first of them is in `toCompute`.
 */
export interface StageGroup {
  readonly stage: string;
  /** One key per spec. */
  readonly keys: readonly string[];
  /** Per spec: the folder of its verified stored artifact, or undefined (being computed here). */
  readonly stored: readonly (string | undefined)[];
  /** Spec indices whose artifact this process computes. */
  readonly toCompute: readonly number[];
  /** The empty folder to write spec i's artifact into (i in toCompute). */
  dir(i: number): string;
  /** Commit computed artifacts atomically (default: all of toCompute not committed yet). */
  commit(indices?: readonly number[]): void;
  /** Drop what is not committed (temporary folders) and release its claims. Also done when `run` ends. */
  discard(): void;
  /** Spec i's artifact folder once stored or committed. */
  folder(i: number): string;
  /** For progress lines: " (teacher: 2 computed, 3 reused)". */
  readonly note: string;
}

/** What a declared runner's `run` gets: the RunContext plus the stage API bound to its declaration. */
export interface StageApi {
  /**
   * One artifact: the stored one, or `compute(dir)` fills `dir` and it is committed (discarded if
   * compute throws). Returns the folder to read it from.
   */
  stage(name: string, spec: StageRunSpec, compute: (dir: string) => Promise<void> | void): Promise<StageArtifact>;
  /** The artifacts of a group of runs at once (see StageGroup). */
  stageGroup(name: string, specs: readonly StageRunSpec[]): Promise<StageGroup>;
}

/**
 * The stage API for one `run` call of a runner: `ctx.stageStore` when the executor gave one, else a
 * temporary store (everything computed, removed by `close`). `close` discards what a failed run
 * left uncommitted.
 */
export function bindStages(schema: RunnerSchema, ctx: RunContext): StageApi & { close(): void } {
  const lazy = lazyContextStore(ctx);
  const store = lazy.get;
  let theStore: StageStore | undefined;
  const open = new Set<StageGroup>();
  const expDir = ctx.expDir ?? process.cwd();

  const stageGroup = async (name: string, specs: readonly StageRunSpec[]): Promise<StageGroup> => {
    const decl = (schema.stages ?? []).find((s) => s.name === name);
    if (!decl) throw new Error(`runner ${schema.name} has no stage "${name}" (declared: ${(schema.stages ?? []).map((s) => s.name).join(', ') || 'none'})`);
    const st = (theStore ??= store());
    const infos = specs.map((s) => stageKeys(schema, s.params, s.seed, { expDir })[name]!);
    const refs = infos.map((k) => ({ runner: schema.name, stage: name, key: k.key }));
    const acq = await st.acquire(refs);
    const firstOf = new Map<string, number>();
    refs.forEach((r, i) => { if (!firstOf.has(r.key)) firstOf.set(r.key, i); });
    const runsOf = (key: string) => [...new Set(specs.filter((s, j) => refs[j]!.key === key && s.as === undefined).map((s) => s.id))];
    const usesOf = (key: string) => {
      const u = specs.filter((s, j) => refs[j]!.key === key && s.as !== undefined).map((s) => ({ runId: s.id, as: s.as! }));
      return u.length ? { uses: u } : {};
    };
    const stored = acq.map((a) => (a.status === 'stored' ? a.dir : undefined));
    const toCompute = [...firstOf.values()].filter((i) => acq[i]!.status === 'compute');
    const committed = new Map<string, string>();
    const settled = new Set<string>();
    for (const i of firstOf.values()) {
      const a = acq[i]!;
      if (a.status === 'stored') ctx.onStage?.({ runner: schema.name, stage: name, key: a.ref.key, outcome: 'reused', runIds: runsOf(a.ref.key), ...usesOf(a.ref.key) });
    }
    const reused = firstOf.size - toCompute.length;
    const group: StageGroup = {
      stage: name,
      keys: refs.map((r) => r.key),
      stored,
      toCompute,
      dir(i) {
        const a = acq[i];
        if (!a || a.status !== 'compute' || firstOf.get(a.ref.key) !== i) throw new Error(`stage ${name}: spec ${i} is not one to compute (toCompute: ${toCompute.join(', ') || 'none'})`);
        return a.tmp;
      },
      commit(indices = toCompute) {
        for (const i of indices) {
          const a = acq[i]!;
          if (a.status !== 'compute' || firstOf.get(a.ref.key) !== i) throw new Error(`stage ${name}: spec ${i} is not one to compute`);
          if (settled.has(a.ref.key)) continue;
          settled.add(a.ref.key);
          committed.set(a.ref.key, st.commit(a.ref, a.tmp, infos[i]!.material));
          ctx.onStage?.({ runner: schema.name, stage: name, key: a.ref.key, outcome: 'computed', runIds: runsOf(a.ref.key), ...usesOf(a.ref.key), ...(a.corrupt ? { corrupt: a.corrupt } : {}) });
        }
        if (toCompute.every((i) => settled.has(refs[i]!.key))) open.delete(group);
      },
      discard() {
        for (const i of toCompute) {
          const a = acq[i]!;
          if (a.status !== 'compute' || settled.has(a.ref.key)) continue;
          settled.add(a.ref.key);
          st.discard(a.ref, a.tmp);
        }
        open.delete(group);
      },
      folder(i) {
        const k = refs[i]!.key;
        const d = stored[i] ?? committed.get(k);
        if (!d) throw new Error(`stage ${name}: the artifact of spec ${i} is not committed yet`);
        return d;
      },
      note: ` (${name}: ${toCompute.length} computed, ${reused} reused)`,
    };
    if (toCompute.length) open.add(group);
    return group;
  };

  return {
    stageGroup,
    async stage(name, spec, compute) {
      const g = await stageGroup(name, [spec]);
      if (g.toCompute.length) {
        try {
          await compute(g.dir(0));
          g.commit();
        } catch (e) {
          g.discard();
          throw e;
        }
      }
      return { key: g.keys[0]!, dir: g.folder(0), reused: g.toCompute.length === 0 };
    },
    close() {
      for (const g of [...open]) g.discard();
      lazy.close();
    },
  };
}

/**
 * The store a `run` call computes stages in: `ctx.stageStore` when the executor gave one, else a
 * temporary store made on first use and removed by `close` (a direct call without a result cache).
 */
export function lazyContextStore(ctx: Pick<RunContext, 'stageStore' | 'signal'>): { get(): StageStore; close(): void } {
  let own: string | undefined;
  let made: StageStore | undefined;
  return {
    get() {
      if (ctx.stageStore) return ctx.stageStore;
      own ??= fs.mkdtempSync(path.join(os.tmpdir(), 'sublab-stages-'));
      return (made ??= new StageStore(own, { signal: ctx.signal }));
    },
    close() {
      if (own) fs.rmSync(own, { recursive: true, force: true });
    },
  };
}

// ───────────────────────────── planning ─────────────────────────────

/**
 * Per stage of the plan's runner: how many distinct artifacts its runs need, and how many the store
 * already holds (`sublab plan`'s "teacher: 10 needed, 4 cached"); and each run's keys. Keys come
 * from the plan alone (parameters, seed, code, declared data identity), as `ctx.stage` derives them.
 * A run needs its own artifacts and those its stages declare it reads (`reads`: a cross-init
 * student's base, recorded as `base:cross`), which count under their stage.
 */
export function stageNeeds(
  plan: { experiment: { file: string; runner: RunnerSchema }; runs: readonly { id: string; params: Readonly<Record<string, Value>>; seed: number }[] },
  store?: StageStore,
): { stages: { stage: string; needed: number; cached: number }[]; keysByRun: Map<string, Record<string, string>> } {
  const schema = plan.experiment.runner;
  const keysByRun = new Map<string, Record<string, string>>();
  if (!schema.stages?.length) return { stages: [], keysByRun };
  const expDir = path.dirname(path.resolve(plan.experiment.file));
  const distinct = new Map<string, Set<string>>(schema.stages.map((s) => [s.name, new Set()]));
  for (const r of plan.runs) {
    if (keysByRun.has(r.id)) continue;
    const ks = { ...stageKeys(schema, r.params, r.seed, { expDir }), ...readKeys(schema, r.params, r.seed, { expDir }) };
    const m: Record<string, string> = {};
    for (const [name, info] of Object.entries(ks)) {
      m[name] = info.key;
      distinct.get(stageOfRole(name))!.add(info.key);
    }
    keysByRun.set(r.id, m);
  }
  const stages = [...distinct].map(([stage, keys]) => ({
    stage,
    needed: keys.size,
    cached: store ? [...keys].filter((key) => store.exists({ runner: schema.name, stage, key })).length : 0,
  }));
  return { stages, keysByRun };
}

/** Per stage: how many distinct artifacts the rows' runs used, and how many runs used one. */
export function stageSharing(rows: readonly { runId: string; stages?: Record<string, string> }[]): { stage: string; artifacts: number; runs: number }[] {
  const keys = new Map<string, Set<string>>();
  const runs = new Map<string, Set<string>>();
  for (const row of rows) {
    for (const [stage, key] of Object.entries(row.stages ?? {})) {
      (keys.get(stage) ?? keys.set(stage, new Set()).get(stage)!).add(key);
      (runs.get(stage) ?? runs.set(stage, new Set()).get(stage)!).add(row.runId);
    }
  }
  return [...keys].map(([stage, k]) => ({ stage, artifacts: k.size, runs: runs.get(stage)!.size }));
}
