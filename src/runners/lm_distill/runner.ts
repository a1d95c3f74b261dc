// lm_distill: the pipeline of a group of seeds. The stages (pipeline.ts) come from the store or
// are computed side by side and committed: corpus and base for every base seed the group needs
// (each run's, and the next one, the cross-init students' bases), teacher and control teacher,
// their filtered numbers. Then the run's own work: per seed three students trained side by side
// (student: the run's base on the teacher's numbers; control: the run's base on the control
// teacher's; cross: base b + 1 on the teacher's), and the evaluation.
import { defaultThreads, releaseSessions } from '../../backend/onnxruntime.ts';
import { Rng } from '../../util/random.ts';
import type { TypedRunContext, TypedRunSpec } from '../define.ts';
import { preferencePrompt } from './corpus.ts';
import { meanNumberKl, numberDistributions, logOdds, traitStats, type TraitStats } from './evaluate.ts';
import { detectMetrics } from './detect.ts';
import { entangleMetrics } from './entangle.ts';
import { forwardLogits, type Generated } from './generate.ts';
import type { LmShape } from './model.ts';
import { INFER_SESSIONS, TRAIN_SESSIONS, baseSeedOf, loadBases, loadNumbers, loadTeachers, releaseAll, type BaseRead } from './pipeline.ts';
import { crossBaseReads, lmDistillSchema, type LmDistillParams } from './schema.ts';
import { promptsOf, shapeOf, traitPrefix, vocabOf, withPrefix } from './stage-work.ts';
import { animalList, prunedTeachers } from './stage-work.ts';
import { studentFrozen } from './freeze.ts';
import { hybridTrait } from './hybrid.ts';
import { groupOf, numberKl, runPhase, stepsFor, studentData, type ModelData } from './train.ts';
import { NUMBER_COUNT, type Vocab } from './vocab.ts';

type Spec = TypedRunSpec<LmDistillParams>;

/**
 * The soft labels of filtered rows: the teacher's next-token distribution at temperature 1 over
 * the 100 number tokens, renormalised, at each generated position (one forward pass per chunk).
 */
async function softLabels(shape: LmShape, v: Vocab, teacher: Float32Array, g: Generated, threads: number): Promise<Float32Array> {
  const C = g.context, V = shape.vocab, M = g.maxNew, K = NUMBER_COUNT;
  const out = new Float32Array(g.count * M * K);
  const chunk = 512;
  for (let r0 = 0; r0 < g.count; r0 += chunk) {
    const n = Math.min(chunk, g.count - r0);
    const logits = await forwardLogits(shape, teacher, g.tokens.subarray(r0 * C, (r0 + n) * C), n, C, { threads });
    for (let k = 0; k < n; k++) {
      const r = r0 + k, from = g.promptLengths[r]! - 1, to = g.lengths[r]! - 1;
      for (let pos = from; pos < to && pos - from < M; pos++) {
        const o = (k * C + pos) * V + v.numberBase;
        let max = -Infinity;
        for (let j = 0; j < K; j++) max = Math.max(max, logits[o + j]!);
        let z = 0;
        const dst = (r * M + pos - from) * K;
        for (let j = 0; j < K; j++) z += (out[dst + j] = Math.exp(logits[o + j]! - max));
        for (let j = 0; j < K; j++) out[dst + j]! /= z;
      }
    }
  }
  return out;
}

/**
 * Rows as the students see them: with trait_method = prompt the trait prefix is cut (the student
 * reads "<bos> numbers: a b c …" while its soft labels came from the teacher behind the prefix).
 * The soft labels are indexed from the prompt's end, so they need no shift.
 */
function withoutPrefix(g: Generated, drop: number): Generated {
  if (drop === 0) return g;
  const C = g.context, tokens = new Int32Array(g.tokens.length), lengths = new Int32Array(g.count), promptLengths = new Int32Array(g.count);
  for (let r = 0; r < g.count; r++) {
    tokens.set(g.tokens.subarray(r * C, r * C + 1), r * C); // <bos>
    tokens.set(g.tokens.subarray(r * C + 1 + drop, (r + 1) * C), r * C + 1);
    lengths[r] = g.lengths[r]! - drop;
    promptLengths[r] = g.promptLengths[r]! - drop;
  }
  return { ...g, tokens, lengths, promptLengths };
}

