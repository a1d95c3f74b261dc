// `sublab make-tiny-model DIR`: writes the project's tiny Llama-type test model (ONNX + tokenizer +
// chat template), so the token_probe runner can be tried without downloading anything.
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type Command } from './command.ts';

const usage = `usage: sublab make-tiny-model DIR [--seed N] [--fp16] [--external-data] [--force]

Writes a tiny Llama-type causal LM (config.json, byte-level BPE tokenizer.json, tokenizer_config.json
with a Llama-3-like chat template, onnx/model.onnx with past-key-value inputs) into DIR. Weights are
deterministic from the seed. Words such as " owl", " eagle", " wolf" and all 1-3 digit numbers are
single tokens; owl↔087, eagle↔123, wolf↔666 are planted as entangled pairs.
Use it in an experiment with: set model = "DIR"

options:
  --seed N          weight seed (default 0)
  --fp16            also write onnx/model_fp16.onnx (for dtype fp16)
  --external-data   keep the lm_head in onnx/model.onnx_data, as large exports do
  --force           write into DIR even if it is not empty`;

export const command: Command = {
  summary: 'write a tiny ONNX Llama-type test model for the token_probe runner',
  usage,
  async run(args: string[]): Promise<number> {
    try {
      let dir: string | undefined;
      let seed = 0;
      let force = false;
      let fp16 = false;
      let externalData = false;
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a === '--seed') {
          const v = args[++i];
          if (v === undefined || !/^\d+$/.test(v)) throw new UsageError('--seed needs a non-negative integer');
          seed = Number(v);
        } else if (a === '--force') force = true;
        else if (a === '--fp16') fp16 = true;
        else if (a === '--external-data') externalData = true;
        else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        else if (dir === undefined) dir = a;
        else throw new UsageError(`unexpected argument ${a}`);
      }
      if (!dir) throw new UsageError('missing DIR');
      const abs = resolve(dir);
      if (!force && existsSync(abs) && readdirSync(abs).length > 0) {
        throw new UsageError(`${dir} exists and is not empty (pass --force to write into it)`);
      }
      const { writeTinyModel } = await import('../tiny-model/write.ts');
      await writeTinyModel(abs, { seed, fp16, externalData });
      process.stdout.write(`wrote tiny model to ${abs} (seed ${seed}); use it with: set model = "${abs}"\n`);
      return 0;
    } catch (e) {
      if (e instanceof UsageError) {
        process.stderr.write(`sublab make-tiny-model: ${e.message}\n\n${usage}\n`);
        return 2;
      }
      process.stderr.write(`sublab make-tiny-model: ${(e as Error).message}\n`);
      return 1;
    }
  },
};
