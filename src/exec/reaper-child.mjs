// The orphan watchdog (started by reaper.ts, one per sublab process that starts programs). Its
// stdin is a pipe from that process, carrying "+PGID" / "-PGID" lines as program process groups
// start and end. When the pipe closes, however sublab ended (a normal exit, a signal, kill -9),
// every process group still listed and every process carrying sublab's token is SIGKILLed.
import { killTokenHolders } from './token-scan.mjs';

const token = process.argv[2];
const groups = new Set();
let buf = '';
let reaped = false;

const killGroups = () => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
  }
};

const reap = () => {
  if (reaped) return;
  reaped = true;
  killGroups();
  if (token) killTokenHolders(token);
  // Once more a moment later: a program forking while it was being killed.
  setTimeout(() => {
    killGroups();
    if (token) killTokenHolders(token);
    process.exit(0);
  }, 200);
};

// Terminal signals belong to sublab, which decides what to stop; this process only outlives it.
for (const sig of ['SIGINT', 'SIGHUP']) process.on(sig, () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    const g = Number(line.slice(1));
    if (!Number.isInteger(g) || g <= 1) continue;
    if (line[0] === '+') groups.add(g);
    else if (line[0] === '-') groups.delete(g);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
