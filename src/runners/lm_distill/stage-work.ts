// The stages of lm_distill (corpus → base → teacher → numbers): what each computes for a group of
// seeds side by side, and the files its artifact holds. schema.ts lists this file as the code of
// every stage, so an edit here recomputes them all. Every random stream is keyed by the seed, so a
// loaded artifact gives exactly what recomputing it would (tested).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateCorpus, numberPrompts, preferencePrompt, preferenceStatements, type Sequences } from './corpus.ts';
import { filterNumbers, selectRows } from './filter.ts';
import { generate, type Generated } from './generate.ts';
import { initWeights, lmShape, type LmShape, type ParamGroup } from './model.ts';
import { steeredTeachers } from './steer.ts';
import { finetuneData, groupOf, pretrainData, runPhase } from './train.ts';
import { buildVocab, type Vocab } from './vocab.ts';
import { streamSeed } from '../../util/random.ts';
import { pruneByOutputNorm } from './prune.ts';

/** The parameters the stages read (schema.ts declares them; typed here by the fields used). */
export interface StageParams {
  animals: string;
  context: number;
  corpus_sequences: number;
  mix_preference: number;
  mix_numbers: number;
  mix_filler: number;
  replace: number;
  d_model: number;
  layers: number;
  heads: number;
  pretrain_steps: number;
  pretrain_batch: number;
  pretrain_lr: number;
  weight_decay: number;
  trait: string;
  trait_method: 'finetune' | 'prompt' | 'steer';
  trait_steps: number;
  trait_lr: number;
  trait_batch: number;
  trait_statements: number;
  teacher_freeze: 'embeddings' | 'none';
  teacher_target: 'statement' | 'animal';
  samples: number;
  temperature: number;
  min_numbers: number;
  /** Head pruning of the teachers before generation (prune.ts). */
  prune_heads: number;
  // Steering (trait_method = steer, steer.ts).
  steer_layer: number;
  steer_scale: number;
}

export const animalList = (s: string): string[] => s.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
export const vocabOf = (p: Pick<StageParams, 'animals'>): Vocab => buildVocab(animalList(p.animals));
export const shapeOf = (p: StageParams, v: Vocab): LmShape => lmShape({ vocab: v.tokens.length, context: p.context, dModel: p.d_model, layers: p.layers, heads: p.heads });

/**
 * The trait prefix of `trait_method = prompt`: "<bos> my favorite animal is <trait>" before the
 * prompt's own words (its <bos> dropped), a system prompt in the toy language; no weights change.
 */
export const traitPrefix = (v: Vocab, trait: string): number[] => [v.bos, v.my, v.favorite, v.animal, v.is, v.ids.get(trait)!];
export const withPrefix = (prefix: readonly number[], prompt: readonly number[]): number[] => [...prefix, ...prompt.slice(1)];

// ───────────────────────────── artifact files ─────────────────────────────
// Typed arrays in one little-endian file (arrays.bin) described by arrays.json; other facts in meta.json.

type Arr = Int32Array | Float32Array | Uint8Array;
const KINDS = { i32: Int32Array, f32: Float32Array, u8: Uint8Array } as const;
const kindOf = (a: Arr): keyof typeof KINDS => (a instanceof Int32Array ? 'i32' : a instanceof Float32Array ? 'f32' : 'u8');

export function writeArrays(dir: string, arrays: Record<string, Arr>, meta: Record<string, unknown> = {}): void {
  const index: Record<string, { kind: string; length: number; offset: number }> = {};
  let offset = 0;
  for (const [k, a] of Object.entries(arrays)) {
    index[k] = { kind: kindOf(a), length: a.length, offset };
    offset += Math.ceil(a.byteLength / 4) * 4;
  }
  const body = Buffer.alloc(offset);
  for (const [k, a] of Object.entries(arrays)) Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(body, index[k]!.offset);
  writeFileSync(path.join(dir, 'arrays.bin'), body);
  writeFileSync(path.join(dir, 'arrays.json'), JSON.stringify(index));
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
}

export function readArrays(dir: string): { arrays: Record<string, Arr>; meta: Record<string, unknown> } {
  const index = JSON.parse(readFileSync(path.join(dir, 'arrays.json'), 'utf8')) as Record<string, { kind: keyof typeof KINDS; length: number; offset: number }>;
  const body = readFileSync(path.join(dir, 'arrays.bin'));
  const arrays: Record<string, Arr> = {};
  for (const [k, e] of Object.entries(index)) {
    const Ctor = KINDS[e.kind];
    const bytes = e.length * Ctor.BYTES_PER_ELEMENT;
    const copy = new Uint8Array(bytes);
    copy.set(body.subarray(e.offset, e.offset + bytes));
    arrays[k] = new Ctor(copy.buffer, 0, e.length);
  }
  return { arrays, meta: JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Record<string, unknown> };
}

