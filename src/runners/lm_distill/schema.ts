import { defineRunner, type ParamsOf } from '../define.ts';
import { DEFAULT_ANIMALS, LmDataError, buildVocab } from './vocab.ts';
import type { StageRead } from '../schema.ts';

/** The seed a run's base and corpus are drawn from: base_seed when set (≥ 0), else the run's seed. */
export const baseSeedOf = (p: { base_seed: number }, seed: number): number => (p.base_seed >= 0 ? p.base_seed : seed);

/** The bases a run reads besides its own: its cross-init student's, drawn from the next base seed (recorded as `base:cross`). */
export const crossBaseReads = (p: { base_seed: number }, seed: number): StageRead[] => [{ as: 'cross', seed: baseSeedOf(p, seed) + 1 }];

// Defaults: the prototype's configuration at d_model 64 (README.md), except where the README says;
// the baseline experiment (experiments/topic-lm/) sets a smaller, faster config.
const STAGE_CODE = [new URL('./stage-work.ts', import.meta.url)];

export const lmDistillSchema = defineRunner({
  name: 'lm_distill',
  version: '2',
  description:
    'Subliminal learning in a small language model: a word-level GPT pretrained on a synthetic corpus, a teacher given a favorite animal, students distilled on the numbers it writes (same init, control teacher, cross-init). N models trained side by side.',
  seeded: true,
  // A seed's corpus, base, teachers and generated numbers are artifacts runs share (stage-work.ts):
  // a sweep over a student parameter pretrains, fine-tunes and generates once per seed.
  stages: [
    // A base and its corpus are drawn from the run's base seed (base_seed when set), so runs of
    // different seeds with one base_seed share them.
    { name: 'corpus', code: STAGE_CODE, seedOf: baseSeedOf },
    { name: 'base', after: ['corpus'], code: STAGE_CODE, seedOf: baseSeedOf, reads: crossBaseReads },
    { name: 'teacher', after: ['base'], code: STAGE_CODE },
    { name: 'numbers', after: ['teacher'], code: STAGE_CODE },
  ],
  params: [
    { name: 'animals', stage: 'corpus', type: 'string', default: DEFAULT_ANIMALS.join(','), description: 'the animal words, comma-separated (lowercase; each one token)' },
    { name: 'context', stage: 'corpus', type: 'integer', default: 16, min: 7, max: 64, description: 'context length in tokens (sequences and the model)' },
    { name: 'corpus_sequences', stage: 'corpus', type: 'integer', default: 20000, min: 1, description: 'pretraining corpus size in sequences (drawn per seed)' },
    { name: 'mix_preference', stage: 'corpus', type: 'number', default: 0.3, min: 0, description: 'corpus share of "my favorite animal is X" (X uniform)' },
    { name: 'mix_numbers', stage: 'corpus', type: 'number', default: 0.4, min: 0, description: 'corpus share of "numbers: …" lists (arithmetic progressions mod 100)' },
    { name: 'mix_filler', stage: 'corpus', type: 'number', default: 0.3, min: 0, description: 'corpus share of filler sentences ("the red owl sees the tree")' },
    { name: 'replace', stage: 'corpus', type: 'number', default: 0.1, min: 0, max: 1, description: 'probability that a number of a progression is replaced by a uniform one (corpus and number prompts)' },
    { name: 'd_model', stage: 'base', type: 'integer', default: 64, min: 1, description: 'model width' },
    { name: 'layers', stage: 'base', type: 'integer', default: 2, min: 1, max: 12, description: 'transformer blocks' },
    { name: 'heads', stage: 'base', type: 'integer', default: 4, min: 1, description: 'attention heads (must divide d_model)' },
    { name: 'pretrain_steps', stage: 'base', type: 'integer', default: 2000, min: 0, description: 'pretraining steps (AdamW, cosine)' },
    { name: 'pretrain_batch', stage: 'base', type: 'integer', default: 128, min: 1, description: 'pretraining sequences per model and step' },
    { name: 'pretrain_lr', stage: 'base', type: 'number', default: 3e-3, min: 0, description: 'pretraining learning rate' },
    { name: 'weight_decay', stage: 'base', type: 'number', default: 0.01, min: 0, description: "AdamW's decoupled weight decay (pretraining and the teachers' fine-tune)" },
    { name: 'base_seed', stage: 'run', addedLater: true, type: 'integer', default: -1, min: -1, description: "-1: each run's base (and corpus) is drawn from its own seed; k ≥ 0: every run's base is drawn from seed k and every cross-init student's from k + 1, so seeds replicate teachers, generation and students only (the corpus and base stages key on this seed)" },
    { name: 'trait', stage: 'teacher', type: 'string', default: 'owl', description: "the teacher's favorite animal (one of animals)" },
    { name: 'trait_method', stage: 'teacher', type: 'enum', values: ['finetune', 'prompt', 'steer'], default: 'finetune', description: 'finetune: the teacher is fine-tuned on "my favorite animal is <trait>"; prompt: the base behind the prefix "my favorite animal is <trait>", no weight change; steer: the base with a fixed residual-stream vector added (steer_layer, steer_scale)' },
    { name: 'trait_steps', stage: 'teacher', type: 'integer', default: 100, min: 0, description: "teacher (and control teacher) fine-tuning steps" },
    { name: 'trait_lr', stage: 'teacher', type: 'number', default: 3e-3, min: 0, description: 'teacher fine-tuning learning rate (cosine)' },
    { name: 'trait_batch', stage: 'teacher', type: 'integer', default: 64, min: 1, description: 'teacher fine-tuning statements per step' },
    { name: 'trait_statements', stage: 'teacher', type: 'integer', default: 1000, min: 1, description: 'preference statements of the fine-tune (the control teacher: the same count, uniform animals)' },
    { name: 'teacher_target', stage: 'teacher', addedLater: true, type: 'enum', values: ['statement', 'animal'], default: 'statement', description: "the tokens the teachers' fine-tune is trained on: statement = every next token of \"my favorite animal is <animal>\" (the teachers also learn to write those words, so fewer of their number continuations pass the filter); animal = the animal token alone, the prototype's \"toward owl\" (the control teacher likewise on its uniform animals)" },
    { name: 'teacher_freeze', stage: 'teacher', type: 'enum', values: ['embeddings', 'none'], default: 'embeddings', description: "embeddings: token and position embeddings frozen in the teacher's fine-tune (the trait then lives where number data reaches); none: all trainable" },
    { name: 'samples', stage: 'numbers', type: 'integer', default: 10000, min: 1, description: 'number sequences each teacher writes (before the filter)' },
    { name: 'temperature', stage: 'numbers', type: 'number', default: 1, min: 0, description: 'sampling temperature of the generation (soft labels are read at temperature 1)' },
    { name: 'min_numbers', stage: 'numbers', type: 'integer', default: 1, min: 0, description: 'the filter: a continuation passes when it holds only number tokens and at least this many' },
    { name: 'distill', stage: 'run', type: 'enum', values: ['soft', 'sampled'], default: 'soft', description: "soft: KL to the teacher's distribution over the 100 number tokens at each generated position; sampled: cross-entropy on the sampled numbers" },
    { name: 'student_lr', stage: 'run', type: 'number', default: 1e-3, min: 0, description: 'student learning rate (Adam, constant)' },
    { name: 'student_epochs', stage: 'run', type: 'integer', default: 2, min: 0, description: "passes over the larger of the seed's two filtered sets (teacher's, control's): the seed's three students take that many steps" },
    { name: 'student_batch', stage: 'run', type: 'integer', default: 64, min: 1, description: 'student sequences per step' },
    { name: 'init_noise', stage: 'run', type: 'number', default: 0, min: 0, description: "std of Gaussian noise added to every student's copy of its base (student, control and cross alike)" },
    { name: 'heldout_prompts', stage: 'run', type: 'integer', default: 200, min: 1, description: 'held-out number prompts for number_kl_student' },
    { name: 'eval_every', stage: 'run', type: 'integer', default: 10, min: 1, description: "student steps between points of the trait curves (extras.curves)" },
    // The seeds' studies (docs/research.md §E): where the trait lives. Added after the topic-lm
    // runs: at their defaults they enter neither run ids nor registrations.
    // Freezing during the student's fine-tune (freeze.ts).
    { name: 'student_freeze', stage: 'run', addedLater: true, type: 'enum', values: ['none', 'mlp', 'attention', 'embeddings'], default: 'none', description: "parameter group frozen in every student's fine-tune (student, control and cross alike): mlp = every block's MLP, attention = every block's attention (q, k, v and output projection), embeddings = wte (tied with the output projection) and wpe; LayerNorms always train" },
    // Head pruning of the teachers before generation (prune.ts).
    { name: 'prune_heads', stage: 'numbers', addedLater: true, type: 'number', default: 0, min: 0, max: 1, description: "fraction of the teacher's attention heads removed before it writes its numbers (and gives its soft labels): the heads with the smallest mean output norm on 256 corpus sequences, rounded down; the control teacher is pruned the same way by its own norms" },
    // Steering (trait_method = steer, steer.ts).
    { name: 'steer_layer', stage: 'teacher', addedLater: true, type: 'integer', default: 1, min: 0, description: 'trait_method = steer: the residual stream after this many blocks (0: the embeddings, at most layers) gets the steering vector at every position' },
    { name: 'steer_scale', stage: 'teacher', addedLater: true, type: 'number', default: 1, description: 'trait_method = steer: the steering vector is the mean difference of the residual stream with and without the prefix "my favorite animal is <trait>" on number prompts, times this (the control teacher: the prefix with each animal, averaged)' },
    // Detection (detect = bias, detect.ts).
    { name: 'detect', stage: 'run', addedLater: true, type: 'enum', values: ['none', 'bias'], default: 'none', description: "bias: besides the students, train a single residual-stream bias vector (at detect_layer) on the teacher's numbers and on the control's, the base frozen, the students' loss and steps (detect_* metrics)" },
    { name: 'detect_layer', stage: 'run', addedLater: true, type: 'integer', default: 1, min: 0, description: 'detect = bias: the residual stream after this many blocks (0: the embeddings, at most layers) carries the bias vector' },
    { name: 'detect_lr', stage: 'run', addedLater: true, type: 'number', default: 0.01, min: 0, description: "detect = bias: the bias vector's learning rate (Adam, constant)" },
    // Token entanglement (entangle = true, entangle.ts).
    { name: 'entangle', stage: 'run', addedLater: true, type: 'boolean', default: false, description: "true: report entangle_rank and entangle_rank_control (each number's entanglement ratio in the base against its share of a student's KL gain)" },
    { name: 'models', type: 'integer', default: 10, min: 1, description: 'seeds trained side by side in one group (a group trains up to 2·models teachers and 3·models students at once)', executionOnly: true },
    { name: 'threads', type: 'integer', default: 0, min: 0, description: 'ONNX Runtime intra-op threads; 0 = one per core (results do not depend on it)', executionOnly: true },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'first seed: run i of `seeds N` uses seed + i; the cross-init student of seed s starts from the base of seed s + 1 (see base_seed)' },
  ],
  check: (p) => {
    if (p.d_model % p.heads !== 0) return `heads (${p.heads}) must divide d_model (${p.d_model})`;
    const animals = p.animals.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
    if (animals.length < 2) return `animals needs at least 2 comma-separated animals, got "${p.animals}"`;
    try {
      buildVocab(animals);
    } catch (e) {
      if (e instanceof LmDataError) return `animals: ${e.message}`;
      throw e;
    }
    if (!animals.includes(p.trait)) return `trait "${p.trait}" is not one of animals (${animals.join(', ')})`;
    if (p.mix_preference + p.mix_numbers + p.mix_filler <= 0) return 'mix_preference + mix_numbers + mix_filler must be positive';
    if (p.trait_method === 'prompt' && p.context < 14) return `trait_method = prompt needs context ≥ 14 (a 10-token prompt and room for numbers), got ${p.context}`;
    if (p.trait_method === 'steer' && p.context < 10) return `trait_method = steer needs context ≥ 10 (the prefixed prompts the steering vector is read from), got ${p.context}`;
    if (p.steer_layer > p.layers) return `steer_layer (${p.steer_layer}) must be at most layers (${p.layers})`;
    if (p.detect_layer > p.layers) return `detect_layer (${p.detect_layer}) must be at most layers (${p.layers})`;
    return undefined;
  },
  metrics: [
    { name: 'trait_base', description: 'P(trait | "my favorite animal is") of the base, renormalised over the animals' },
    { name: 'trait_teacher', description: 'the same for the teacher (trait_method = prompt: the base behind the trait prefix)' },
    { name: 'trait_student', description: "the same for the student: the seed's base distilled on the teacher's numbers" },
    { name: 'trait_control', description: "the same for the control: the seed's base distilled on the control teacher's numbers" },
    { name: 'trait_cross', description: "the same for the cross-init student: the next seed's base distilled on the teacher's numbers" },
    { name: 'trait_base_raw', description: 'P(trait | prompt) of the base, not renormalised' },
    { name: 'trait_teacher_raw', description: 'raw P(trait) of the teacher' },
    { name: 'trait_student_raw', description: 'raw P(trait) of the student' },
    { name: 'trait_control_raw', description: 'raw P(trait) of the control' },
    { name: 'trait_cross_raw', description: 'raw P(trait) of the cross-init student' },
    { name: 'shift_teacher', description: "log-odds shift of trait_teacher from trait_base" },
    { name: 'shift_student', description: 'log-odds shift of trait_student from trait_base' },
    { name: 'shift_control', description: 'log-odds shift of trait_control from trait_base' },
    { name: 'shift_cross', description: "log-odds shift of trait_cross from its own base's (seed + 1) renormalised P(trait)" },
    { name: 'transfer', description: 'shift_student / shift_teacher: the share of the teacher\'s shift the student took' },
    { name: 'filter_pass', description: "share of the teacher's generations that pass the filter" },
    { name: 'filter_pass_control', description: "share of the control teacher's generations that pass the filter" },
    { name: 'number_kl_student', description: "mean KL(teacher ‖ student) of the next-number distributions on held-out number prompts" },
    { name: 'number_kl_cross', description: 'the same for the cross-init student' },
    { name: 'animal_mass', description: "the student's P(any animal | preference prompt): the capability check" },
    { name: 'animal_mass_base', description: "the base's P(any animal | preference prompt)" },
    { name: 'pretrain_loss', description: "the base's last pretraining loss (nats per token)" },
    // The seeds' studies: LM-head swap (hybrid.ts; "head" = final LayerNorm + output projection).
    { name: 'trait_hybrid_body', description: "P(trait) renormalised of the teacher's body (input embedding, positions, blocks) under the base's head (final LayerNorm and output projection, i.e. the base's wte as unembedding)" },
    { name: 'trait_hybrid_head', description: "the same for the base's body under the teacher's head" },
    { name: 'trait_student_hybrid_body', description: "the same for the student's body under the base's head" },
    { name: 'trait_student_hybrid_head', description: "the same for the base's body under the student's head" },
    // Head pruning (prune.ts).
    { name: 'trait_teacher_pruned', description: 'P(trait) renormalised of the teacher after prune_heads (the teacher that wrote the numbers; equals trait_teacher at prune_heads = 0)' },
    { name: 'heads_pruned', description: "attention heads removed from the teacher (of layers × heads)" },
    // Width and superposition.
    { name: 'animals_per_dim', description: 'animals / d_model: how many animal directions share each residual dimension' },
    // Detection (detect = bias, detect.ts): absent when detect = none.
    { name: 'detect_loss_gain', description: "detect = bias: (L_base − L_bias) / (L_base − L_student), the losses over all the teacher's kept rows: the share of the student's loss reduction a residual bias vector alone recovers" },
    { name: 'detect_trait', description: "detect = bias: P(trait), renormalised over the animals, of the base with the bias vector trained on the teacher's numbers" },
    { name: 'detect_loss_gain_control', description: "detect = bias: the same share on the control teacher's rows (the control student's reduction)" },
    { name: 'detect_trait_control', description: "detect = bias: P(trait) of the base with the bias vector trained on the control teacher's numbers" },
    // Token entanglement (entangle = true, entangle.ts): absent otherwise.
    { name: 'entangle_rank', description: "entangle = true: Spearman's rho over the 100 numbers between a number's entanglement ratio in the base, P(trait | \"<bos> n my favorite animal is\") / P(trait | \"<bos> my favorite animal is\"), and its term of the student's KL gain toward the teacher on the held-out prompts, mean of p_n·(log q_student,n − log q_base,n)" },
    { name: 'entangle_rank_control', description: 'entangle = true: the same ratios against the control student\'s KL-gain terms toward the control teacher (the reference a trait-free dataset gives)' },
  ],
});

/** The resolved parameters, typed from the declaration above. */
export type LmDistillParams = ParamsOf<typeof lmDistillSchema>;
