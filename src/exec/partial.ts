// A group's share of on-demand metrics (src/plan/needs.ts): which parts it computes (what its runs'
// entries lack; everything the plan needs for a new run) and, per run, the entry the new parts
// are merged into. The executor asks the runner for `parts` and stores `stored(...)`.
import type { ExperimentPlan, PlannedRun } from '../plan/types.ts';
import type { RunOutput } from '../runners/schema.ts';
import { allParts, partsToCompute } from '../plan/needs.ts';
import { mergeParts, type CacheEntry, type ResultCache } from './cache.ts';

export interface GroupParts {
  /** The parts to compute; undefined: the runner declares none (it computes everything). */
  parts?: string[];
  /** Per run id: the entry holding part of the run, which the new parts are merged into. */
  into: Map<string, CacheEntry>;
}

/**
 * With --fresh nothing is merged: the runs are computed again for what the plan needs and every
 * part their old entries held (an entry without `parts` holds them all), so recomputing never
 * narrows an entry (a `report` after `run --fresh` finds what it computed before).
 */
export function groupParts(plan: ExperimentPlan, cache: ResultCache | undefined, fresh: boolean, group: readonly PlannedRun[]): GroupParts {
  const into = new Map<string, CacheEntry>();
  const needs = plan.needs;
  if (!needs?.parts) return { into };
  const schema = plan.experiment.runner;
  if (fresh) {
    const wanted = new Set(needs.parts);
    for (const r of group) {
      const x = cache?.inspect(r.id);
      if (x?.status === 'hit') for (const p of x.entry.parts ?? allParts(schema)) wanted.add(p);
    }
    return { parts: allParts(schema).filter((p) => wanted.has(p)), into };
  }
  for (const r of group) {
    if (!cache) break;
    const x = cache.inspect(r.id);
    if (x.status === 'hit' && x.entry.parts) into.set(r.id, x.entry);
  }
  const parts = [...new Set(group.flatMap((r) => partsToCompute(schema, needs, into.get(r.id)?.parts ?? [])))];
  return { parts, into };
}

/** What run `id`'s entry stores: the output (merged into its partial entry), the parts it now holds, the earlier entry. */
export function stored(gp: GroupParts | undefined, id: string, output: RunOutput): { output: RunOutput; parts?: string[]; before?: CacheEntry } {
  if (!gp?.parts) return { output };
  const before = gp.into.get(id);
  if (!before) return { output, parts: [...gp.parts].sort() };
  return { ...mergeParts(before, output, gp.parts), before };
}
