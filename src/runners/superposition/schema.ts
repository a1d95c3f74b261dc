import { defineRunner, type ParamsOf } from '../define.ts';
import { engineIdentity } from '../../backend/engine-choice.ts';

export const superpositionSchema = defineRunner({
  name: 'superposition',
  version: '2',
  description:
    "Toy model of superposition x' = ReLU(WᵀWx + b) (Elhage et al.), teacher and a child distilled from it, with an ablated or auxiliary-feature variant.",
  seeded: true,
  // Each seed's trained teacher is an artifact runs share (teacher-stage.ts): a sweep over a child
  // parameter trains one teacher per seed. Key: the parameters declared `stage: 'teacher'` below
  // (every one the teacher phase reads), the seed, the source files runner.ts reaches (both
  // engines) and the engine. `stage: 'run'`: only the child or the evaluation reads it.
  stages: [{ name: 'teacher', code: [new URL('./runner.ts', import.meta.url)], data: (p) => ({ engine: engineIdentity(p) }) }],
  // What one parameter's bounds cannot say (the rest is checked from the declarations below).
  check: (p) => {
    if (p.variant === 'ablated' && p.ablate >= p.features) return `ablate must be a feature index in [0, ${p.features - 1}], got ${p.ablate}`;
    if (p.variant === 'auxiliary' && p.aux_features < 1) return `variant auxiliary needs aux_features >= 1, got ${p.aux_features}`;
    return undefined;
  },
  params: [
    { name: 'variant', stage: 'teacher', type: 'enum', values: ['ablated', 'auxiliary'], default: 'auxiliary', description: 'ablated: the child gets no loss on one real feature; auxiliary: k extra features are ablated from the teacher loss and the child learns only from them' },
    { name: 'features', stage: 'teacher', type: 'integer', default: 20, min: 1, description: 'number of real features n' },
    { name: 'hidden', stage: 'teacher', type: 'integer', default: 5, min: 1, description: 'hidden dimensions m' },
    { name: 'sparsity', stage: 'teacher', type: 'number', default: 0.9, min: 0, max: 0.9999, description: 'probability S that a feature is zero (else uniform [0,1])' },
    { name: 'importance', stage: 'teacher', type: 'number', default: 0.7, min: 0, max: 1, description: 'feature i has loss weight importance^i' },
    { name: 'aux_features', stage: 'teacher', type: 'integer', default: 5, min: 0, description: 'k auxiliary features (variant auxiliary)' },
    { name: 'aux_input', stage: 'teacher', type: 'enum', values: ['zero', 'sparse'], default: 'zero', description: 'auxiliary features as inputs: zero (extra outputs only, like the MNIST ghost logits: the teacher never trains them) or sparse (drawn like the real features)' },
    { name: 'ablate', stage: 'run', type: 'integer', default: 0, min: 0, description: 'index of the ablated feature (variant ablated)' },
    { name: 'steps', stage: 'teacher', type: 'integer', default: 2000, min: 1, description: 'optimiser steps for teacher and for child (default sized so a 5-point × 8-seed sweep takes a few minutes on TensorFlow.js wasm; seconds on ONNX Runtime)' },
    { name: 'batch_size', stage: 'teacher', type: 'integer', default: 256, min: 1, description: 'examples per step' },
    { name: 'lr', stage: 'teacher', type: 'number', default: 3e-3, min: 0, description: 'Adam learning rate (teacher and child, fresh Adam state each)' },
    { name: 'child_init', stage: 'run', type: 'enum', values: ['shared', 'independent'], default: 'shared', description: "shared: the child starts as an exact copy of the teacher's initial W and b (the subliminal-learning setup); independent: a fresh init from the same distribution (control)" },
    { name: 'init_scale', stage: 'teacher', type: 'number', default: 1, min: 0, description: 'multiplier on the Xavier-normal init std √(2/(m+F))' },
    { name: 'eval_batch', stage: 'run', type: 'integer', default: 4096, min: 1, description: 'held-out examples per model for teacher_loss and child_loss' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed: run i of `seeds N` uses seed + i' },
    { name: 'backend', type: 'enum', values: ['auto', 'onnxruntime', 'tfjs', 'tfjs-node-gpu', 'tfjs-node', 'tfjs-wasm', 'tfjs-cpu'], default: 'auto', description: 'training engine: onnxruntime (one session run per step; auto picks it unless env SUBLAB_BACKEND says otherwise) or TensorFlow.js, the cross-check (tfjs = tfjs-node-gpu → tfjs-node → tfjs-wasm → tfjs-cpu, whichever loads)', executionOnly: true },
    { name: 'device', type: 'enum', values: ['auto', 'cpu', 'cuda'], default: 'auto', description: "ONNX Runtime device: cuda needs onnxruntime-node's CUDA 12 provider (install with ONNXRUNTIME_NODE_INSTALL=cuda12) and a visible GPU; auto = cuda where both are there, else cpu", executionOnly: true },
    { name: 'threads', type: 'integer', default: 1, min: 0, description: 'ONNX Runtime intra-op threads (default 1: at these shapes a second thread measured no faster); 0 = one per core; a group uses at most one per seed (results do not depend on it)', executionOnly: true },
  ],
  metrics: [
    { name: 'teacher_features_per_dim', description: "teacher's ‖W‖²_F / m (superposition)" },
    { name: 'child_features_per_dim', description: "child's ‖W‖²_F / m" },
    { name: 'transfer_ratio', description: "child/teacher norm ratio of the features the child never got a loss on" },
    { name: 'transfer_cosine', description: "cosine between the child's and the teacher's updates (trained minus initial weights) of those never-supervised features", unit: '[-1, 1]' },
    { name: 'init_ratio', description: "transfer_ratio the child would have had without training: norm of its initial weights of those features over the teacher's trained norm (the no-transfer baseline)" },
    { name: 'teacher_loss', description: "teacher's final importance-weighted MSE" },
    { name: 'child_loss', description: "child's final distillation loss" },
  ],
});

/** The resolved parameters, typed from the declaration above. */
export type SuperpositionParams = ParamsOf<typeof superpositionSchema>;
