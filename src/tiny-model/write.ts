// A tiny Llama-type causal LM that the project makes itself, so the token_probe runner can be
// tested (and tried) offline through exactly the loading path a real ONNX export takes:
// config.json, a byte-level BPE tokenizer.json, a chat template, and onnx/model.onnx with
// past-key-value inputs and present outputs (`sublab make-tiny-model DIR`).
import { addedTokensDecoder, writeModelFolder } from './folder.ts';
import { buildTinyOnnx } from './onnx-model.ts';
import { TINY_CHAT_TEMPLATE, buildTinyTokenizer, tokenizerJson } from './tokenizer.ts';
import { DEFAULT_ENTANGLE, makeTinyWeights, type TinyWeightOptions } from './weights.ts';

export interface TinyModelOptions extends TinyWeightOptions {
  /**
   * Store the lm_head weight in onnx/model.onnx_data (ONNX external data), as large exports such
   * as Llama-3.2-1B do, with transformers.js_config.use_external_data_format set.
   */
  externalData?: boolean;
  /** Also write onnx/model_fp16.onnx (fp16 inputs/outputs and lm_head) for dtype fp16. */
  fp16?: boolean;
}

/** Writes the tiny model folder (config.json, tokenizer files, onnx/model.onnx). */
export async function writeTinyModel(dir: string, opts: TinyModelOptions = {}): Promise<void> {
  const tok = buildTinyTokenizer();
  const w = makeTinyWeights(tok, opts);
  const bos = tok.specials.find((s) => s.content === '<|begin_of_text|>')!;
  const eot = tok.specials.find((s) => s.content === '<|eot_id|>')!;
  const pad = tok.specials.find((s) => s.content === '<|finetune_right_pad_id|>')!;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: w.vocabSize,
    hidden_size: w.hidden,
    intermediate_size: 2 * w.hidden,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    num_key_value_heads: 1,
    head_dim: w.hidden,
    max_position_embeddings: w.maxPositions,
    bos_token_id: bos.id,
    eos_token_id: eot.id,
    pad_token_id: pad.id,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    sublab_tiny_model: { seed: opts.seed ?? 0, entangle: opts.entangle ?? DEFAULT_ENTANGLE },
    ...(opts.externalData ? { 'transformers.js_config': { use_external_data_format: { 'model.onnx': 1 } } } : {}),
  };
  const tokenizerConfig = {
    bos_token: '<|begin_of_text|>',
    eos_token: '<|eot_id|>',
    pad_token: '<|finetune_right_pad_id|>',
    clean_up_tokenization_spaces: true,
    model_max_length: w.maxPositions,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: TINY_CHAT_TEMPLATE,
    added_tokens_decoder: addedTokensDecoder(tok.specials),
  };
  const generationConfig = { bos_token_id: bos.id, eos_token_id: eot.id, do_sample: false };
  const built = buildTinyOnnx(w, opts.externalData ? 'model.onnx_data' : undefined);
  await writeModelFolder(dir, {
    config,
    generationConfig,
    tokenizer: tokenizerJson(tok),
    tokenizerConfig,
    specialTokensMap: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' },
    onnx: [
      { name: 'model.onnx', bytes: built.model },
      ...(built.data ? [{ name: 'model.onnx_data', bytes: built.data }] : []),
      ...(opts.fp16 ? [{ name: 'model_fp16.onnx', bytes: buildTinyOnnx(w, undefined, true).model }] : []),
    ],
  });
}
