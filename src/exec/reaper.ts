// Nothing sublab starts outlives it. Each sublab process that starts programs (the command
// runner's programs, the --jobs pool's children) first starts a small watchdog (reaper-child.mjs)
// holding a pipe from it: when that pipe closes — a normal exit, a signal, or kill -9, which no
// handler sees — the watchdog SIGKILLs the program process groups still running and, on Linux,
// every process whose environment carries this process's token (SUBLAB_RUN_TOKEN), which reaches
// programs that left their process group (setsid daemons) too. A run's own token lets its end
// kill what the run left behind the same way (killRunLeftovers).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killTokenHolders, TOKEN_VAR } from './token-scan.mjs';

const childEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reaper-child.mjs');

let token: string | undefined;
let watchdog: ChildProcess | undefined;

/** A fresh token: never reused, so a scan never reaches another run's or process's programs. */
export function newToken(): string {
  return `${process.pid}.${randomBytes(6).toString('hex')}`;
}

/**
 * Start this process's watchdog (once) and add this process's token to SUBLAB_RUN_TOKEN in its
 * environment, so every process it starts from now on carries it. Returns the token.
 */
export function ensureReaper(): string {
  // Once per process, even if the watchdog could not start (the exit hooks still cover a normal end).
  if (token) return token;
  token = newToken();
  const inherited = process.env[TOKEN_VAR]?.trim();
  process.env[TOKEN_VAR] = inherited ? `${inherited} ${token}` : token;
  try {
    // Its own process group: a Ctrl-C or hangup at the terminal is sublab's to handle, not its.
    watchdog = spawn(process.execPath, [childEntry, token], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.on('error', () => {
      watchdog = undefined; // no watchdog: the exit hooks below still cover a normal end
    });
    watchdog.stdin!.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  } catch {
    watchdog = undefined;
  }
  return token;
}

/** Tell the watchdog a program's process group started (+) or ended (−). */
export function trackGroup(pgid: number, live: boolean): void {
  if (!watchdog?.stdin?.writable) return;
  watchdog.stdin.write(`${live ? '+' : '-'}${pgid}\n`);
}

/** The SUBLAB_RUN_TOKEN value for a program of one run: this process's tokens and the run's. */
export function runTokenEnv(runToken: string): string {
  ensureReaper();
  return `${process.env[TOKEN_VAR]} ${runToken}`;
}

/** SIGKILL whatever still carries a finished run's token (its setsid daemons); Linux only. */
export function killRunLeftovers(runToken: string): number {
  return killTokenHolders(runToken);
}

export { TOKEN_VAR };