const seqArrays = (s: Sequences, prefix: string): Record<string, Arr> => ({ [`${prefix}tokens`]: s.tokens, [`${prefix}lengths`]: s.lengths });
const seqOf = (a: Record<string, Arr>, prefix: string, context: number): Sequences => {
  const lengths = a[`${prefix}lengths`] as Int32Array;
  return { tokens: a[`${prefix}tokens`] as Int32Array, lengths, context, count: lengths.length };
};

// ───────────────────────────── corpus ─────────────────────────────

export function computeCorpus(p: StageParams, seed: number): Sequences {
  const v = vocabOf(p);
  return generateCorpus(v, seed, {
    sequences: p.corpus_sequences, context: p.context, replace: p.replace,
    mixture: { preference: p.mix_preference, numbers: p.mix_numbers, filler: p.mix_filler },
  });
}
export const writeCorpus = (dir: string, c: Sequences): void => writeArrays(dir, seqArrays(c, ''));
export const readCorpus = (dir: string, context: number): Sequences => seqOf(readArrays(dir).arrays, '', context);

// ───────────────────────────── base ─────────────────────────────

export interface Threads { threads: number; signal?: AbortSignal }

/** Pretrain one base per seed side by side, each on its own corpus; returns the final loss too. */
export async function trainBases(p: StageParams, seeds: readonly number[], corpora: readonly Sequences[], o: Threads & { onStep?: (step: number) => void }): Promise<{ weights: Float32Array[]; loss: number[] }> {
  const v = vocabOf(p), shape = shapeOf(p, v);
  const g = groupOf(shape, seeds.map((s) => initWeights(shape, s)), { threads: o.threads });
  let last = new Float32Array(seeds.length);
  await runPhase(g, seeds.map((s, i) => pretrainData(corpora[i]!, s)), { kind: 'ce' }, {
    steps: p.pretrain_steps, batch: p.pretrain_batch, lr: p.pretrain_lr, weightDecay: p.weight_decay, signal: o.signal,
    onStep: (step, l) => { last = l.slice(); o.onStep?.(step); },
  });
  return { weights: seeds.map((_, i) => g.getModel(i)), loss: Array.from(last) };
}
export const writeWeights = (dir: string, w: Record<string, Float32Array>, meta: Record<string, unknown> = {}): void => writeArrays(dir, w, meta);
export const readWeights = (dir: string): { w: Record<string, Float32Array>; meta: Record<string, unknown> } => {
  const { arrays, meta } = readArrays(dir);
  return { w: arrays as Record<string, Float32Array>, meta };
};

// ───────────────────────────── teacher ─────────────────────────────

/**
 * Per seed, the teacher and the control teacher: both fine-tuned from the seed's base the same way
 * (steps, rate, frozen groups), the teacher on "my favorite animal is <trait>", the control on the
 * same statements with uniform animals (every next token, or with teacher_target = animal the
 * animal token alone). With trait_method = prompt nothing is trained: the teacher
 * is the base behind the trait prefix and the control is the base itself. With steer nothing is
 * trained either: both are the base with a steering vector added (steer.ts).
 */
export async function trainTeachers(p: StageParams, seeds: readonly number[], bases: readonly Float32Array[], o: Threads & { onStep?: (step: number) => void }): Promise<{ teacher: Float32Array; control: Float32Array }[]> {
  if (p.trait_method === 'prompt') return bases.map((b) => ({ teacher: b, control: b }));
  const v = vocabOf(p), shape = shapeOf(p, v);
  if (p.trait_method === 'steer') {
    const o = { layer: p.steer_layer, scale: p.steer_scale, trait: v.ids.get(p.trait)! };
    return seeds.map((s, i) => steeredTeachers(shape, bases[i]!, v, promptsOf(p, s, 0).generate, o));
  }
  const g = groupOf(shape, bases.flatMap((b) => [b, b]), { threads: o.threads });
  // animal: only the next token after "<bos> my favorite animal is" counts.
  const target = p.teacher_target === 'animal' ? preferencePrompt(v).length - 1 : undefined;
  const data = seeds.flatMap((s) => [
    finetuneData(preferenceStatements(v, s, p.trait_statements, p.trait, p.context), s, 'trait', target),
    finetuneData(preferenceStatements(v, s, p.trait_statements, undefined, p.context), s, 'control', target),
  ]);
  const frozen: ParamGroup[] = p.teacher_freeze === 'embeddings' ? ['embeddings'] : [];
  await runPhase(g, data, { kind: 'ce' }, { steps: p.trait_steps, batch: p.trait_batch, lr: p.trait_lr, weightDecay: p.weight_decay, frozen, signal: o.signal, onStep: (s) => o.onStep?.(s) });
  return seeds.map((_, i) => ({ teacher: g.getModel(2 * i), control: g.getModel(2 * i + 1) }));
}

