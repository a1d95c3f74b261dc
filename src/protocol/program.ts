// The command runner's protocol for a JavaScript/TypeScript program (docs/protocol.md), the same
// API as the Python helper (python/sublab/__init__.py):
//
//   import { params, emit, log } from 'sublab/protocol';
//   const p = params();                 // the run's parameters (JSON on stdin), read once
//   log('epoch', 1, 'loss', 0.3);       // to stderr, kept in the run's log
//   emit({ accuracy: 0.93, loss: 0.2 }); // one result row on stdout
//   const t = await stage('teacher', { width: p.width, seed: p.seed }, { code: ['teacher.mjs'] }, async (dir) => {
//     trainTeacher(dir);                // only when not stored yet; committed when it returns
//   });                                 // t.dir: the stored artifact
//
// Importing it guards stdout: a line written there that is not a JSON object (a stray
// console.log) goes to stderr instead, with one warning per source line naming file:line, so it
// cannot break the rows. Depends on Node's built-ins and two small dependency-free modules of sublab
// (the protocol version, the line reader); nothing else of sublab is loaded.
import { fstatSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { PROTOCOL_VERSION } from './version.ts';
import { eachLine } from '../util/lines.ts';

export { PROTOCOL_VERSION };

/** A field of a result row: numbers are metrics, strings and booleans key columns. */
export type RowValue = number | string | boolean;
export type Row = Readonly<Record<string, RowValue>>;

/** The stdout write of the process, before the guard: the one path rows take. */
const rawWrite = process.stdout.write.bind(process.stdout) as (chunk: string) => boolean;

function fail(message: string): never {
  throw new Error(`sublab protocol: ${message}`);
}

let cached: Record<string, unknown> | undefined;

/**
 * The run's parameters: the JSON object sublab writes on stdin (every resolved parameter and
 * `seed`), read once. Empty stdin gives {} (running the program alone with `</dev/null`).
 */
export function params<T extends Record<string, unknown> = Record<string, unknown>>(): T {
  if (cached) return cached as T;
  if (process.stdin.isTTY) fail(`params(): stdin is a terminal, not the parameters; run the program through sublab, or alone with: echo '{"seed": 0}' | node ${process.argv[1] ?? 'program.mjs'}`);
  const text = readFileSync(0, 'utf8');
  if (text.trim() === '') return (cached = {}) as T;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(`params(): stdin is not JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('params(): stdin is not a JSON object');
  return (cached = v as Record<string, unknown>) as T;
}

/** JSON for a number, NaN and ±Infinity included (the runner reads them as Python writes them). */
function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return JSON.stringify(v);
}

/** The JSON line of one row; throws naming the field that cannot be a column. */
export function rowLine(row: Row): string {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) fail(`emit(row): a row is an object like {"accuracy": 0.93}, not ${Array.isArray(row) ? 'an array' : String(row)}`);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(row)) {
    let text: string;
    if (typeof v === 'number') text = numberText(v);
    else if (typeof v === 'string' || typeof v === 'boolean') text = JSON.stringify(v);
    else if (typeof v === 'bigint') text = String(v);
    else fail(`emit(row): field "${k}" is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}; fields are numbers (metrics), strings or booleans (key columns)`);
    parts.push(`${JSON.stringify(k)}:${text}`);
  }
  if (parts.length === 0) fail('emit(row): the row has no fields');
  return `{${parts.join(',')}}`;
}

/** Write one result row (a JSON line on stdout). */
export function emit(row: Row): void {
  rawWrite(rowLine(row) + '\n');
}

/** Write a message for humans to stderr (kept in the run's log), formatted as console.log does. */
export function log(...args: unknown[]): void {
  process.stderr.write(format(...args) + '\n');
}

// ---- the stdout guard ----------------------------------------------------------------------

/** A line that is a JSON object is a row, however it was written (console.log(JSON.stringify(row))). */
function isRow(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith('{')) return false;
  try {
    const v: unknown = JSON.parse(t);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

/** file:line of the code that wrote to stdout: the first stack frame outside this module and Node. */
function caller(): string {
  const here = import.meta.url;
  for (const l of (new Error().stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/.exec(l.trim());
    if (!m || m[1]!.startsWith('node:') || here.endsWith(m[1]!) || m[1] === here) continue;
    let file = m[1]!.replace(/^file:\/\//, '');
    const cwd = process.cwd() + '/';
    if (file.startsWith(cwd)) file = file.slice(cwd.length);
    return `${file}:${m[2]}`;
  }
  return 'an unknown place';
}

let pending = '';
let pendingAt = '';
const warned = new Set<string>();

function strayLine(line: string, at: string): void {
  if (isRow(line)) {
    rawWrite(line + '\n');
    return;
  }
  if (line.trim() !== '' && !warned.has(at)) {
    warned.add(at);
    process.stderr.write(`sublab: stdout carries result rows only; what ${at} printed there goes to stderr (use emit(row) for rows, log(...) for messages)\n`);
  }
  process.stderr.write(line + '\n');
}

process.stdout.write = function guardedWrite(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (pending === '') pendingAt = caller();
  pending += text;
  let nl: number;
  while ((nl = pending.indexOf('\n')) >= 0) {
    strayLine(pending.slice(0, nl), pendingAt);
    pending = pending.slice(nl + 1);
  }
  const done = typeof encoding === 'function' ? encoding : cb;
  if (typeof done === 'function') process.nextTick(done as () => void);
  return true;
} as typeof process.stdout.write;

// A last line without its newline still counts.
process.on('exit', () => {
  if (pending !== '') strayLine(pending, pendingAt);
  pending = '';
});

// ---- stages ----------------------------------------------------------------------------------
// sublab answers stage requests on a control channel, the file descriptor named by SUBLAB_STAGE_FD
// (3): one JSON line each way (src/runners/command/stage-channel.ts), so stdout stays for rows.

type Answer = { ok: boolean; error?: string; key?: string; dir?: string; done?: boolean };
let channel: { sock: net.Socket; waiting: ((a: Answer) => void)[] } | false | undefined;
let standaloneNoted = false;

function stageChannel(): typeof channel {
  if (channel !== undefined) return channel;
  const text = process.env.SUBLAB_STAGE_FD ?? '';
  if (text === '') return (channel = false);
  let isSocket = false;
  try {
    isSocket = fstatSync(Number(text)).isSocket();
  } catch {
    /* not open */
  }
  if (!isSocket) fail(`stage(): SUBLAB_STAGE_FD=${text} is not sublab's stage channel here; only the program sublab started can open stages (a process it starts inherits the variable but not the channel)`);
  const sock = new net.Socket({ fd: Number(text), readable: true, writable: true });
  const waiting: ((a: Answer) => void)[] = [];
  eachLine(sock, (line) => {
    waiting.shift()?.(JSON.parse(line) as Answer);
    if (waiting.length === 0) sock.unref();
  });
  sock.on('close', () => {
    for (const w of waiting.splice(0)) w({ ok: false, error: 'sublab closed the stage channel' });
  });
  // Idle, the channel must not keep the program alive.
  sock.unref();
  return (channel = { sock, waiting });
}

function request(message: Record<string, unknown>): Promise<Answer> {
  const ch = stageChannel();
  if (!ch) fail('stage(): no stage channel');
  return new Promise((resolve, reject) => {
    ch.waiting.push((a) => (a.ok ? resolve(a) : reject(new Error(`sublab protocol: stage(): ${a.error}`))));
    ch.sock.ref();
    ch.sock.write(JSON.stringify(message) + '\n');
  });
}

/** Options of `stage`: upstream stages (names or Stage objects of this run) and the code that computes it. */
export interface StageOptions {
  after?: readonly (string | Stage)[];
  /** Files, folders, patterns relative to cwd (`inputs`' rules); default: the whole program. */
  code?: readonly string[];
}

/** One stage of the run: `dir` its folder, `done` whether it holds a finished artifact. */
export class Stage {
  #open: boolean;
  constructor(
    readonly name: string,
    readonly key: string | undefined,
    public dir: string,
    public done: boolean,
  ) {
    this.#open = !done;
  }

  /** Store what the program wrote into `dir` (atomically); `dir` then names the artifact. */
  async commit(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (this.key !== undefined) this.dir = (await request({ op: 'commit', name: this.name })).dir!;
    this.done = true;
  }

  /** Give the stage up: its folder is removed, nothing is stored. */
  async discard(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    if (this.key !== undefined) await request({ op: 'discard', name: this.name });
  }
}

/**
 * The stage `name` of this run for these `inputs` (JSON: what its result depends on). Without
 * `fill`: returns the Stage; when `!t.done`, write into `t.dir`, then `await t.commit()` (or
 * `t.discard()`). With `fill(dir)`: called only when not stored, committed when it resolves,
 * discarded when it throws (the error passes on). See docs/protocol.md, "Stages".
 */
export async function stage(name: string, inputs: unknown = {}, options: StageOptions = {}, fill?: (dir: string) => unknown): Promise<Stage> {
  if (typeof name !== 'string') fail(`stage(name, ...): the name is a string, not ${typeof name}`);
  const after = (options.after ?? []).map((a) => (a instanceof Stage ? a.name : typeof a === 'string' ? a : fail('stage(): options.after names upstream stages by name or Stage')));
  const code = options.code === undefined ? null : [...options.code];
  if (code && !code.every((c) => typeof c === 'string')) fail('stage(): options.code is a list of files, folders or patterns relative to cwd');
  try {
    // JSON.stringify would write NaN as null and drop undefined: two different inputs, one key.
    JSON.stringify(inputs, (k, v: unknown) => {
      if ((typeof v === 'number' && !Number.isFinite(v)) || v === undefined || typeof v === 'function' || typeof v === 'bigint' || typeof v === 'symbol') throw new Error(`${k ? `"${k}" ` : ''}is ${String(v)}`);
      return v;
    });
  } catch (e) {
    fail(`stage(${JSON.stringify(name)}, inputs): inputs must be JSON (objects, arrays, strings, finite numbers, booleans, null): ${(e as Error).message}`);
  }
  let t: Stage;
  if (!stageChannel()) {
    // Run alone (not by sublab): compute into a temporary folder, kept until the program exits.
    const dir = mkdtempSync(path.join(os.tmpdir(), `sublab-stage-${name}-`));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    if (!standaloneNoted) log('sublab: not run by sublab: stages are computed into temporary folders and not kept');
    standaloneNoted = true;
    t = new Stage(name, undefined, dir, false);
  } else {
    const a = await request({ op: 'stage', name, inputs, after, code });
    t = new Stage(name, a.key, a.dir!, a.done!);
  }
  if (fill && !t.done) {
    try {
      await fill(t.dir);
    } catch (e) {
      // The fill's own error matters; sublab discards what a run leaves open anyway.
      await t.discard().catch(() => {});
      throw e;
    }
    await t.commit();
  }
  return t;
}
