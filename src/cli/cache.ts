// `sublab cache ls|verify|gc`: look after the result cache.
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { UsageError, type Command } from './command.ts';

const usage = `usage: sublab cache ls|verify|gc [--cache DIR]

  ls       list cached runs (runner, seed, size, finished) and any invalid entry
  verify   check every entry's checksum; exit 1 when any is corrupt
  gc       remove corrupt entries, stale claims and leftover temp files

The cache is --cache DIR, else $SUBLAB_CACHE, else .sublab/cache in the current project.`;

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export async function cacheCommand(args: string[]): Promise<number> {
  let sub: string | undefined;
  let dir: string | undefined;
  try {
    const rest = [...args];
    while (rest.length) {
      const a = rest.shift()!;
      if (a === '--cache') {
        dir = rest.shift();
        if (!dir) throw new UsageError('--cache needs a directory');
      } else if (a.startsWith('--cache=')) dir = a.slice(8);
      else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
      else if (sub === undefined) sub = a;
      else throw new UsageError(`unexpected argument "${a}"`);
    }
    if (sub === undefined) throw new UsageError('which: ls, verify or gc?');
    if (!['ls', 'verify', 'gc'].includes(sub)) throw new UsageError(`unknown cache command "${sub}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`sublab cache: ${e.message}\n\n${usage}\n`);
      return 2;
    }
    throw e;
  }
  const cache = new ResultCache(resolveCacheDir(dir));
  const out = process.stdout;
  if (sub === 'ls') {
    const items = cache.list();
    let total = 0;
    for (const it of items) {
      total += it.bytes;
      if (it.entry) {
        out.write(`${it.id}  ${it.entry.runner.padEnd(14)} seed ${String(it.entry.seed).padEnd(5)} ${human(it.bytes).padStart(10)}  ${it.entry.finishedAt}\n`);
      } else out.write(`${it.id}  INVALID (${it.problem})  ${it.file}\n`);
    }
    for (const f of cache.foreign()) out.write(`not a sublab entry (name is no run id): ${f}\n`);
    out.write(`${items.length} entr${items.length === 1 ? 'y' : 'ies'}, ${human(total)} in ${cache.dir}\n`);
    return 0;
  }
  if (sub === 'verify') {
    const r = cache.verify();
    for (const c of r.corrupt) out.write(`corrupt: ${c.file} (${c.reason})\n`);
    for (const f of cache.foreign()) out.write(`not a sublab entry (name is no run id): ${f}\n`);
    out.write(`${r.ok} valid, ${r.corrupt.length} corrupt in ${cache.dir}${r.corrupt.length ? ' (sublab cache gc removes them)' : ''}\n`);
    return r.corrupt.length ? 1 : 0;
  }
  const r = cache.gc();
  for (const x of r.removed) out.write(`removed ${x.file} (${x.reason})\n`);
  out.write(`${r.removed.length} file${r.removed.length === 1 ? '' : 's'} removed from ${cache.dir}\n`);
  return 0;
}

export const command: Command = {
  summary: 'list, verify or clean the result cache',
  usage,
  run: cacheCommand,
};
