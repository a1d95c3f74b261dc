// `sublab cache ls|verify|gc`: look after the result cache.
import { ResultCache, resolveCacheDir } from '../exec/cache.ts';
import { common, defineCommand, type CommandSpec, type Parsed } from './args.ts';
import { UsageError } from './command.ts';
import { humanBytes } from '../util/bytes.ts';

const spec = {
  name: 'cache',
  synopsis: 'ls|verify|gc [--cache DIR]',
  summary: 'list, verify or clean the result cache',
  description: `  ls       list cached runs (runner, seed, size, finished) and any invalid entry
  verify   check every entry's checksum; exit 1 when any is corrupt
  gc       remove corrupt entries, stale claims and leftover temp files`,
  options: { cache: { ...common.cache, help: 'the cache (default $SUBLAB_CACHE, else .sublab/cache in the current project)' } },
  positionals: { min: 1, max: 1, missing: 'which: ls, verify or gc?' },
} satisfies CommandSpec;

export function cacheCommand(args: string[]): Promise<number> {
  return command.run(args);
}

function cacheMain({ values, positionals }: Parsed<typeof spec.options>): number {
  const [sub] = positionals;
  if (!['ls', 'verify', 'gc'].includes(sub!)) throw new UsageError(`unknown cache command "${sub}": expected ls, verify or gc`);
  const dir = values.cache;
  const cache = new ResultCache(resolveCacheDir(dir));
  const out = process.stdout;
  if (sub === 'ls') {
    const items = cache.list();
    let total = 0;
    for (const it of items) {
      total += it.bytes;
      if (it.entry) {
        out.write(`${it.id}  ${it.entry.runner.padEnd(14)} seed ${String(it.entry.seed).padEnd(5)} ${humanBytes(it.bytes).padStart(10)}  ${it.entry.finishedAt}\n`);
      } else out.write(`${it.id}  INVALID (${it.problem})  ${it.file}\n`);
    }
    for (const f of cache.foreign()) out.write(`not a sublab entry (name is no run id): ${f}\n`);
    out.write(`${items.length} entr${items.length === 1 ? 'y' : 'ies'}, ${humanBytes(total)} in ${cache.dir}\n`);
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

export const command = defineCommand(spec, cacheMain);
