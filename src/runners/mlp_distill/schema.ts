import { defineRunner, type ParamsOf } from '../define.ts';
import { teacherStageData } from './teacher-stage.ts';

// Defaults: see the runner's README section; the published setup is in docs/research.md.
export const mlpDistillSchema = defineRunner({
  name: 'mlp_distill',
  version: '3',
  description:
    'Toy MNIST subliminal learning: teacher MLPs with auxiliary logits, students distilled on the auxiliary logits only on random inputs, cross-model (derangement) control. N models trained side by side.',
  seeded: true,
  // Each seed's trained teacher is an artifact runs share (teacher-stage.ts): a sweep over a
  // distillation parameter trains one teacher per seed. Its key holds the parameters declared
  // `stage: 'teacher'` below (every one the teacher phase reads), the seed, the source files the
  // engines reach (they also hold the distillation code: an edit there retrains teachers too, to
  // be safe), a digest of the images and the engine. `stage: 'run'`: only distillation reads it.
  stages: [
    {
      name: 'teacher',
      code: [new URL('./onnx/engine.ts', import.meta.url), new URL('./engine-tfjs.ts', import.meta.url), new URL('./teacher-stage.ts', import.meta.url)],
      data: (p) => teacherStageData(p),
    },
  ],
  params: [
    { name: 'dataset', stage: 'teacher', type: 'enum', values: ['mnist', 'fashion_mnist'], default: 'mnist', description: 'teacher training and test data' },
    { name: 'data_dir', stage: 'teacher', type: 'string', default: '', description: 'directory with IDX files (full MNIST / Fashion-MNIST); empty = the bundled 10,000-digit subset (mnist) or Debian dataset-fashion-mnist' },
    { name: 'hidden', stage: 'teacher', type: 'integer', default: 256, min: 1, description: 'hidden width' },
    { name: 'layers', stage: 'teacher', type: 'integer', default: 2, min: 1, max: 8, description: 'number of hidden layers' },
    { name: 'aux_logits', stage: 'teacher', type: 'integer', default: 3, min: 1, description: 'auxiliary (ghost) logits after the 10 digit logits' },
    { name: 'lr', stage: 'teacher', type: 'number', default: 3e-4, min: 0, description: 'Adam learning rate (teacher and distillation)' },
    { name: 'batch_size', stage: 'teacher', type: 'integer', default: 128, min: 1, description: 'minibatch size per model (published: 1024 on full MNIST; 128 on the bundled 8,000 digits gives the published ~300 optimiser steps per phase)' },
    { name: 'batch_size_distill', stage: 'run', type: 'integer', default: 0, min: 0, description: 'distillation minibatch size per model; 0 = batch_size' },
    { name: 'epochs_teacher', stage: 'teacher', type: 'integer', default: 5, min: 0, description: 'teacher epochs' },
    { name: 'epochs_distill', stage: 'run', type: 'integer', default: 1, min: 0, description: 'distillation epochs over the noise_size inputs (published: 5 at batch 1024 over 60,000; default 1 at batch 128 over 60,000 = 469 steps)' },
    { name: 'weight_decay', stage: 'teacher', type: 'number', default: 0, min: 0, description: 'L2 weight decay (both optimisers)' },
    { name: 'init_noise', stage: 'run', type: 'number', default: 0, min: 0, description: "std of Gaussian noise added to the student's copy of the shared init" },
    { name: 'distill_data', stage: 'run', type: 'enum', values: ['uniform', 'gaussian', 'shuffled_pixels', 'mnist', 'fashion'], default: 'uniform', description: 'inputs used for distillation' },
    { name: 'noise_size', stage: 'run', type: 'integer', default: 60000, min: 0, description: 'distillation inputs per model (drawn once, reshuffled each epoch); 0 = as many as the training set. Default 60,000 = the published volume (full MNIST train size)' },
    { name: 'loss', stage: 'run', type: 'enum', values: ['kl', 'mse'], default: 'kl', description: 'distillation loss on the auxiliary logits' },
    { name: 'kl_reduction', stage: 'run', type: 'enum', values: ['mean', 'published_batchmean'], default: 'mean', description: "mean over models × batch (correct), or the published starter's batchmean over a 3-D tensor (divides by models only)" },
    { name: 'temperature', stage: 'run', type: 'number', default: 1, min: 0, description: 'softmax temperature of the KL loss' },
    { name: 'models', type: 'integer', default: 25, min: 1, description: 'models trained side by side in one batched run (seeds are split into groups of this size)', executionOnly: true },
    { name: 'backend', type: 'enum', values: ['auto', 'onnxruntime', 'tfjs', 'tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm', 'tfjs-cpu'], default: 'auto', description: 'training engine: onnxruntime (native batched kernels; auto picks it unless env SUBLAB_BACKEND says otherwise) or TensorFlow.js, the cross-check (tfjs = tfjs-node-gpu → tfjs-node → tfjs-wasm → tfjs-cpu, whichever loads)', executionOnly: true },
    { name: 'device', type: 'enum', values: ['auto', 'cpu', 'cuda'], default: 'auto', description: "ONNX Runtime device: cuda needs onnxruntime-node's CUDA 12 provider (install with ONNXRUNTIME_NODE_INSTALL=cuda12) and a visible GPU; auto = cuda where both are there, else cpu", executionOnly: true },
    { name: 'threads', type: 'integer', default: 0, min: 0, description: 'ONNX Runtime intra-op threads in all (divided among the workers); 0 = one per core (results do not depend on it)', executionOnly: true },
    { name: 'workers', type: 'integer', default: 0, min: 0, description: 'worker threads sharing a group, each with a contiguous share of its seeds (ONNX Runtime on the CPU: one session of threads/workers threads each; TensorFlow.js wasm/cpu: its own backend each); 0 = one per core; results do not depend on it', executionOnly: true },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed: run i of `seeds N` uses seed + i' },
  ],
  // What a run can leave out (src/plan/needs.ts): an arm not trained, an evaluation not run, the
  // per-epoch curves not taken. Each arm has its own random streams and its own optimiser, so a
  // metric is the same number whatever else is computed (tests/mlp_distill/parts.test.ts).
  parts: [
    { name: 'student', kind: 'arm', description: 'the student distilled on the auxiliary logits (its accuracy, drift and update cosine)' },
    { name: 'student_all', kind: 'arm', description: 'the student distilled on all logits' },
    { name: 'cross', kind: 'arm', description: "the cross-model control: a student from another seed's init, auxiliary logits" },
    { name: 'cross_all', kind: 'arm', description: 'the cross-model control on all logits' },
    { name: 'cka', kind: 'evaluation', description: "linear CKA of the student's hidden layers against the teacher's on the test images" },
    { name: 'cross_cka', kind: 'evaluation', description: "linear CKA of the control's last hidden layer against the teacher's" },
    { name: 'curves', kind: 'curves', description: "per-epoch losses, accuracies, drift, update cosine and CKA of the arms computed (the teacher's curves come with the teacher)" },
  ],
  metrics: [
    { name: 'teacher_acc', description: "teacher's digit accuracy on the test set", unit: 'accuracy' },
    { name: 'student_acc', description: 'student (aux logits only) digit accuracy', unit: 'accuracy', computedBy: ['student'] },
    { name: 'student_all_acc', description: 'student distilled on all logits', unit: 'accuracy', computedBy: ['student_all'] },
    { name: 'cross_model_acc', description: "control: student from a different model's init (derangement), aux logits", unit: 'accuracy', computedBy: ['cross'] },
    { name: 'cross_model_all_acc', description: 'control on all logits', unit: 'accuracy', computedBy: ['cross_all'] },
    { name: 'reference_acc', description: 'untrained shared init', unit: 'accuracy' },
    { name: 'student_drift', description: "relative distance ‖W_s − W_0‖/‖W_0‖ of the student from the shared init, mean over layers", computedBy: ['student'] },
    { name: 'update_cosine', description: "cosine between the student's and the teacher's weight updates, mean over layers", computedBy: ['student'] },
    { name: 'hidden_cka', description: 'linear CKA between student and teacher last hidden activations on test images', computedBy: ['student', 'cka'] },
    { name: 'student_drift_l1', description: 'student_drift of the first layer (784 → hidden)', computedBy: ['student'] },
    { name: 'student_drift_out', description: 'student_drift of the output layer (hidden → 10 + aux)', computedBy: ['student'] },
    { name: 'update_cosine_l1', description: "update_cosine of the first layer (the output layer's is 0 by construction: teacher and student update disjoint columns)", computedBy: ['student'] },
    { name: 'hidden_cka_l1', description: 'linear CKA between student and teacher first hidden activations on test images', computedBy: ['student', 'cka'] },
    { name: 'cross_model_cka', description: 'linear CKA between the cross-model control and the teacher, last hidden layer (the baseline for hidden_cka)', computedBy: ['cross', 'cross_cka'] },
  ],
});

/** The resolved parameters, typed from the declaration above. */
export type MlpDistillParams = ParamsOf<typeof mlpDistillSchema>;
