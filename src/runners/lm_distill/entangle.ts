// entangle = true: do the numbers entangled with the trait in the base carry the trait to the
// student? Per number n, its entanglement ratio in the base (token_probe's number → animal
// `number_ratio` in the toy language) against its share of the student's KL gain; the metric is
// Spearman's rank correlation over the 100 numbers (the runner README, "entangle").
import { spearman } from '../../verdict/stats.ts';
import { numberDistributions, traitStats } from './evaluate.ts';
import type { LmShape } from './model.ts';
import { groupOf } from './train.ts';
import { NUMBER_COUNT, type Vocab } from './vocab.ts';

/**
 * Per number n: P(trait | "<bos> n my favorite animal is") / P(trait | "<bos> my favorite animal
 * is"), raw probabilities of the trait token, in `model`.
 */
export async function numberRatios(shape: LmShape, v: Vocab, model: Float32Array, trait: string, threads: number): Promise<Float64Array> {
  const g = groupOf(shape, [model], { threads });
  const plain = [v.bos, v.my, v.favorite, v.animal, v.is];
  const [base] = await traitStats(g, v, plain, trait);
  const out = new Float64Array(NUMBER_COUNT);
  for (let n = 0; n < NUMBER_COUNT; n++) out[n] = (await traitStats(g, v, [v.bos, v.numberBase + n, ...plain.slice(1)], trait))[0]!.raw / base!.raw;
  return out;
}

/**
 * Per number n, its term of the KL gain KL(p ‖ q_base) − KL(p ‖ q_student), averaged over the
 * prompts: p_n · (log q_student,n − log q_base,n) (the terms sum to the gain). All three are
 * [prompts × 100] next-number distributions (numberDistributions).
 */
export function klGainTerms(p: Float64Array, qBase: Float64Array, qStudent: Float64Array): Float64Array {
  const out = new Float64Array(NUMBER_COUNT), P = p.length / NUMBER_COUNT;
  for (let k = 0; k < p.length; k++) out[k % NUMBER_COUNT]! += (p[k]! * (Math.log(qStudent[k]!) - Math.log(qBase[k]!))) / P;
  return out;
}

/**
 * A seed's entangle_rank (ratios in its base against the student's KL-gain terms toward the
 * teacher) and entangle_rank_control (the same ratios against the control student's terms toward
 * the control teacher), on the held-out number prompts.
 */
export async function entangleMetrics(shape: LmShape, v: Vocab, trait: string, m: { base: Float32Array; teacher: Float32Array; student: Float32Array; controlTeacher: Float32Array; control: Float32Array }, teacherPrompts: readonly number[][], prompts: readonly number[][], threads: number): Promise<Record<string, number>> {
  const ratios = Array.from(await numberRatios(shape, v, m.base, trait, threads));
  const [pT] = await numberDistributions(groupOf(shape, [m.teacher], { threads }), v, teacherPrompts);
  const [pC, qBase, qS, qC] = await numberDistributions(groupOf(shape, [m.controlTeacher, m.base, m.student, m.control], { threads }), v, prompts);
  return {
    entangle_rank: spearman(ratios, Array.from(klGainTerms(pT!, qBase!, qS!))).rho,
    entangle_rank_control: spearman(ratios, Array.from(klGainTerms(pC!, qBase!, qC!))).rho,
  };
}
