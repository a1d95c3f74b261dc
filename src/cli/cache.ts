// `sublab cache ls|verify|gc`: look after the result cache.
import path from 'node:path';
import { ResultCache, resolveCacheDir, type CacheEntry } from '../exec/cache.ts';
import { shortKey, StageStore } from '../exec/stages.ts';
import { common, defineCommand, type CommandSpec, type Parsed } from './args.ts';
import { UsageError } from './command.ts';
import { humanBytes } from '../util/bytes.ts';

const spec = {
  name: 'cache',
  synopsis: 'ls|verify|gc [--cache DIR]',
  summary: 'list, verify or clean the result cache',
  description: `  ls       list cached runs (runner, seed, size, finished) and any invalid entry, then the
           stage artifacts (runner/stage, key, size, age, the runs that used them)
  verify   check every entry's and every stage artifact's checksums; exit 1 when any is corrupt
  gc       remove corrupt entries and artifacts, stale claims, leftover temp files and the
           unfinished artifacts of processes that are gone`,
  options: { cache: { ...common.cache, help: 'the cache (default $SUBLAB_CACHE, else .sublab/cache in the current project)' } },
  positionals: { min: 1, max: 1, missing: 'which: ls, verify or gc?' },
} satisfies CommandSpec;

/** "40s", "12m", "5h", "3d": how long ago an ISO time was. */
function age(iso: string | undefined): string {
  const ms = iso ? Date.now() - Date.parse(iso) : NaN;
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

export function cacheCommand(args: string[]): Promise<number> {
  return command.run(args);
}

function cacheMain({ values, positionals }: Parsed<typeof spec.options>): number {
  const [sub] = positionals;
  if (!['ls', 'verify', 'gc'].includes(sub!)) throw new UsageError(`unknown cache command "${sub}": expected ls, verify or gc`);
  const dir = values.cache;
  const cache = new ResultCache(resolveCacheDir(dir));
  const store = new StageStore(path.join(cache.dir, 'stages'));
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
    listStages(store, items.flatMap((it) => (it.entry ? [it.entry] : [])));
    return 0;
  }
  if (sub === 'verify') {
    const r = cache.verify();
    for (const c of r.corrupt) out.write(`corrupt: ${c.file} (${c.reason})\n`);
    for (const f of cache.foreign()) out.write(`not a sublab entry (name is no run id): ${f}\n`);
    out.write(`${r.ok} valid, ${r.corrupt.length} corrupt in ${cache.dir}${r.corrupt.length ? ' (sublab cache gc removes them)' : ''}\n`);
    const { items } = store.list();
    const bad = items.filter((it) => it.problem);
    for (const it of bad) out.write(`corrupt stage artifact: ${it.dir} (${it.problem})\n`);
    if (items.length) out.write(`${items.length - bad.length} valid, ${bad.length} corrupt stage artifact${items.length === 1 ? '' : 's'} in ${store.root}${bad.length ? ' (sublab cache gc removes them; runs that need them recompute them)' : ''}\n`);
    return r.corrupt.length || bad.length ? 1 : 0;
  }
  const r = cache.gc();
  const s = store.gc();
  const removed = [...r.removed, ...s.removed];
  for (const x of removed) out.write(`removed ${x.file} (${x.reason})\n`);
  out.write(`${removed.length} file${removed.length === 1 ? '' : 's'} removed from ${cache.dir}\n`);
  return 0;
}

/** The stage artifacts: which stage, short key, size, age, and the cached runs that used each. */
function listStages(store: StageStore, entries: readonly CacheEntry[]): void {
  const out = process.stdout;
  const { items, foreign } = store.list();
  if (!items.length && !foreign.length) return;
  const users = new Map<string, string[]>();
  for (const e of entries) for (const [name, key] of Object.entries(e.stages ?? {})) {
    // A second artifact of a stage is recorded as `<stage>:<role>` (a cross-init student's base).
    const k = `${e.runner}/${name.split(':')[0]}/${key}`;
    (users.get(k) ?? users.set(k, []).get(k)!).push(e.id.slice(0, 12));
  }
  let total = 0;
  out.write('stage artifacts:\n');
  for (const it of items) {
    total += it.bytes;
    const name = `${it.ref.runner}/${it.ref.stage}`;
    if (it.problem) {
      out.write(`${name.padEnd(22)} ${shortKey(it.ref.key)}  INVALID (${it.problem})  ${it.dir}\n`);
      continue;
    }
    const by = users.get(`${name}/${it.ref.key}`) ?? [];
    const used = by.length ? `used by ${by.length} run${by.length === 1 ? '' : 's'}: ${by.slice(0, 4).join(' ')}${by.length > 4 ? ' …' : ''}` : 'used by no cached run';
    out.write(`${name.padEnd(22)} ${shortKey(it.ref.key)}  ${humanBytes(it.bytes).padStart(10)}  ${age(it.manifest?.createdAt).padStart(4)} old  ${used}\n`);
  }
  // Files of other caches under stages/ (mlp_distill's teachers before issue 21), counted per folder.
  const byDir = new Map<string, number>();
  for (const f of foreign) byDir.set(path.dirname(f), (byDir.get(path.dirname(f)) ?? 0) + 1);
  for (const [d, n] of byDir) out.write(`${n} name${n === 1 ? '' : 's'} in ${d} not stage artifacts (left alone)\n`);
  out.write(`${items.length} stage artifact${items.length === 1 ? '' : 's'}, ${humanBytes(total)} in ${store.root}\n`);
}

export const command = defineCommand(spec, cacheMain);
