// A runner's stage declaration, checked and hashed when the runner is defined. Kept apart from the
// store (exec/stages.ts) so that the public API (`defineRunner`, imported by users' runner modules,
// also from CommonJS projects) loads no more than it needs: the store pulls in the cache and
// ESM-only packages.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ParamSpec, RunnerSchema, StageSchema } from './schema.ts';
import { sourceGraph } from '../util/source-graph.ts';

export const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** The pseudo-stage of parameters only the run's own computation reads. */
export const RUN_STAGE = 'run';

/** The stages a parameter declares it feeds. */
export function stagesOfParam(p: ParamSpec): string[] {
  return p.stage === undefined ? [] : typeof p.stage === 'string' ? [p.stage] : [...p.stage];
}

/**
 * Problems of a runner's stage declaration (defineRunner refuses a runner with any): unknown or
 * duplicate names, an `after` naming a stage not declared before it, a parameter naming no
 * declared stage, and — the completeness rule — a parameter of a staged runner that declares no
 * stage (every one but `seed` and executionOnly ones must say which stage first reads it, or 'run').
 */
export function stageDeclarationProblems(schema: Pick<RunnerSchema, 'name' | 'params' | 'stages'>): string[] {
  const out: string[] = [];
  const stages = schema.stages ?? [];
  const seen = new Set<string>();
  for (const s of stages) {
    if (!NAME_RE.test(s.name) || s.name === RUN_STAGE) out.push(`stage name "${s.name}" must be letters, digits, '_' or '-' (starting with a letter) and not "${RUN_STAGE}"`);
    if (seen.has(s.name)) out.push(`stage "${s.name}" is declared twice`);
    for (const a of s.after ?? []) if (!seen.has(a)) out.push(`stage "${s.name}" comes after "${a}", which is not a stage declared before it`);
    if (!Array.isArray(s.code) || s.code.length === 0) out.push(`stage "${s.name}" names no code (the modules that compute it)`);
    seen.add(s.name);
  }
  for (const p of schema.params) {
    const named = stagesOfParam(p);
    if (stages.length === 0) {
      if (named.length) out.push(`parameter "${p.name}" declares stage "${named.join(', ')}" but the runner declares no stages`);
      continue;
    }
    for (const n of named) if (n !== RUN_STAGE && !seen.has(n)) out.push(`parameter "${p.name}" declares stage "${n}", which is not declared (stages: ${[...seen].join(', ')}; or "${RUN_STAGE}")`);
    if (named.length === 0 && p.name !== 'seed' && !p.executionOnly) {
      out.push(`parameter "${p.name}" declares no stage: say which stage first reads it (stage: '${stages[0]!.name}'${stages.length > 1 ? ', …' : ''}) or stage: '${RUN_STAGE}' if only the run after the stages does`);
    }
  }
  return out;
}

const codeHashes = new WeakMap<StageSchema, string>();
/**
 * sha256 over the source files the stage's code reaches, once per process: the code a process
 * runs is the code it loaded, so an edit made while it runs must not re-key what it computes
 * (`implement` hashes a runner's stages when its module loads; planning hashes on first use).
 */
export function stageCodeHash(stage: StageSchema): string {
  let h = codeHashes.get(stage);
  if (h === undefined) {
    const entries = stage.code.map((c) => (c instanceof URL ? fileURLToPath(c) : path.resolve(c)));
    h = sourceGraph(entries).hash;
    codeHashes.set(stage, h);
  }
  return h;
}