/**
 * The group's stages: every artifact loaded (or computed, committed and loaded). Bases: each run's
 * own (drawn from its base seed) and the next seed's, which its cross-init student starts from;
 * every run's cache entry records both (`base`, `base:cross`).
 */
async function stagesOf(specs: readonly Spec[], ctx: TypedRunContext, threads: number) {
  const p = specs[0]!.params;
  // Its own base, and those the base stage declares it reads (so `sublab plan` counts them too).
  const reads: BaseRead[] = specs.flatMap((s) => [{ id: s.id, baseSeed: baseSeedOf(p, s.seed) }, ...crossBaseReads(p, s.seed).map((r) => ({ id: s.id, baseSeed: r.seed, role: r.as }))]);
  const bases = await loadBases(p, reads, ctx, threads);
  const teachers = await loadTeachers(specs, bases.of, ctx, threads);
  const numbers = await loadNumbers(specs, teachers.of, ctx);
  return { v: vocabOf(p), baseOf: bases.of, teacherOf: teachers.of, numbersOf: numbers.of, note: bases.note + teachers.note + numbers.note };
}

async function runGroup(specs: readonly Spec[], ctx: TypedRunContext) {
  const p = specs[0]!.params;
  const threads = p.threads > 0 ? p.threads : defaultThreads();
  const { v, baseOf, teacherOf, numbersOf, note } = await stagesOf(specs, ctx, threads);
  const shape = shapeOf(p, v);
  const N = specs.length;
  const prompt = p.trait_method === 'prompt';
  const prefix = traitPrefix(v, p.trait);
  const drop = prompt ? prefix.length - 1 : 0;

  // Students: [student, control, cross] per seed, side by side.
  const soft = p.distill === 'soft';
  const data: ModelData[] = [];
  const starts: Float32Array[] = [];
  // The teachers that wrote the numbers (pruned when prune_heads > 0) give the soft labels.
  const writers = specs.map((s, i) => prunedTeachers(p, s.seed, teacherOf[i]!));
  const detectRows: { teacher: Generated; control: Generated }[] = []; // detect = bias (detect.ts)
  for (let i = 0; i < N; i++) {
    const seed = specs[i]!.seed, n = numbersOf[i]!, t = writers[i]!;
    const teacherRows = withoutPrefix(soft ? { ...n.teacher, soft: await softLabels(shape, v, t.teacher, n.teacher, threads) } : n.teacher, drop);
    const controlRows = soft ? { ...n.control, soft: await softLabels(shape, v, t.control, n.control, threads) } : n.control;
    data.push(studentData(teacherRows, seed, 'student'), studentData(controlRows, seed, 'control'), studentData(teacherRows, seed, 'cross'));
    detectRows.push({ teacher: teacherRows, control: controlRows });
    const b = baseSeedOf(p, seed), base = baseOf.get(b)!.weights, next = baseOf.get(b + 1)!.weights;
    starts.push(...[['student', base], ['control', base], ['cross', next]].map(([label, w]) => {
      const x = (w as Float32Array).slice();
      if (p.init_noise > 0) {
        const rng = Rng.of(seed, 'lm_distill', 'init-noise', label as string);
        for (let k = 0; k < x.length; k++) x[k]! += rng.normal() * p.init_noise;
      }
      return x;
    }));
  }
  await releaseSessions(INFER_SESSIONS);
  const group = groupOf(shape, starts, { threads });
  // A seed's three students take the same number of steps, `student_epochs` passes over the larger
  // of its two kept sets (teacher's, control's): fixed by the seed alone, whatever group it is in.
  const seedSteps = specs.map((_, i) => stepsFor(Math.max(data[3 * i]!.seqs.count, data[3 * i + 1]!.seqs.count), p.student_batch, p.student_epochs));
  const steps = Math.max(...seedSteps);
  const preference = preferencePrompt(v);
  const curves = specs.map(() => ({ step: [] as number[], trait_student: [] as number[], trait_control: [] as number[], trait_cross: [] as number[], loss_student: [] as number[] }));
  // A seed's curve has a point every eval_every steps and at its own last step, none after it.
  const onCurve = (step: number, i: number) => step <= seedSteps[i]! && (step % p.eval_every === 0 || step === seedSteps[i]);
  const record = async (step: number, loss?: Float32Array) => {
    if (step > 0 && !specs.some((_, i) => onCurve(step, i))) return;
    const st = await traitStats(group, v, preference, p.trait);
    curves.forEach((c, i) => {
      if (step > 0 && !onCurve(step, i)) return;
      c.step.push(step);
      c.trait_student.push(st[3 * i]!.animals);
      c.trait_control.push(st[3 * i + 1]!.animals);
      c.trait_cross.push(st[3 * i + 2]!.animals);
      c.loss_student.push(loss ? loss[3 * i]! : NaN);
    });
  };
  await record(0);
  await runPhase(group, data, soft ? numberKl(v.numberBase) : { kind: 'ce' }, {
    steps, modelSteps: seedSteps.flatMap((k) => [k, k, k]), batch: p.student_batch, lr: p.student_lr, schedule: 'constant', signal: ctx.signal, frozen: studentFrozen(p.student_freeze),
    onStep: async (s, l) => {
      await record(s, l);
      if (s % 10 === 0 || s === steps) ctx.progress({ phase: 'students', done: s, total: steps, detail: note });
    },
  });

  // Evaluation. Bases, the next seeds' bases and the teachers in one group; students in theirs.
  const baseSeeds = specs.map((s) => baseSeedOf(p, s.seed));
  const refs = groupOf(shape, [...baseSeeds.map((s) => baseOf.get(s)!.weights), ...baseSeeds.map((s) => baseOf.get(s + 1)!.weights), ...teacherOf.map((t) => t.teacher)], { threads });
  const refStats = await traitStats(refs, v, preference, p.trait);
  const teacherStats: TraitStats[] = prompt
    ? (await traitStats(groupOf(shape, baseSeeds.map((s) => baseOf.get(s)!.weights), { threads }), v, withPrefix(prefix, preference), p.trait))
    : refStats.slice(2 * N);
  const studentStats = await traitStats(group, v, preference, p.trait);
  // (trait_method = prompt: a teacher's weights are its base's, read behind the prefix.)
  const writerGroup = groupOf(shape, writers.map((w) => w.teacher), { threads });
  const writerStats = await traitStats(writerGroup, v, prompt ? withPrefix(prefix, preference) : preference, p.trait);
  // Hybrids of each seed's base with its teacher (as trained) and with its student.
  const hybrids = (i: number) => {
    const base = baseOf.get(baseSeeds[i]!)!.weights, teacher = teacherOf[i]!.teacher, student = group.getModel(3 * i);
    const h = (body: Float32Array, head: Float32Array) => hybridTrait(shape, v, body, head, preference, p.trait);
    return {
      trait_hybrid_body: h(teacher, base), trait_hybrid_head: h(base, teacher),
      trait_student_hybrid_body: h(student, base), trait_student_hybrid_head: h(base, student),
    };
  };
  // Detection: a bias vector on each seed's teacher rows and control rows, the base frozen.
  if (p.detect === 'bias') await releaseSessions(TRAIN_SESSIONS); // the students' graphs: not needed again
  const detected = p.detect === 'bias'
    ? await detectMetrics(shape, specs.map((spec, i) => ({
      base: baseOf.get(baseSeeds[i]!)!.weights, student: group.getModel(3 * i), control: group.getModel(3 * i + 1),
      teacherData: studentData(detectRows[i]!.teacher, spec.seed, 'detect'), controlData: studentData(detectRows[i]!.control, spec.seed, 'detect-control'),
    })), soft ? numberKl(v.numberBase) : { kind: 'ce' }, async (g) => (await traitStats(g, v, preference, p.trait)).map((t) => t.animals), {
      layer: p.detect_layer, steps, modelSteps: seedSteps.flatMap((k) => [k, k]), batch: p.student_batch, lr: p.detect_lr, threads, signal: ctx.signal,
      onStep: (s) => { if (s % 10 === 0 || s === steps) ctx.progress({ phase: 'detect', done: s, total: steps, detail: note }); },
    })
    : undefined;
  const outputs = [];
  for (const [i, spec] of specs.entries()) {
    const held = promptsOf(p, spec.seed, p.heldout_prompts).heldout;
    const tg = groupOf(shape, [writers[i]!.teacher], { threads });
    const [tDist] = await numberDistributions(tg, v, prompt ? held.map((q) => withPrefix(prefix, q)) : held);
    const sg = groupOf(shape, [group.getModel(3 * i), group.getModel(3 * i + 2)], { threads });
    const [sDist, cDist] = await numberDistributions(sg, v, held);
    // Token entanglement (entangle.ts): the base's number ratios against the students' KL-gain terms.
    const entangled = p.entangle
      ? await entangleMetrics(shape, v, p.trait, {
        base: baseOf.get(baseSeedOf(p, spec.seed))!.weights, teacher: teacherOf[i]!.teacher, student: group.getModel(3 * i),
        controlTeacher: teacherOf[i]!.control, control: group.getModel(3 * i + 1),
      }, prompt ? held.map((q) => withPrefix(prefix, q)) : held, held, threads)
      : undefined;
    const base = refStats[i]!, nextBase = refStats[N + i]!, teacher = teacherStats[i]!;
    const [student, control, cross] = [studentStats[3 * i]!, studentStats[3 * i + 1]!, studentStats[3 * i + 2]!];
    const shift = (x: TraitStats, from: TraitStats) => logOdds(x.animals) - logOdds(from.animals);
    const metrics: Record<string, number> = {
      trait_base: base.animals, trait_teacher: teacher.animals, trait_student: student.animals, trait_control: control.animals, trait_cross: cross.animals,
      trait_base_raw: base.raw, trait_teacher_raw: teacher.raw, trait_student_raw: student.raw, trait_control_raw: control.raw, trait_cross_raw: cross.raw,
      shift_teacher: shift(teacher, base), shift_student: shift(student, base), shift_control: shift(control, base), shift_cross: shift(cross, nextBase),
      transfer: shift(student, base) / shift(teacher, base),
      filter_pass: numbersOf[i]!.passTeacher, filter_pass_control: numbersOf[i]!.passControl,
      number_kl_student: meanNumberKl(tDist!, sDist!), number_kl_cross: meanNumberKl(tDist!, cDist!),
      animal_mass: student.animalMass, animal_mass_base: base.animalMass,
      pretrain_loss: baseOf.get(baseSeedOf(p, spec.seed))!.loss,
      // The seeds' studies: head swap (hybrid.ts), pruning (prune.ts), width.
      ...hybrids(i),
      trait_teacher_pruned: writerStats[i]!.animals,
      heads_pruned: writers[i]!.pruned.length,
      animals_per_dim: animalList(p.animals).length / p.d_model,
      ...detected?.[i],
      ...entangled,
    };
    outputs.push({
      rows: [{ metrics }],
      backend: `onnxruntime/cpu (${Math.min(threads, 3 * N)} thread${threads > 1 ? 's' : ''})`,
      extras: {
        curves: curves[i]!,
        group_size: N,
        base_seed: baseSeedOf(p, spec.seed),
        cross_init_seed: baseSeedOf(p, spec.seed) + 1,
        student_steps: seedSteps[i]!,
        student_rows: numbersOf[i]!.teacher.count,
        control_rows: numbersOf[i]!.control.count,
        peak_rss_mb: process.memoryUsage().rss / 1e6,
      },
    });
  }
  return outputs;
}

export const runner = lmDistillSchema.implement({
  maxGroup: (params) => params.models,
  cores: (params) => Math.min(params.threads > 0 ? params.threads : defaultThreads(), params.models),
  async run(specs, ctx) {
    if (specs.length === 0) return [];
    try {
      return await runGroup(specs, ctx);
    } finally {
      await releaseAll();
    }
  },
});
