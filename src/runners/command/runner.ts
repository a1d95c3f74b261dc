// The `command` runner: runs a user's own program once per run. Parameters go in as one JSON object
// on stdin (never spliced into a command line or a shell), result rows come back as JSON lines on
// stdout. Every failure names the run (id and seed) so a sweep's log says which run broke.
//
// From the run's context (RunContext), not its parameters: `expDir`, what a relative `cwd` is
// resolved against (the process's working directory when absent), and `measures`, the metrics
// every row must carry as numbers, else the run fails with "missing metric".
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import type { Value } from '../../language/ast.ts';
import type { Runner, RunContext, RunOutput, RunOutputRow } from '../schema.ts';
import type { TypedRunSpec } from '../define.ts';
import { duplicateTopLevelKey } from '../../util/json-duplicates.ts';
import { has, record } from '../../util/records.ts';
import { killRunLeftovers, newToken, runTokenEnv, trackGroup, TOKEN_VAR } from '../../exec/reaper.ts';
import { commandSchema, type CommandParams } from './schema.ts';
import { programEnv } from '../../protocol/env.ts';
import { lazyContextStore, type StageStore } from '../../exec/stages.ts';
import { StageChannel, STAGE_FD_VAR } from './stage-channel.ts';

/** Most stderr kept in a run's extras: its head and its tail, the middle elided. */
const STDERR_HEAD = 4 * 1024;
const STDERR_TAIL = 28 * 1024;
/** Grace period between SIGTERM and SIGKILL on timeout or cancel. */
const KILL_GRACE_MS = 2000;
/** How long stdout/stderr may stay open after the program exited (held by its descendants). */
const PIPE_GRACE_MS = 500;
const MB = 1024 * 1024;
/** Most a run may print on stdout before it is stopped (parameter max_output_mb). */
export const DEFAULT_MAX_OUTPUT_MB = 16;

/** max_output_mb in bytes (its bounds are declared; 0 means the default). */
function outputLimitBytes(p: CommandParams): number {
  return (p.max_output_mb > 0 ? p.max_output_mb : DEFAULT_MAX_OUTPUT_MB) * MB;
}

/** Process groups of programs still running, and their runs' tokens; killed if sublab exits while they run. */
const liveGroups = new Set<number>();
const liveTokens = new Set<string>();
process.on('exit', () => {
  for (const g of liveGroups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  // What left the group (setsid daemons); kill -9 of sublab is the watchdog's (exec/reaper.ts).
  for (const t of liveTokens) killRunLeftovers(t);
});

export type CommandErrorKind = 'config' | 'spawn' | 'timeout' | 'exit' | 'json' | 'no-rows' | 'missing-metric' | 'cancelled' | 'output';

export class CommandRunError extends Error {
  constructor(
    message: string,
    readonly kind: CommandErrorKind,
    readonly runId: string,
    readonly seed: number,
    readonly stderr?: string,
  ) {
    super(message);
    this.name = 'CommandRunError';
  }
}

/** Keep the head and tail of long stderr, saying how much was cut. */
export function truncateMiddle(text: string, head = STDERR_HEAD, tail = STDERR_TAIL): string {
  if (text.length <= head + tail) return text;
  const cut = text.length - head - tail;
  return `${text.slice(0, head)}\n[... ${cut} characters of stderr elided ...]\n${text.slice(text.length - tail)}`;
}

function lastLines(text: string, n = 15, maxChars = 2000): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  const tail = lines.slice(-n).join('\n');
  return tail.length > maxChars ? '…' + tail.slice(tail.length - maxChars) : tail;
}

function shorten(s: string, max = 200): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** The program's argv: `command` split on whitespace, no shell, no quoting rules. */
export function splitCommand(command: string): string[] {
  return command.split(/\s+/).filter((s) => s.length > 0);
}

/** What the program reads on stdin: every parameter, declared or not, with the run's seed. */
export function programInput(params: Readonly<Record<string, Value>>, seed: number): Record<string, Value> {
  return { ...params, seed };
}

/**
 * One stdout line as JSON. Python's json.dumps writes NaN, Infinity and -Infinity for non-finite
 * floats: they are read as those numbers (outside strings), so such a metric counts as unusable
 * instead of failing the run.
 */
