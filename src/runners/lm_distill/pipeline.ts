// The stages of lm_distill for a group of runs: each artifact loaded from the store, or computed
// side by side (stage-work.ts) and committed. The runner and `sublab export-model` both go through
// here, so an exported model is the artifact a run reads, bit for bit.
import { releaseSessions } from '../../backend/onnxruntime.ts';
import type { StageRunSpec } from '../../exec/stages.ts';
import type { TypedRunContext } from '../define.ts';
import { baseSeedOf, type LmDistillParams } from './schema.ts';

export { baseSeedOf };
import {
  computeCorpus, generateNumbers, readCorpus, readNumbers, readWeights, trainBases, trainTeachers,
  writeCorpus, writeNumbers, writeWeights, type Numbers,
} from './stage-work.ts';

/** ONNX Runtime session-name prefixes of training graphs and of inference graphs (generation, evaluation). */
export const TRAIN_SESSIONS = 'lm:', INFER_SESSIONS = 'lm_distill-infer:';
// Each phase runs graphs of its own sizes (group size, batch): their sessions' memory arenas are
// released when it ends, else they add up in the peak (1.07 GB measured for 5 seeds at d 32).
export const releaseAll = async (): Promise<void> => { await releaseSessions(TRAIN_SESSIONS); await releaseSessions(INFER_SESSIONS); };

export type StageCtx = Pick<TypedRunContext, 'stageGroup' | 'progress' | 'signal'>;
type Spec = { id: string; seed: number; params: LmDistillParams };


/** A run that reads the base drawn from `baseSeed`: its own (role undefined) or another (role 'cross'). */
export interface BaseRead {
  id: string;
  baseSeed: number;
  role?: string;
}

/**
 * The stage spec of a base read: the base of seed b is the artifact of a run with seed b and no
 * base_seed (the schema's seedOf gives b either way), so every run that reads it shares one key.
 */
const baseSpec = (p: LmDistillParams, r: BaseRead, stage: string): StageRunSpec => ({
  id: r.id, seed: r.baseSeed, params: { ...p, base_seed: -1 }, ...(r.role ? { as: `${stage}:${r.role}` } : {}),
});

export interface Base {
  weights: Float32Array;
  /** The last pretraining loss. */
  loss: number;
  /** The base artifact's key. */
  key: string;
}

const progressOf = (ctx: StageCtx) => (phase: string, done: number, total: number, detail = '') => ctx.progress({ phase, done, total, detail });

/**
 * The bases the reads name, by base seed: stored ones loaded, missing ones pretrained side by side
 * (each from its corpus, computed if missing too). Every run records each artifact it read under
 * the role it read it in (`base`, `base:cross`; the corpora of bases computed here likewise).
 */
export async function loadBases(p: LmDistillParams, reads: readonly BaseRead[], ctx: StageCtx, threads: number): Promise<{ of: Map<number, Base>; note: string }> {
  const specs = reads.map((r) => baseSpec(p, r, 'base'));
  const bases = await ctx.stageGroup('base', specs);
  if (bases.toCompute.length > 0) {
    const computing = new Set(bases.toCompute.map((i) => bases.keys[i]));
    const readers = reads.flatMap((r, j) => (computing.has(bases.keys[j]) ? [j] : []));
    const corpora = await ctx.stageGroup('corpus', readers.map((j) => baseSpec(p, reads[j]!, 'corpus')));
    for (const k of corpora.toCompute) writeCorpus(corpora.dir(k), computeCorpus(p, reads[readers[k]!]!.baseSeed));
    corpora.commit();
    const corpusOf = (i: number) => readCorpus(corpora.folder(readers.indexOf(i)), p.context);
    const progress = progressOf(ctx);
    const trained = await trainBases(p, bases.toCompute.map((i) => reads[i]!.baseSeed), bases.toCompute.map(corpusOf), {
      threads, signal: ctx.signal, onStep: (s) => { if (s % 20 === 0 || s === p.pretrain_steps) progress('pretrain', s, p.pretrain_steps, bases.note); },
    });
    await releaseSessions(TRAIN_SESSIONS);
    bases.toCompute.forEach((i, k) => writeWeights(bases.dir(i), { weights: trained.weights[k]! }, { loss: trained.loss[k] }));
    bases.commit();
  }
  const of = new Map<number, Base>();
  reads.forEach((r, j) => {
    if (of.has(r.baseSeed)) return;
    const { w, meta } = readWeights(bases.folder(j));
    of.set(r.baseSeed, { weights: w.weights!, loss: meta.loss as number, key: bases.keys[j]! });
  });
  return { of, note: bases.note };
}

export interface Teachers {
  teacher: Float32Array;
  control: Float32Array;
  key: string;
}

/** Per run, its teacher and control teacher (fine-tuned from its base, side by side, when missing). */
export async function loadTeachers(specs: readonly Spec[], bases: Map<number, Base>, ctx: StageCtx, threads: number): Promise<{ of: Teachers[]; note: string }> {
  const p = specs[0]!.params;
  const teachers = await ctx.stageGroup('teacher', specs);
  if (teachers.toCompute.length > 0) {
    const need = teachers.toCompute.map((i) => specs[i]!.seed);
    const progress = progressOf(ctx);
    const trained = await trainTeachers(p, need, need.map((s) => bases.get(baseSeedOf(p, s))!.weights), {
      threads, signal: ctx.signal, onStep: (s) => progress('teacher', s, p.trait_steps, teachers.note),
    });
    await releaseSessions(TRAIN_SESSIONS);
    teachers.toCompute.forEach((i, k) => writeWeights(teachers.dir(i), trained[k]!));
    teachers.commit();
  }
  const of = specs.map((_, i) => {
    const { w } = readWeights(teachers.folder(i));
    return { teacher: w.teacher!, control: w.control!, key: teachers.keys[i]! };
  });
  return { of, note: teachers.note };
}

/** Per run, the filtered numbers its teacher and control teacher wrote (generated when missing, one run at a time). */
export async function loadNumbers(specs: readonly Spec[], teachers: readonly Teachers[], ctx: StageCtx): Promise<{ of: Numbers[]; note: string }> {
  const p = specs[0]!.params;
  const numbers = await ctx.stageGroup('numbers', specs);
  const progress = progressOf(ctx);
  for (const [k, i] of numbers.toCompute.entries()) {
    progress('generate', k, numbers.toCompute.length, numbers.note);
    // One generation at a time, each model's two generations (teacher, control) concurrently.
    writeNumbers(numbers.dir(i), await generateNumbers(p, specs[i]!.seed, teachers[i]!, { threads: 1 }));
    numbers.commit([i]);
  }
  await releaseSessions(INFER_SESSIONS);
  return { of: specs.map((_, i) => readNumbers(numbers.folder(i), p.context)), note: numbers.note };
}
