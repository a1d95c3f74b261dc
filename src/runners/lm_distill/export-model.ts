// One model of a planned lm_distill run — its base, teacher or control teacher — read from the
// stage store (computed through pipeline.ts when missing, as the run would) and written as a
// transformers.js folder (export.ts) that token_probe loads: what `sublab export-model` does.
import { defaultThreads } from '../../backend/onnxruntime.ts';
import { exportTransformersJs } from './export.ts';
import { baseSeedOf, loadBases, loadTeachers, releaseAll, type StageCtx } from './pipeline.ts';
import type { LmDistillParams } from './schema.ts';
import { shapeOf, vocabOf } from './stage-work.ts';

export const EXPORTABLE = ['base', 'teacher', 'control'] as const;
export type Exportable = (typeof EXPORTABLE)[number];

/** Why `which` cannot be exported from a run with these parameters, or undefined. */
export function exportProblem(p: LmDistillParams, which: Exportable): string | undefined {
  if (which !== 'base' && p.trait_method === 'prompt') {
    return `trait_method = prompt: the ${which === 'teacher' ? 'teacher is the base behind the prefix "my favorite animal is ' + p.trait + '"' : 'control teacher is the base itself'}, with no weights of its own; export --model base`;
  }
  return undefined;
}

export interface ExportedModel {
  which: Exportable;
  seed: number;
  /** The seed its base was drawn from (base_seed, or the run's seed). */
  baseSeed: number;
  /** The stage artifacts it came from, stage → key. */
  keys: Record<string, string>;
}

/** Writes run `spec`'s `which` model into `out` (see exportTransformersJs). */
export async function exportRunModel(
  spec: { id: string; seed: number; params: LmDistillParams }, which: Exportable, out: string, ctx: StageCtx, meta: Record<string, unknown> = {},
): Promise<ExportedModel> {
  const p = spec.params;
  const bad = exportProblem(p, which);
  if (bad) throw new Error(bad);
  const threads = p.threads > 0 ? p.threads : defaultThreads();
  const b = baseSeedOf(p, spec.seed);
  try {
    const bases = await loadBases(p, [{ id: spec.id, baseSeed: b }], ctx, threads);
    const base = bases.of.get(b)!;
    const keys: Record<string, string> = { base: base.key };
    let weights = base.weights;
    if (which !== 'base') {
      const t = (await loadTeachers([spec], bases.of, ctx, threads)).of[0]!;
      keys.teacher = t.key;
      weights = which === 'teacher' ? t.teacher : t.control;
    }
    const v = vocabOf(p);
    const done: ExportedModel = { which, seed: spec.seed, baseSeed: b, keys };
    await exportTransformersJs(out, {
      shape: shapeOf(p, v), weights, vocab: v,
      meta: { model: which, seed: spec.seed, base_seed: b, run_id: spec.id, stage_keys: keys, ...(which !== 'base' ? { trait: p.trait } : {}), ...meta },
    });
    return done;
  } finally {
    await releaseAll();
  }
}