export function parseRowLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (first) {
    if (!/NaN|Infinity/.test(line)) throw first;
    const NAN = '\u0000sublab:NaN';
    // Outside string literals only: split on them and rewrite the pieces between.
    const text = line.replace(/("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g, (m, str: string | undefined) => {
      if (str !== undefined) return str;
      return m === 'NaN' ? JSON.stringify(NAN) : m.startsWith('-') ? '-1e999' : '1e999';
    });
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw first;
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) if (x === NAN) (v as Record<string, unknown>)[k] = NaN;
    }
    return v;
  }
}

/** After a line that is not a row, most often a stray print. */
const NOT_A_ROW_HINT = ' (stdout is for result rows, one JSON object a line: send messages to stderr, e.g. with sublab.log(...) from the Python or JavaScript helper; docs/protocol.md)';

/**
 * Parse stdout as JSON lines. Blank lines are skipped; every other line must be a JSON object whose
 * fields are numbers (metrics; NaN and ±Infinity included) or strings/booleans (key columns).
 * Throws a plain message on the first bad line (the edges name the run).
 */
export function parseRows(stdout: string, measures: readonly string[] = [], problems: string[] = []): RunOutputRow[] {
  const rows: RunOutputRow[] = [];
  const lines = stdout.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `stdout line ${i + 1}`;
    let obj: unknown;
    try {
      obj = parseRowLine(line);
    } catch (e) {
      throw new RowError('json', `${where} is not valid JSON (${(e as Error).message}): ${shorten(line, 120)}${NOT_A_ROW_HINT}`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new RowError('json', `${where} is not a JSON object (expected {"metric": number, ...}): ${shorten(line, 120)}${NOT_A_ROW_HINT}`);
    }
    // Null-prototype records: a column may be named "__proto__" or "constructor".
    const metrics = record<number>();
    const keys = record<Value>();
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (typeof v === 'number') metrics[k] = v;
      else if (typeof v === 'string' || typeof v === 'boolean') keys[k] = v;
      else throw new RowError('json', `${where}: field "${k}" is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object'}; fields must be numbers (metrics) or strings/booleans (keys): ${shorten(line)}`);
    }
    for (const mname of measures) {
      if (!has(metrics, mname)) {
        const why = has(keys, mname) ? `is not a number (${JSON.stringify(keys[mname])})` : 'is missing';
        throw new RowError('missing-metric', `${where}: metric "${mname}" ${why}; the row has metrics ${Object.keys(metrics).join(', ') || '(none)'}`);
      }
    }
    // A key given twice ({"y": 0.1, "y": 0.9}) is ambiguous: the row is kept but unusable (its
    // metrics NaN, counted as such by the verdicts), and the run's extras say why.
    const dup = duplicateTopLevelKey(line);
    if (dup !== undefined) {
      for (const k of Object.keys(metrics)) metrics[k] = NaN;
      problems.push(`${where}: field "${dup}" appears twice; the row is not used: ${shorten(line)}`);
    }
    rows.push({
      metrics,
      ...(Object.keys(keys).length > 0 ? { keys } : {}),
      ...(dup !== undefined ? { unusable: { reason: 'duplicate key', detail: `field "${dup}" appears twice (${where})` } } : {}),
    });
  });
  return rows;
}

