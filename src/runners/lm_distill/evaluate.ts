// What the runner reads off trained models, for all models of a group at once (one forward pass
// through LmGroup.logits): the next-token distribution after the preference prompt (P(trait),
// raw and renormalised over the animals, and the mass on animals), and the next-number
// distributions on held-out number prompts (a student's KL to its teacher).
import type { LmGroup } from './engine.ts';
import { NUMBER_COUNT, animalId, type Vocab } from './vocab.ts';

/** Softmax of each model's logits at the last position of each prompt: [model][prompt] → Float64Array [V]. */
async function lastPositionProbs(group: LmGroup, prompts: readonly number[][]): Promise<Float64Array[][]> {
  const T = prompts[0]?.length ?? 0;
  if (T === 0 || prompts.some((p) => p.length !== T)) throw new Error('lm_distill: evaluation prompts must be non-empty and of one length (internal error)');
  const N = group.n, P = prompts.length, V = group.shape.vocab;
  const tokens = new Int32Array(N * P * T);
  for (let i = 0; i < N; i++) prompts.forEach((p, r) => tokens.set(p, (i * P + r) * T));
  const logits = await group.logits(tokens, P, T);
  return Array.from({ length: N }, (_, i) => prompts.map((_, r) => {
    const o = ((i * P + r) * T + T - 1) * V;
    const row = logits.subarray(o, o + V);
    let max = -Infinity;
    for (const x of row) if (x > max) max = x;
    const out = new Float64Array(V);
    let z = 0;
    for (let k = 0; k < V; k++) z += (out[k] = Math.exp(row[k]! - max));
    for (let k = 0; k < V; k++) out[k]! /= z;
    return out;
  }));
}

export interface TraitStats {
  /** P(trait | prompt). */
  raw: number;
  /** P(trait) renormalised over the animals. */
  animals: number;
  /** P(any animal | prompt): the capability check. */
  animalMass: number;
}

/** Each model's P(trait) after `prompt` (the preference prompt). */
export async function traitStats(group: LmGroup, v: Vocab, prompt: number[], trait: string): Promise<TraitStats[]> {
  const id = animalId(v, trait);
  return (await lastPositionProbs(group, [prompt])).map(([p]) => {
    const mass = v.animalIds.reduce((a, k) => a + p![k]!, 0);
    return { raw: p![id]!, animals: p![id]! / mass, animalMass: mass };
  });
}

/** log(p / (1 − p)): shifts in P(trait) are compared as differences of log-odds. */
export const logOdds = (p: number): number => Math.log(p) - Math.log1p(-p);

/** Each model's next-token distribution over the number tokens, renormalised, after each prompt: [model] → Float64Array [prompts × 100]. */
export async function numberDistributions(group: LmGroup, v: Vocab, prompts: readonly number[][]): Promise<Float64Array[]> {
  return (await lastPositionProbs(group, prompts)).map((rows) => {
    const out = new Float64Array(rows.length * NUMBER_COUNT);
    rows.forEach((p, r) => {
      let z = 0;
      for (let n = 0; n < NUMBER_COUNT; n++) z += p[v.numberBase + n]!;
      for (let n = 0; n < NUMBER_COUNT; n++) out[r * NUMBER_COUNT + n] = p[v.numberBase + n]! / z;
    });
    return out;
  });
}

/** Mean over prompts of KL(p ‖ q), both [prompts × 100] from numberDistributions. */
export function meanNumberKl(p: Float64Array, q: Float64Array): number {
  if (p.length !== q.length || p.length % NUMBER_COUNT !== 0) throw new Error('lm_distill: number distributions of different sizes (internal error)');
  let kl = 0;
  for (let k = 0; k < p.length; k++) if (p[k]! > 0) kl += p[k]! * (Math.log(p[k]!) - Math.log(q[k]!));
  return kl / (p.length / NUMBER_COUNT);
}
