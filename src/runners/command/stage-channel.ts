// The runner's side of a program's stages (docs/protocol.md, "Stages"): the program's helper asks
// on a control channel (file descriptor 3, named by SUBLAB_STAGE_FD; stdout stays for rows) for a
// stage by name, inputs, upstream stages and code; this side derives the key, acquires it on the
// stage store (waiting there for another process's claim, never in the program), and commits or
// discards it when the program says so. Whatever a program leaves open when it ends (an exception
// that skipped the helper, kill -9) is discarded here: the store's temporary folder never becomes
// an artifact.
//
// One JSON object a line each way, one request at a time:
//   {"op":"stage","name":"teacher","inputs":{...},"after":["..."],"code":["teacher.py"]}  (code: null = whole program)
//     → {"ok":true,"key":"<64 hex>","dir":"/…","done":false}
//   {"op":"commit","name":"teacher"} → {"ok":true,"dir":"/…"}   (the artifact's final folder)
//   {"op":"discard","name":"teacher"} → {"ok":true}
//   on a bad request: {"ok":false,"error":"…"} (the helper raises it in the program)
import type { Duplex } from 'node:stream';
import type { Value } from '../../language/ast.ts';
import { programStageKey, type StageEvent, type StageRef, type StageStore } from '../../exec/stages.ts';
import { NAME_RE, RUN_STAGE } from '../stage-declaration.ts';
import { stageCodeHashOf } from './files.ts';
import { eachLine } from '../../util/lines.ts';

/** The program's end of the channel, and the variable that names it. */
export const STAGE_FD = 3;
export const STAGE_FD_VAR = 'SUBLAB_STAGE_FD';
/** Longest request line (the inputs are a description of work, not data). */
const MAX_LINE = 1024 * 1024;

interface Entry {
  key: string;
  dir: string;
  /** Claimed and being filled by the program (its temporary folder is `dir`). */
  open?: { ref: StageRef; material: Record<string, unknown>; corrupt?: string };
}

export interface StageChannelRun {
  id: string;
  command: string;
  /** Absolute. */
  cwd: string;
  inputs: Value | undefined;
}

export class StageChannel {
  private readonly byName = new Map<string, Entry>();
  private readonly gone = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  private wholeProgram: string | undefined;

  constructor(
    private readonly run: StageChannelRun,
    private readonly store: () => StageStore,
    private readonly runner: { name: string; version: string },
    private readonly onStage?: (e: StageEvent) => void,
  ) {}

  /** Serve requests from the runner's end of the program's fd 3. */
  attach(sock: Duplex): void {
    sock.on('error', () => {}); // the program died: close() cleans up
    eachLine(sock, (line) => (this.queue = this.queue.then(() => this.serve(line, sock))), {
      maxLine: MAX_LINE,
      tooLong: () => this.reply(sock, { ok: false, error: `a stage request longer than ${MAX_LINE} bytes (pass a description of the inputs, e.g. paths and settings, not the data)` }),
    });
  }

  private reply(sock: Duplex, msg: Record<string, unknown>): void {
    if (this.gone.signal.aborted || sock.destroyed) return;
    sock.write(JSON.stringify(msg) + '\n');
  }

  private async serve(line: string, sock: Duplex): Promise<void> {
    if (this.gone.signal.aborted) return;
    let out: Record<string, unknown>;
    try {
      out = { ok: true, ...(await this.handle(line)) };
    } catch (e) {
      out = { ok: false, error: (e as Error).message };
    }
    this.reply(sock, out);
  }