class RowError extends Error {
  constructor(
    readonly kind: CommandErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** What the program did: exit, its output (bounded), and why it was stopped, if it was. */
interface ProgramResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  overflow: boolean;
  lingered: boolean;
}

interface Launch {
  program: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  input: string;
  timeoutS: number;
  maxOutput: number;
}

/** stdout up to the limit (then `onOverflow`), stderr as roughly its head and a generous tail. */
function collectOutput(child: ChildProcessByStdio<Writable, Readable, Readable>, maxOutput: number, onOverflow: () => void) {
  const out: Buffer[] = [];
  let outLen = 0;
  const err: Buffer[] = [];
  let errLen = 0;
  let overflow = false;
  child.stdout.on('data', (d: Buffer) => {
    if (overflow) return;
    outLen += d.length;
    if (outLen > maxOutput) {
      // Bounded memory: stop reading and end the run.
      overflow = true;
      onOverflow();
      return;
    }
    out.push(d);
  });
  child.stderr.on('data', (d: Buffer) => {
    err.push(d);
    errLen += d.length;
    // Bound memory for chatty programs: keep roughly the head and a generous tail.
    if (errLen > 8 * (STDERR_HEAD + STDERR_TAIL) && err.length > 2) {
      const all = Buffer.concat(err).toString('utf8');
      err.length = 0;
      const kept = truncateMiddle(all);
      err.push(Buffer.from(kept));
      errLen = kept.length;
    }
  });
  return {
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    overflowed: () => overflow,
  };
}

/**
 * Runs the program in its own process group (detached), so a timeout, a cancel or the end of the
 * run reaches every process it started, not just the program itself; the run's token in its
 * environment reaches what leaves the group (exec/reaper.ts).
 */
function runProgram(l: Launch, ctx: RunContext, stages: StageChannel, fail: (kind: CommandErrorKind, msg: string) => CommandRunError): Promise<ProgramResult> {
  return new Promise<ProgramResult>((resolve, reject) => {
    const runToken = newToken();
    const child = spawn(l.program, l.args, { cwd: l.cwd, shell: false, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true, env: { ...l.env, [STAGE_FD_VAR]: '3', [TOKEN_VAR]: runTokenEnv(runToken) } });
    const control = child.stdio[3] as Duplex | null;
    if (control) stages.attach(control);
    const group = child.pid;
    liveTokens.add(runToken);
    if (group !== undefined) {
      liveGroups.add(group);
      trackGroup(group, true);
    }
    const forget = (): void => {
      if (group !== undefined) {
        liveGroups.delete(group);
        trackGroup(group, false);
      }
      killRunLeftovers(runToken);
      liveTokens.delete(runToken);
    };
    let timedOut = false;
    let cancelled = false;
    let lingered = false;
    let settled = false;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let pipeTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      if (group === undefined) return;
      try {
        process.kill(-group, sig);
      } catch {
        // ESRCH: the whole group is gone already.
      }
    };
    const kill = (first: NodeJS.Signals = 'SIGTERM'): void => {
      killGroup(first);
      if (first !== 'SIGTERM') setTimeout(() => killGroup('SIGTERM'), 200).unref();
      killTimer ??= setTimeout(() => {
        killGroup('SIGKILL');
        // The program is dead; only descendants still holding the pipes can keep them open.
        finish();
      }, KILL_GRACE_MS);
    };
    const output = collectOutput(child, l.maxOutput, () => kill());
    const timer = l.timeoutS > 0 ? setTimeout(() => { timedOut = true; kill(); }, l.timeoutS * 1000) : undefined;
    // Ctrl-C: the program is in its own process group, so the terminal's SIGINT no longer reaches
    // it; forward it, then escalate as on a timeout.
    const onAbort = (): void => { cancelled = true; kill('SIGINT'); };
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      for (const t of [timer, killTimer, pipeTimer]) if (t) clearTimeout(t);
      ctx.signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const finish = (): void => {
      if (!settle()) return;
      // Whatever the program left behind in its group ends with the run.
      killGroup('SIGKILL');
      forget();
      child.stdout.destroy();
      child.stderr.destroy();
      control?.destroy();
      const info = exitInfo ?? { code: child.exitCode, signal: child.signalCode };
      resolve({ ...info, stdout: output.stdout(), stderr: output.stderr(), timedOut, cancelled, overflow: output.overflowed(), lingered });
    };
    // A program that never reads stdin closes the pipe: not an error of the run.
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (!settle()) return;
      forget();
      control?.destroy();
      const hint = e.code === 'ENOENT' ? ` (is "${l.program}" installed and on PATH?)` : e.code === 'EACCES' ? ' (is it executable?)' : '';
      reject(fail('spawn', `could not start "${l.program}": ${e.code ?? e.message}${hint}`));
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      // Descendants may still hold stdout/stderr open: wait a short grace for the pipes, then stop.
      pipeTimer = setTimeout(() => {
        lingered = true;
        finish();
      }, PIPE_GRACE_MS);
    });
    child.on('close', () => finish());
    child.stdin.end(l.input);
  });
}

