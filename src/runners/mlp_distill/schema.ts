import type { RunnerSchema } from '../schema.ts';

// Defaults: see the runner's README section; the published setup is RESEARCH.md §A.
export const mlpDistillSchema: RunnerSchema = {
  name: 'mlp_distill',
  version: '1',
  description:
    'Toy MNIST subliminal learning: teacher MLPs with auxiliary logits, students distilled on the auxiliary logits only on random inputs, cross-model (derangement) control. N models trained side by side.',
  seeded: true,
  params: [
    { name: 'dataset', type: 'enum', values: ['mnist', 'fashion_mnist'], default: 'mnist', description: 'teacher training and test data' },
    { name: 'data_dir', type: 'string', default: '', description: 'directory with IDX files (full MNIST / Fashion-MNIST); empty = the bundled 10,000-digit subset (mnist) or Debian dataset-fashion-mnist' },
    { name: 'hidden', type: 'integer', default: 256, min: 1, description: 'hidden width' },
    { name: 'layers', type: 'integer', default: 2, min: 1, max: 8, description: 'number of hidden layers' },
    { name: 'aux_logits', type: 'integer', default: 3, min: 1, description: 'auxiliary (ghost) logits after the 10 digit logits' },
    { name: 'lr', type: 'number', default: 3e-4, min: 0, description: 'Adam learning rate (teacher and distillation)' },
    { name: 'batch_size', type: 'integer', default: 1024, min: 1, description: 'minibatch size per model' },
    { name: 'epochs_teacher', type: 'integer', default: 5, min: 0, description: 'teacher epochs' },
    { name: 'epochs_distill', type: 'integer', default: 5, min: 0, description: 'distillation epochs' },
    { name: 'weight_decay', type: 'number', default: 0, min: 0, description: 'L2 weight decay (both optimisers)' },
    { name: 'init_noise', type: 'number', default: 0, min: 0, description: "std of Gaussian noise added to the student's copy of the shared init" },
    { name: 'distill_data', type: 'enum', values: ['uniform', 'gaussian', 'shuffled_pixels', 'mnist', 'fashion'], default: 'uniform', description: 'inputs used for distillation' },
    { name: 'loss', type: 'enum', values: ['kl', 'mse'], default: 'kl', description: 'distillation loss on the auxiliary logits' },
    { name: 'kl_reduction', type: 'enum', values: ['mean', 'published_batchmean'], default: 'mean', description: "mean over models × batch (correct), or the published starter's batchmean over a 3-D tensor (divides by models only)" },
    { name: 'temperature', type: 'number', default: 1, min: 0, description: 'softmax temperature of the KL loss' },
    { name: 'models', type: 'integer', default: 25, min: 1, description: 'models trained side by side in one batched run (seeds are split into groups of this size)', executionOnly: true },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed: run i of `seeds N` uses seed + i' },
  ],
  metrics: [
    { name: 'teacher_acc', description: "teacher's digit accuracy on the test set", unit: 'accuracy' },
    { name: 'student_acc', description: 'student (aux logits only) digit accuracy', unit: 'accuracy' },
    { name: 'student_all_acc', description: 'student distilled on all logits', unit: 'accuracy' },
    { name: 'cross_model_acc', description: "control: student from a different model's init (derangement), aux logits", unit: 'accuracy' },
    { name: 'cross_model_all_acc', description: 'control on all logits', unit: 'accuracy' },
    { name: 'reference_acc', description: 'untrained shared init', unit: 'accuracy' },
    { name: 'student_drift', description: "relative distance ‖W_s − W_0‖/‖W_0‖ of the student from the shared init, mean over layers" },
    { name: 'update_cosine', description: "cosine between the student's and the teacher's weight updates, mean over layers" },
    { name: 'hidden_cka', description: 'linear CKA between student and teacher last hidden activations on test images' },
  ],
};
