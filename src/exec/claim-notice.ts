// The one message for waiting on work another process claimed (a run in the result cache, a stage
// artifact in the stage store): who holds it, since when, when it is taken over, how to take it
// over now.
import type { ClaimInfo } from './cache.ts';

const clock = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** `what`: e.g. "run 1a2b3c4d5e6f (lr = 0.1, seed 3)" or "stage teacher artifact 9f8e7d6c5b4a". */
export function claimWaitNotice(what: string, c: ClaimInfo, ttlMs: number, claimFile: string, others = 0): string {
  const ago = Math.max(0, Math.round((Date.now() - c.time) / 1000));
  return (
    `waiting for ${what}${others ? ` and ${others} more` : ''}: claimed by process ${c.pid} on host ${c.host} ` +
    `(claim last refreshed ${clock(c.time)}, ${ago} s ago). It is taken over when that process is gone or its claim is not refreshed ` +
    `for ${Math.round(ttlMs / 1000)} s (at ${clock(c.time + ttlMs)}); if no sublab is computing it, ` +
    `delete ${claimFile} to take it over now.`
  );
}