  private async handle(line: string): Promise<Record<string, unknown>> {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      throw new Error(`stage request is not JSON: ${line.slice(0, 120)}`);
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new Error('stage request is not a JSON object');
    const m = msg as Record<string, unknown>;
    const name = m.name;
    if (typeof name !== 'string' || !NAME_RE.test(name) || name === RUN_STAGE) {
      throw new Error(`stage name ${JSON.stringify(name)}: letters, digits, '_' or '-', starting with a letter, and not "${RUN_STAGE}"`);
    }
    if (m.op === 'stage') return this.open(name, m);
    const e = this.byName.get(name);
    if (m.op === 'commit' || m.op === 'discard') {
      if (!e?.open) throw new Error(`${m.op}: stage "${name}" is not open in this run${e ? ' (it is stored already)' : ''}`);
      const { ref, material, corrupt } = e.open;
      const tmp = e.dir;
      e.open = undefined;
      if (m.op === 'discard') {
        this.byName.delete(name);
        this.store().discard(ref, tmp);
        return {};
      }
      try {
        e.dir = this.store().commit(ref, tmp, material);
      } catch (err) {
        this.byName.delete(name);
        throw new Error(`stage "${name}" could not be stored: ${(err as Error).message}`);
      }
      this.onStage?.({ ...ref, outcome: 'computed', runIds: [this.run.id], ...(corrupt ? { corrupt } : {}) });
      return { dir: e.dir };
    }
    throw new Error(`unknown stage request op ${JSON.stringify(m.op)} (expected "stage", "commit" or "discard")`);
  }

  private async open(name: string, m: Record<string, unknown>): Promise<Record<string, unknown>> {
    const inputs = m.inputs === undefined ? {} : m.inputs;
    const afterNames = m.after ?? [];
    if (!Array.isArray(afterNames) || !afterNames.every((a) => typeof a === 'string')) throw new Error(`stage "${name}": after is a list of stage names`);
    const after: Record<string, string> = {};
    for (const a of afterNames as string[]) {
      const up = this.byName.get(a);
      if (!up) throw new Error(`stage "${name}": after names "${a}", which this run has not opened (opened: ${[...this.byName.keys()].join(', ') || 'none'}); open the upstream stage first`);
      after[a] = up.key;
    }
    const code = m.code ?? undefined;
    if (code !== undefined && (!Array.isArray(code) || !code.every((c) => typeof c === 'string'))) throw new Error(`stage "${name}": code is a list of files, folders or patterns relative to cwd`);
    const codeHash = code === undefined ? (this.wholeProgram ??= stageCodeHashOf(this.run, undefined)) : stageCodeHashOf(this.run, code as string[]);
    const { key, material } = programStageKey({ runner: this.runner.name, version: this.runner.version, stage: name, inputs, after, code: codeHash });
    const had = this.byName.get(name);
    if (had) {
      if (had.key !== key) throw new Error(`stage "${name}" was opened already in this run with other inputs, upstream stages or code; give each stage of a run its own name (e.g. "${name}-2")`);
      if (had.open) throw new Error(`stage "${name}" is open already (leave its block, or commit it, first)`);
      return { key, dir: had.dir, done: true };
    }
    const ref: StageRef = { runner: this.runner.name, stage: name, key };
    const [a] = await this.store().acquire([ref], { signal: this.gone.signal });
    if (this.gone.signal.aborted) {
      // The program ended while this waited: nothing will fill the claim.
      if (a!.status === 'compute') this.store().discard(ref, a!.tmp);
      throw new Error('the program ended');
    }
    if (a!.status === 'stored') {
      this.byName.set(name, { key, dir: a!.dir });
      this.onStage?.({ ...ref, outcome: 'reused', runIds: [this.run.id] });
      return { key, dir: a!.dir, done: true };
    }
    this.byName.set(name, { key, dir: a!.tmp, open: { ref, material, ...(a!.corrupt ? { corrupt: a!.corrupt } : {}) } });
    return { key, dir: a!.tmp, done: false };
  }

  /** The program ended: give up waits, discard what it left open (its temporary folders, its claims). */
  async close(): Promise<void> {
    this.gone.abort();
    await this.queue.catch(() => {});
    for (const [name, e] of this.byName) {
      if (!e.open) continue;
      try {
        this.store().discard(e.open.ref, e.dir);
      } catch {
        /* removed already */
      }
      this.byName.delete(name);
    }
  }
}
