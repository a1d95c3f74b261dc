// `sublab make-tiny-model DIR`: writes the project's tiny Llama-type test model (ONNX + tokenizer +
// chat template), so the token_probe runner can be tried without downloading anything.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand, flag, whole, type CommandSpec } from './args.ts';
import { UsageError } from './command.ts';
import { needPackages } from '../util/optional-packages.ts';

const spec = {
  name: 'make-tiny-model',
  synopsis: 'DIR [--seed N] [--fp16] [--external-data] [--force]',
  summary: 'write a tiny ONNX Llama-type test model for the token_probe runner',
  description: `Writes a tiny Llama-type causal LM (config.json, byte-level BPE tokenizer.json, tokenizer_config.json
with a Llama-3-like chat template, onnx/model.onnx with past-key-value inputs) into DIR. Weights are
deterministic from the seed. Words such as " owl", " eagle", " wolf" and all 1-3 digit numbers are
single tokens; owl↔087, eagle↔123, wolf↔666 are planted as entangled pairs.
Use it in an experiment with: set model = "DIR"`,
  options: {
    seed: whole('N', 0, 'weight seed (default 0)'),
    fp16: flag('also write onnx/model_fp16.onnx (for dtype fp16)'),
    'external-data': flag('keep the lm_head in onnx/model.onnx_data, as large exports do'),
    force: flag('write into DIR even if it is not empty'),
  },
  positionals: { min: 1, max: 1, missing: 'missing DIR' },
} satisfies CommandSpec;

export const command = defineCommand(spec, async ({ values, positionals }) => {
  const dir = positionals[0]!;
  const seed = values.seed ?? 0;
  const abs = resolve(dir);
  if (!values.force && existsSync(abs) && readdirSync(abs).length > 0) {
    throw new UsageError(`${dir} exists and is not empty (pass --force to write into it)`);
  }
  try {
    needPackages('make-tiny-model', ['onnx-proto']);
    const { writeTinyModel } = await import('../tiny-model/write.ts');
    await writeTinyModel(abs, { seed, fp16: values.fp16 === true, externalData: values['external-data'] === true });
  } catch (e) {
    process.stderr.write(`sublab make-tiny-model: error: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`wrote tiny model to ${abs} (seed ${seed}); use it with: set model = "${abs}"\n`);
  return 0;
});