/** The run's working directory: `cwd` relative to the .exp file, which must be a directory. */
function runDirectory(cwdParam: string, ctx: RunContext, fail: (kind: CommandErrorKind, msg: string) => CommandRunError): string {
  const cwd = path.resolve(ctx.expDir ?? process.cwd(), cwdParam);
  try {
    const st = statSync(cwd);
    if (!st.isDirectory()) throw fail('config', `cwd ${cwd} is not a directory (parameter cwd = ${JSON.stringify(cwdParam)}, relative to the .exp file)`);
  } catch (e) {
    if (e instanceof CommandRunError) throw e;
    throw fail('config', `cwd ${cwd} does not exist (parameter cwd = ${JSON.stringify(cwdParam)}, relative to the .exp file)`);
  }
  return cwd;
}

async function runOne(spec: TypedRunSpec<CommandParams>, ctx: RunContext, stageStore: () => StageStore): Promise<RunOutput> {
  // The message is the raw error: the edges (CLI, Vitest, reports) name the run (failureText).
  const fail = (kind: CommandErrorKind, msg: string, stderr?: string): CommandRunError => new CommandRunError(msg, kind, spec.id, spec.seed, stderr);

  const p = spec.params;
  const command = p.command;
  if (splitCommand(command).length === 0) {
    throw fail('config', 'parameter "command" is empty: set command = "python3 train.py" (program and arguments, no shell)');
  }
  const [program, ...args] = splitCommand(command);
  const cwd = runDirectory(p.cwd, ctx, fail);
  const timeoutS = p.timeout;
  const measures = ctx.measures ?? [];
  const maxOutput = outputLimitBytes(p);
  const started = performance.now();
  // The program's stages (sublab.stage(...)), asked for on fd 3: keys, store, recording.
  const stages = new StageChannel({ id: spec.id, command, cwd, inputs: p.inputs }, stageStore, { name: commandSchema.name, version: commandSchema.version }, ctx.onStage);
  const result = await runProgram({
    program: program!, args, cwd, timeoutS, maxOutput,
    input: JSON.stringify(programInput(p, spec.seed)) + '\n',
    // PYTHONPATH (`import sublab`), the helpers' location, the protocol version, the run.
    env: programEnv(process.env, spec),
  }, ctx, stages, fail).finally(() => stages.close());

  const wallS = (performance.now() - started) / 1000;
  const stderr = truncateMiddle(result.stderr);
  const tail = result.stderr.trim() ? `\n--- last lines of stderr ---\n${lastLines(result.stderr)}` : ' (stderr was empty)';
  if (result.cancelled) throw fail('cancelled', `cancelled after ${wallS.toFixed(1)} s`, stderr);
  if (result.overflow) {
    throw fail('output', `printed more than ${maxOutput / MB} MB on stdout (parameter max_output_mb; default ${DEFAULT_MAX_OUTPUT_MB}); the program was stopped`, stderr);
  }
  if (result.timedOut) throw fail('timeout', `timed out after ${timeoutS} s (parameter timeout); the program was killed${tail}`, stderr);
  if (result.code !== 0) {
    const how = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    throw fail('exit', `"${command}" ${how}${tail}`, stderr);
  }
  let rows: RunOutputRow[];
  const rowProblems: string[] = [];
  try {
    rows = parseRows(result.stdout, measures, rowProblems);
  } catch (e) {
    if (e instanceof RowError) throw fail(e.kind, e.message, stderr);
    throw e;
  }
  if (rows.length === 0) {
    throw fail('no-rows', `"${command}" printed no result rows on stdout (expected JSON lines like {"accuracy": 0.93})${tail}`, stderr);
  }
  return { rows, backend: 'external', extras: { stderr, wall_s: wallS, command: [program, ...args], ...(rowProblems.length ? { row_problems: rowProblems } : {}) } };
}

export const runner: Runner = commandSchema.implement({
  async run(specs, ctx) {
    const outputs: RunOutput[] = [];
    // The executor's stage store, or a temporary one for this call (no result cache).
    const store = lazyContextStore(ctx);
    try {
      for (const [i, spec] of specs.entries()) {
        ctx.progress({ phase: 'command', done: i, total: specs.length, detail: spec.id });
        outputs.push(await runOne(spec, ctx, store.get));
      }
    } finally {
      store.close();
    }
    ctx.progress({ phase: 'command', done: specs.length, total: specs.length });
    return outputs;
  },
  // Each run is its own process: let the executor's worker pool spread them.
  maxGroup: () => 1,
});