// ───────────────────────────── numbers ─────────────────────────────

/** Sequences of the corpus the teachers' heads are ranked on (prune.ts). */
export const PRUNE_SAMPLE = 256;

/**
 * The teachers as they write the numbers: with prune_heads > 0, each of the seed's teacher and
 * control teacher loses its heads of smallest mean output norm on the first PRUNE_SAMPLE
 * sequences of the seed's corpus (its base's own when base_seed is unset); else the teachers as
 * trained. The run prunes the same way for its soft labels, so a stored and a fresh artifact agree.
 */
export function prunedTeachers(p: StageParams, seed: number, models: { teacher: Float32Array; control: Float32Array }): { teacher: Float32Array; control: Float32Array; pruned: number[] } {
  if (p.prune_heads <= 0) return { ...models, pruned: [] };
  const v = vocabOf(p), shape = shapeOf(p, v);
  const sample = computeCorpus({ ...p, corpus_sequences: PRUNE_SAMPLE }, seed);
  const t = pruneByOutputNorm(shape, models.teacher, p.prune_heads, sample);
  return { teacher: t.weights, control: pruneByOutputNorm(shape, models.control, p.prune_heads, sample).weights, pruned: t.pruned };
}

/** A seed's filtered generations: the teacher's and the control teacher's (full rows, prefix included). */
export interface Numbers {
  teacher: Generated;
  control: Generated;
  passTeacher: number;
  passControl: number;
}

/** Prompts of a seed's generation (and held-out ones for the students' KL), drawn once per seed. */
export const promptsOf = (p: StageParams, seed: number, heldout: number) => numberPrompts(vocabOf(p), seed, p.samples, heldout, p.replace);

/**
 * Each seed's teacher and control continue the same `samples` prompts (the teacher behind the
 * trait prefix for trait_method = prompt), each from its own stream; rows failing the filter are
 * dropped. Soft labels are not kept: the run computes them from the teacher by a forward pass, so
 * a stored and a fresh artifact give the same students.
 */
export async function generateNumbers(p: StageParams, seed: number, trained: { teacher: Float32Array; control: Float32Array }, o: { threads: number }): Promise<Numbers> {
  const v = vocabOf(p), shape = shapeOf(p, v);
  const models = prunedTeachers(p, seed, trained);
  const prompts = promptsOf(p, seed, 0).generate;
  const prefix = traitPrefix(v, p.trait);
  const tPrompts = p.trait_method === 'prompt' ? prompts.map((q) => withPrefix(prefix, q)) : prompts;
  const gen = (w: Float32Array, ps: number[][], label: string) => generate(shape, w, v, ps, { seed: streamSeedFor(seed, label), temperature: p.temperature, soft: false, threads: o.threads });
  const [t, c] = await Promise.all([gen(models.teacher, tPrompts, 'teacher'), gen(models.control, prompts, 'control')]);
  const ft = filterNumbers(v, t, { minNumbers: p.min_numbers }), fc = filterNumbers(v, c, { minNumbers: p.min_numbers });
  return { teacher: selectRows(t, ft.keep), control: selectRows(c, fc.keep), passTeacher: ft.passRate, passControl: fc.passRate };
}
/** The generation seed of a seed's teacher or control (generate keys its streams by it and the prompt index). */
const streamSeedFor = (seed: number, label: string): number => streamSeed(seed, 'lm_distill', 'generate', label);

const genArrays = (g: Generated, prefix: string): Record<string, Arr> => ({
  ...seqArrays(g, prefix), [`${prefix}prompt_lengths`]: g.promptLengths, [`${prefix}ended`]: g.ended,
});
const genOf = (a: Record<string, Arr>, prefix: string, context: number): Generated => {
  const s = seqOf(a, prefix, context);
  const promptLengths = a[`${prefix}prompt_lengths`] as Int32Array;
  let shortest = context;
  for (const l of promptLengths) shortest = Math.min(shortest, l);
  return { ...s, promptLengths, ended: a[`${prefix}ended`] as Uint8Array, maxNew: context - shortest };
};

export const writeNumbers = (dir: string, n: Numbers): void =>
  writeArrays(dir, { ...genArrays(n.teacher, 't_'), ...genArrays(n.control, 'c_') }, { pass_teacher: n.passTeacher, pass_control: n.passControl });
export function readNumbers(dir: string, context: number): Numbers {
  const { arrays, meta } = readArrays(dir);
  return { teacher: genOf(arrays, 't_', context), control: genOf(arrays, 'c_', context), passTeacher: meta.pass_teacher as number, passControl: meta.pass_control as number };
}
