// Find and kill processes by a token in their environment (plain JavaScript: the orphan watchdog,
// reaper-child.mjs, runs it without tsx). Every program sublab starts carries SUBLAB_RUN_TOKEN, a
// space-separated list of tokens (one per sublab process above it, and one for its run); a
// program that leaves its process group (setsid, a daemon) keeps its environment, so on Linux
// /proc/<pid>/environ still finds it. Elsewhere (no /proc) nothing is found: process groups only.
import fs from 'node:fs';

export const TOKEN_VAR = 'SUBLAB_RUN_TOKEN';

/** Pids (not this process) whose environment's SUBLAB_RUN_TOKEN lists `token`. */
export function tokenHolders(token) {
  let names;
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found = [];
  const prefix = `${TOKEN_VAR}=`;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env;
    try {
      env = fs.readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue; // gone, or another user's process
    }
    for (const entry of env.split('\0')) {
      if (entry.startsWith(prefix) && entry.slice(prefix.length).split(' ').includes(token)) {
        found.push(pid);
        break;
      }
    }
  }
  return found;
}

/**
 * SIGKILL every process carrying `token`, scanning again until none is left (a daemon may fork
 * between a scan and its kill); gives up after `passes` scans. Returns how many were signalled.
 */
export function killTokenHolders(token, passes = 8) {
  let killed = 0;
  for (let i = 0; i < passes; i++) {
    const pids = tokenHolders(token);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return killed;
}
