// The exact git command that commits a registration: `sublab register` prints it at the end, and
// the run-start check (run-guard.ts) repeats it when a run would start before it was run.
import path from 'node:path';
import { shellQuote } from '../exec/slurm.ts';
import { pathGitState, type PathGitState } from './git.ts';

export interface CommitHint {
  /** 'no-git': the lock is not in a git work tree, so nothing can be committed. */
  kind: 'no-git' | 'committed' | 'commit';
  /** For 'commit': the command line to run, paths relative to `cwd`. */
  command?: string;
  /** Paths to commit with their state (for the message). */
  paths: { path: string; state: PathGitState }[];
}

/**
 * What to commit so that `locks` (and the .exp files registered in them, when those have changes
 * of their own) are in git. Committing only these paths (`git commit -- PATHS`) leaves anything
 * else the user has staged out of the registration commit.
 */
export function commitHint(locks: readonly string[], expFiles: readonly string[], cwd = process.cwd(), message = 'Preregister predictions'): CommitHint {
  const states = locks.map((p) => ({ path: p, state: pathGitState(p) }));
  if (states.length === 0 || states.every((s) => s.state === 'no-git')) return { kind: 'no-git', paths: [] };
  const exps = [...new Set(expFiles.map((f) => path.resolve(f)))].map((p) => ({ path: p, state: pathGitState(p) }));
  const todo = [...states, ...exps].filter((s) => s.state !== 'committed' && s.state !== 'no-git');
  if (!states.some((s) => s.state !== 'committed' && s.state !== 'no-git')) return { kind: 'committed', paths: [] };
  const rel = (p: string) => shellQuote(path.relative(cwd, p) || '.');
  // An ignored lock can be committed, but only with -f (and it should not be ignored).
  const force = todo.some((s) => s.state === 'ignored') ? ' -f' : '';
  const list = todo.map((s) => rel(s.path)).join(' ');
  return { kind: 'commit', command: `git add${force} ${list} && git commit -m ${shellQuote(message)} -- ${list}`, paths: todo };
}
