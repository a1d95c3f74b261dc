// The files of a transformers.js model folder (config.json, generation_config.json, tokenizer
// files, onnx/*.onnx), written the same way for every model the project makes: the tiny Llama
// (write.ts) and lm_distill's exported GPTs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SpecialToken {
  content: string;
  id: number;
}

export interface ModelFolder {
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  /** tokenizer.json (a Hugging Face fast tokenizer). */
  tokenizer: unknown;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
  /** Files under onnx/ (model.onnx, its external data, fp16 variants). */
  onnx: { name: string; bytes: Uint8Array }[];
}

/** tokenizer.json's `added_tokens` entries of special tokens. */
export function addedTokens(specials: readonly SpecialToken[]): Record<string, unknown>[] {
  return specials.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

/** tokenizer_config.json's `added_tokens_decoder` of special tokens. */
export function addedTokensDecoder(specials: readonly SpecialToken[]): Record<string, unknown> {
  return Object.fromEntries(
    specials.map((s) => [String(s.id), { content: s.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
  );
}

export async function writeModelFolder(dir: string, f: ModelFolder): Promise<void> {
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify(f.config, null, 2));
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify(f.generationConfig, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(f.tokenizer));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(f.tokenizerConfig, null, 2));
  await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify(f.specialTokensMap, null, 2));
  for (const o of f.onnx) await writeFile(join(dir, 'onnx', o.name), o.bytes);
}
