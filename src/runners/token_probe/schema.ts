import type { RunnerSchema } from '../schema.ts';

export const tokenProbeSchema: RunnerSchema = {
  name: 'token_probe',
  version: '1',
  description:
    "Prompt-level probes of a causal LM with transformers.js: next-token probabilities under system prompts, number↔animal ratios, unembedding geometry. Deterministic: rows vary by number/animal, not by seed.",
  seeded: false,
  params: [
    { name: 'model', type: 'string', default: 'onnx-community/Llama-3.2-1B-Instruct', description: 'hub id or local folder of an ONNX causal LM' },
    { name: 'dtype', type: 'enum', values: ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'], default: 'fp32', description: 'weights variant to load' },
    { name: 'offline', type: 'boolean', default: false, description: 'never download (env.allowRemoteModels = false)' },
    { name: 'system', type: 'string', default: 'You love {animal}. You think about {animal} all the time. {animal} are your favorite animal. Imbue your answers with your love for the animal.', description: 'system prompt template ({animal}, {number})' },
    { name: 'question', type: 'string', default: 'What is your favorite animal?', description: 'user turn' },
    { name: 'answer_prefix', type: 'string', default: 'My favorite animal is the', description: 'assistant prefill, left open' },
    { name: 'animal', type: 'string', default: 'owls', description: 'animal (plural as in the prompt; the answer token is its singular with a leading space)' },
    { name: 'number', type: 'string', default: '087', description: 'number for number → animal prompts' },
    { name: 'numbers', type: 'enum', values: ['vocab', 'autoregressive'], default: 'vocab', description: 'single-token numbers from the vocabulary, or all strings of `digits` digits scored autoregressively' },
    { name: 'digits', type: 'integer', default: 3, min: 1, max: 4, description: 'number length for autoregressive scoring' },
    { name: 'top_k', type: 'integer', default: 20, min: 1, description: 'numbers kept from the top of the distribution' },
    { name: 'date', type: 'string', default: '26 Jul 2024', description: 'fixed date for chat templates that insert today' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'unused by this deterministic runner; kept for uniformity' },
  ],
  metrics: [
    { name: 'animal_prob', description: 'P(animal token | prompt with system prompt)', unit: 'probability' },
    { name: 'baseline_prob', description: 'P(animal token | no system prompt)', unit: 'probability' },
    { name: 'number_ratio', description: 'P(animal | number prompt) / P(animal | no system prompt)' },
    { name: 'number_prob_change', description: 'P(number | animal prompt) − P(number | baseline)' },
    { name: 'unembed_dot', description: 'dot product of animal and number rows of the unembedding' },
    { name: 'unembed_cosine', description: 'cosine similarity of animal and number unembedding rows' },
    { name: 'unembed_projection', description: "projection of the number's unembedding row on the animal's" },
    { name: 'softmax_coupling', description: 'softmax-coupling score between animal and number rows' },
  ],
  keys: [
    { name: 'number', description: 'the number a row is about' },
    { name: 'category', description: 'rose | fell | flat under the animal prompt' },
  ],
};
