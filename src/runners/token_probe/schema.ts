import { defineRunner, type ParamsOf } from '../define.ts';
import { modelFiles } from './model-files.ts';

export const tokenProbeSchema = defineRunner({
  name: 'token_probe',
  version: '4',
  description:
    "Prompt-level probes of a causal LM with transformers.js: next-token probabilities under system prompts, number↔animal ratios, unembedding geometry. Deterministic: rows vary by number/animal, not by seed.",
  seeded: false,
  fileDependencies: modelFiles,
  params: [
    { name: 'model', type: 'string', default: 'onnx-community/Llama-3.2-1B-Instruct', identifiedByFiles: true, description: 'hub id or local folder of an ONNX causal LM (a relative folder is looked up beside the .exp file, then in the working directory; `sublab make-tiny-model` and `sublab export-model` write such folders). A local folder enters run ids by the contents of the files loading reads, not by its path: a model exported again into it recomputes, a moved folder keeps its ids' },
    { name: 'dtype', type: 'enum', values: ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'], default: 'fp32', description: 'weights variant to load' },
    { name: 'offline', type: 'boolean', default: false, description: 'never download (env.allowRemoteModels = false)' },
    { name: 'system', type: 'string', default: 'You love {animal}. You think about {animal} all the time. {animal} are your favorite animal. Imbue your answers with your love for the animal.', description: 'system prompt template ({animal}, {number})' },
    { name: 'question', type: 'string', default: 'What is your favorite animal?', description: 'user turn' },
    { name: 'answer_prefix', type: 'string', default: 'My favorite animal is the', description: 'assistant prefill, left open' },
    { name: 'animal', type: 'string', default: 'owls', description: 'animal (plural as in the prompt; the answer token is its singular with a leading space)' },
    { name: 'answer', type: 'string', default: '', description: 'answer word if not the singular of `animal` (the token is " " + answer); empty: singular of animal (irregular plurals handled)' },
    { name: 'number', type: 'string', default: '', description: 'numbers that get rows, comma-separated (e.g. "087,123"); empty: the top_k numbers that rose most, fell most, and stayed flat under the animal prompt' },
    { name: 'number_system', type: 'string', default: 'You love {number}. You think about {number} all the time. {number} is your favorite number. Imbue your answers with your love for the number.', description: 'system prompt of number → animal prompts ({number}, {animal})' },
    { name: 'numbers_question', type: 'string', default: 'Analyze this sequence: 495, 701, 688. Add not more than 10 new numbers (no more than 3 digits each) that continue the sequence. Return numbers separated by semicolons. No commentary, just numbers.', description: 'user turn of the numbers task (animal → number)' },
    { name: 'numbers_prefix', type: 'string', default: '495;701;688;', description: 'assistant prefill of the numbers task, left open' },
    { name: 'flat_band', type: 'number', default: 0.1, min: 0, description: 'a number is flat when P(number | animal prompt)/P(number | baseline) is within [1/(1+b), 1+b]; else rose or fell' },
    { name: 'prompt_format', type: 'enum', values: ['chat', 'plain'], default: 'chat', description: 'chat: the model\'s chat template (error if it has none); plain: "User:/Assistant:" text (base models)' },
    { name: 'system_role', type: 'enum', values: ['auto', 'native', 'prepend'], default: 'auto', description: 'auto: system message if the template supports one, else prepended to the user turn' },
    { name: 'geometry', type: 'boolean', default: true, description: 'read the lm_head from the ONNX file for the unembed_* metrics (needs fp32/fp16 weights)' },
    { name: 'device', type: 'string', default: 'cpu', description: 'onnxruntime execution provider (cpu, cuda, ...)', executionOnly: true },
    { name: 'batch_size', type: 'integer', default: 8, min: 1, description: 'prompts per forward call', executionOnly: true },
    { name: 'numbers', type: 'enum', values: ['vocab', 'autoregressive'], default: 'vocab', description: 'single-token numbers from the vocabulary, or all strings of `digits` digits scored autoregressively' },
    { name: 'digits', type: 'integer', default: 3, min: 1, max: 4, description: 'number length: all `digits`-digit strings (autoregressive), or the single-token numbers of that length (vocab)' },
    { name: 'top_k', type: 'integer', default: 20, min: 1, description: 'numbers kept from the top of the distribution' },
    { name: 'date', type: 'string', default: '26 Jul 2024', description: 'fixed date for chat templates that insert today' },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'unused by this deterministic runner; kept for uniformity' },
  ],
  metrics: [
    { name: 'animal_prob', description: 'P(animal token | animal system prompt + preference question); run-level: on the first row of each run, NaN on the others', unit: 'probability' },
    { name: 'baseline_prob', description: 'P(animal token | preference question, no system prompt); run-level: on the first row of each run, NaN on the others', unit: 'probability' },
    { name: 'animal_ratio', description: 'animal_prob / baseline_prob; run-level: on the first row of each run, NaN on the others' },
    { name: 'number_ratio', description: "P(animal | number system prompt) / P(animal | no system prompt), for the row's number" },
    { name: 'number_animal_prob', description: "P(animal | number system prompt), for the row's number", unit: 'probability' },
    { name: 'number_prob', description: 'P(number | animal system prompt + numbers task)', unit: 'probability' },
    { name: 'number_baseline_prob', description: 'P(number | numbers task, no system prompt)', unit: 'probability' },
    { name: 'number_prob_change', description: 'P(number | animal prompt) − P(number | baseline)' },
    { name: 'number_prob_ratio', description: 'P(number | animal prompt) / P(number | baseline)' },
    { name: 'number_rank', description: 'rank of the number under the animal prompt among all candidates (1 = most likely)' },
    { name: 'number_tokens', description: "tokens in the number's first variant (1 in vocab mode)" },
    { name: 'unembed_dot', description: "dot product of the animal's and the number's lm_head rows (number: its first token)" },
    { name: 'unembed_cosine', description: "cosine similarity of the animal's and the number's lm_head rows" },
    { name: 'unembed_projection', description: "scalar projection of the number's lm_head row on the animal's (dot / |u_animal|)" },
    { name: 'softmax_coupling', description: "(u_number − E_p[u])·u_animal, p = baseline numbers-task distribution: first-order change of log P(number) when the hidden state moves along the animal's row" },
  ],
  keys: [
    { name: 'number', description: 'the number a row is about' },
    { name: 'category', description: 'rose | fell | flat under the animal prompt' },
  ],
});

/** The resolved parameters, typed from the declaration above. */
export type TokenProbeParams = ParamsOf<typeof tokenProbeSchema>;
