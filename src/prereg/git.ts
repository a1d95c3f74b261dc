// What git knows about a lock: the commit each entry was first committed in, whether one commit
// comes before another, and the lock as committed at HEAD (so a deleted last line is noticed).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface LockGit {
  /** The first commit whose lock holds the entry; null when the entry is not committed. */
  entryCommit(entryHash: string): string | null;
  /** true when `ancestor` is `commit` or comes before it in history (false when unknown). */
  precedes(ancestor: string, commit: string): boolean;
  /** The lock's text at HEAD; null when it is not committed there. */
  headText(): string | null;
}

function git(cwd: string, args: string[], maxBuffer = 64 * 1024 * 1024): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer });
}

/** null when the lock's folder is not in a git work tree with a commit (or git is missing). */
export function lockGit(lockPath: string): LockGit | null {
  if (process.env.SUBLAB_NO_GIT) return null;
  const dir = path.dirname(path.resolve(lockPath));
  let root: string;
  try {
    root = git(dir, ['rev-parse', '--show-toplevel']).trim();
    git(dir, ['rev-parse', '--verify', '-q', 'HEAD']);
  } catch {
    return null;
  }
  const rel = path.relative(root, path.resolve(lockPath)).split(path.sep).join('/');
  let firstCommit: Map<string, string> | undefined;
  const ancestry = new Map<string, boolean>();
  return {
    entryCommit(entryHash) {
      if (!firstCommit) {
        firstCommit = new Map();
        try {
          // Oldest first; every added line of the lock, under the commit that added it.
          // -m: lines a merge commit adds (a conflict resolved by hand) count too, under the merge.
          const log = git(root, ['log', '--reverse', '-m', '--no-color', '--format=%x01%H', '-p', '--unified=0', '--', rel]);
          let commit = '';
          for (const line of log.split('\n')) {
            if (line.startsWith('\x01')) commit = line.slice(1).trim();
            else if (line.startsWith('+{') && commit) {
              const m = /"entryHash":"([0-9a-f]{64})"/.exec(line);
              if (m && !firstCommit.has(m[1]!)) firstCommit.set(m[1]!, commit);
            }
          }
        } catch {
          /* no history: nothing committed */
        }
      }
      return firstCommit.get(entryHash) ?? null;
    },
    precedes(ancestor, commit) {
      if (ancestor === commit) return true;
      const key = `${ancestor}..${commit}`;
      let v = ancestry.get(key);
      if (v === undefined) {
        try {
          git(root, ['merge-base', '--is-ancestor', ancestor, commit]);
          v = true;
        } catch {
          // Not an ancestor, or a commit this clone does not have: not proven.
          v = false;
        }
        ancestry.set(key, v);
      }
      return v;
    },
    headText() {
      try {
        return git(root, ['show', `HEAD:${rel}`]);
      } catch {
        return null;
      }
    },
  };
}

/** Where a file stands with git: what `sublab register` and the run-start check tell the user to commit. */
export type PathGitState = 'no-git' | 'committed' | 'changed' | 'untracked' | 'ignored';

/**
 * 'committed': tracked and identical to HEAD; 'changed': staged or modified (or the repository has
 * no commit yet); 'untracked', 'ignored' as git says; 'no-git': not in a work tree (or git missing,
 * or SUBLAB_NO_GIT set).
 */
export function pathGitState(file: string): PathGitState {
  if (process.env.SUBLAB_NO_GIT) return 'no-git';
  const abs = path.resolve(file);
  let out: string;
  try {
    out = git(path.dirname(abs), ['status', '--porcelain', '--ignored', '--untracked-files=all', '--', path.basename(abs)]);
  } catch {
    return 'no-git';
  }
  const code = out.split('\n').find((l) => l.length > 2)?.slice(0, 2);
  if (code === undefined) return 'committed';
  if (code === '!!') return 'ignored';
  if (code === '??') return 'untracked';
  return 'changed';
}

/** true when `dir` is inside a git work tree (false without git or with SUBLAB_NO_GIT). */
export function inGitWorkTree(dir: string): boolean {
  if (process.env.SUBLAB_NO_GIT) return false;
  try {
    return git(path.resolve(dir), ['rev-parse', '--is-inside-work-tree']).trim() === 'true';
  } catch {
    return false;
  }
}
