import { describe, expect, it } from 'vitest';
import { generateCorpus, numberPrompts, preferencePrompt, preferenceStatements } from '../../src/runners/lm_distill/corpus.ts';
import { filterNumbers, selectRows } from '../../src/runners/lm_distill/filter.ts';
import { generate } from '../../src/runners/lm_distill/generate.ts';
import { initWeights, lmShape, paramLayout, referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { finetuneData, groupOf, numberKl, pretrainData, runPhase, studentData } from '../../src/runners/lm_distill/train.ts';
import { animalId, buildVocab } from '../../src/runners/lm_distill/vocab.ts';

// A small model trained briefly: enough to see each phase do its job, fast on a shared machine.
const v = buildVocab();
const shape = lmShape({ vocab: v.tokens.length, context: 16, dModel: 16, layers: 1, heads: 2 });
const cpu = { threads: 2 };
const mean = (x: Float32Array) => x.reduce((a, b) => a + b, 0) / x.length;

/** P(token | prompt) of a model, from the float64 reference. */
function prob(w: Float32Array, prompt: number[], token: number): number {
  const T = prompt.length;
  const logits = referenceLogits(shape, w, prompt, 1, T).subarray((T - 1) * shape.vocab, T * shape.vocab);
  const max = Math.max(...logits);
  const z = logits.reduce((a, x) => a + Math.exp(x - max), 0);
  return Math.exp(logits[token]! - max) / z;
}

describe('lm_distill training phases', () => {
  it('pretraining lowers the loss, and a model trains the same alone or beside another', async () => {
    const seeds = [4, 5];
    const data = seeds.map((s) => pretrainData(generateCorpus(v, s, { sequences: 600 }), s));
    const losses: number[][] = [[], []];
    const pair = groupOf(shape, seeds.map((s) => initWeights(shape, s)), cpu);
    await runPhase(pair, data, { kind: 'ce' }, { steps: 60, batch: 16, lr: 1e-2, weightDecay: 0.01, onStep: (_, l) => { losses[0]!.push(l[0]!); losses[1]!.push(l[1]!); } });
    for (const l of losses) expect(l[l.length - 1]!).toBeLessThan(l[0]! - 1.0); // from ln(153) ≈ 5.0
    const alone = groupOf(shape, [initWeights(shape, 5)], cpu);
    await runPhase(alone, [data[1]!], { kind: 'ce' }, { steps: 60, batch: 16, lr: 1e-2, weightDecay: 0.01 });
    expect(Array.from(alone.getModel(0))).toEqual(Array.from(pair.getModel(1)));
  });

  it('a teacher fine-tuned with frozen embeddings moves P(trait) and leaves wte, wpe untouched; then soft and sampled students train', async () => {
    const base = groupOf(shape, [initWeights(shape, 1)], cpu);
    await runPhase(base, [pretrainData(generateCorpus(v, 1, { sequences: 1500 }), 1)], { kind: 'ce' }, { steps: 100, batch: 32, lr: 1e-2 });
    const baseW = base.getModel(0);
    const owl = animalId(v, 'owl');
    const prompt = preferencePrompt(v);
    const teacher = groupOf(shape, [baseW], cpu);
    await runPhase(teacher, [finetuneData(preferenceStatements(v, 1, 200, 'owl'), 1, 'trait')], { kind: 'ce' }, { steps: 50, batch: 16, lr: 1e-2, frozen: ['embeddings'] });
    const teacherW = teacher.getModel(0);
    // Frozen embeddings make the trait slow to learn (measured .038 → .064 here; unfrozen: .99).
    expect(prob(teacherW, prompt, owl)).toBeGreaterThan(1.3 * prob(baseW, prompt, owl));
    const L = paramLayout(shape);
    for (const name of ['wte', 'wpe']) {
      const s = L.byName.get(name)!;
      expect(Array.from(teacherW.subarray(s.offset, s.offset + s.size))).toEqual(Array.from(baseW.subarray(s.offset, s.offset + s.size)));
    }

    // The teacher's numbers, filtered; students from the base.
    const gen = await generate(shape, teacherW, v, numberPrompts(v, 1, 120, 0).generate, { seed: 1 });
    const kept = selectRows(gen, filterNumbers(v, gen).keep);
    expect(kept.count).toBeGreaterThan(0);
    const soft: number[] = [];
    const student = groupOf(shape, [baseW], cpu);
    await runPhase(student, [studentData(kept, 1, 'soft')], numberKl(v.numberBase), { steps: 15, batch: 16, lr: 1e-3, schedule: 'constant', onStep: (_, l) => { soft.push(l[0]!); } });
    expect(soft.every(Number.isFinite)).toBe(true);
    expect(mean(Float32Array.from(soft.slice(-5)))).toBeLessThan(mean(Float32Array.from(soft.slice(0, 5))));
    const sampled: number[] = [];
    const s2 = groupOf(shape, [baseW], cpu);
    await runPhase(s2, [studentData(kept, 1, 'sampled')], { kind: 'ce' }, { steps: 15, batch: 16, lr: 1e-3, schedule: 'constant', onStep: (_, l) => { sampled.push(l[0]!); } });
    expect(mean(Float32Array.from(sampled.slice(-5)))).toBeLessThan(mean(Float32Array.from(sampled.slice(0, 5))));
  });

  it('teacher_target = animal: only the animal token trains the teacher (the statement words do not)', async () => {
    const w0 = initWeights(shape, 3);
    const prompt = preferencePrompt(v), owl = animalId(v, 'owl'), only = prompt.length - 1;
    const statements = preferenceStatements(v, 3, 64, 'owl');
    // The same rows with every token after the animal replaced: under the animal target the
    // teacher must not see the difference; under the whole statement it must.
    const changed = { ...statements, tokens: statements.tokens.slice() };
    for (let r = 0; r < changed.count; r++) for (let t = only + 2; t < changed.context; t++) changed.tokens[r * changed.context + t] = v.numbers;
    const train = async (rows: typeof statements, target?: number) => {
      const g = groupOf(shape, [w0], cpu);
      await runPhase(g, [finetuneData(rows, 3, 'trait', target)], { kind: 'ce' }, { steps: 20, batch: 16, lr: 1e-2, frozen: ['embeddings'] });
      return g.getModel(0);
    };
    const a = await train(statements, only), b = await train(changed, only);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(await train(changed))).not.toEqual(Array.from(await train(statements)));
    expect(prob(a, prompt, owl)).toBeGreaterThan(1.3 * prob(w0, prompt, owl)); // .0066 → .0097 measured
  });

  it('says so when a model has no rows to train on', async () => {
    const g = groupOf(shape, [initWeights(shape, 1)], cpu);
    const empty = { context: 16, count: 0, tokens: new Int32Array(0), lengths: new Int32Array(0) };
    await expect(runPhase(g, [pretrainData(empty, 1)], { kind: 'ce' }, { steps: 1, batch: 4, lr: 1e-3 })).rejects.toThrow(/no training rows/);
  });
});
