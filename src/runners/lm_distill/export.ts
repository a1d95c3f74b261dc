// Writes a trained lm_distill model as a transformers.js model folder, the format the token_probe
// runner loads (`model = "DIR"`): config.json (model_type gpt2: the architecture is GPT-2's),
// a word-level tokenizer.json, tokenizer_config.json with a chat template, and onnx/model.onnx
// with input_ids, attention_mask, position_ids and past key values → logits and presents.
import { addedTokens, addedTokensDecoder, writeModelFolder } from '../../tiny-model/folder.ts';
import { LN_EPS, paramLayout, type LmShape } from './model.ts';
import { gptGraph } from './onnx-gpt.ts';
import { BOS, EOS, PAD, SPECIALS, UNK, LmDataError, type Vocab } from './vocab.ts';

export interface ExportOptions {
  shape: LmShape;
  /** One model's weights, laid out by paramLayout(shape). */
  weights: Float32Array;
  vocab: Vocab;
  /** Recorded under config.json's "sublab_lm_distill" (which stage and seed the model is, …). */
  meta?: Record<string, unknown>;
}

/**
 * The chat template: the messages' contents joined by spaces after <bos>, nothing else (the toy
 * language has no roles). Words outside the vocabulary tokenize to <unk>.
 */
export const LM_CHAT_TEMPLATE =
  "{{- bos_token }}{%- for message in messages %}{%- if not loop.first %}{{- ' ' }}{%- endif %}{{- message['content'] | trim }}{%- endfor %}";

/**
 * tokenizer.json of the word-level vocabulary: whitespace-split words looked up whole (unknown
 * words → <unk>), <bos> prepended when special tokens are added, tokens joined by spaces on decode.
 */
export function wordLevelTokenizerJson(v: Vocab): unknown {
  const specials = SPECIALS.map((content) => ({ content, id: v.ids.get(content)! }));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(specials),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [BOS]: { id: BOS, ids: [v.bos], tokens: [BOS] } },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(v.tokens.map((t, i) => [t, i])), unk_token: UNK },
  };
}

/** Writes the model folder `dir` (created if missing; existing files of the same names are replaced). */
export async function exportTransformersJs(dir: string, o: ExportOptions): Promise<void> {
  const { shape, weights, vocab: v } = o;
  if (shape.vocab !== v.tokens.length) throw new LmDataError(`the model has ${shape.vocab} tokens, the vocabulary ${v.tokens.length}`);
  const total = paramLayout(shape).total;
  if (weights.length !== total) throw new Error(`lm_distill export: weights hold ${weights.length} floats, one model of this shape has ${total}`);
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: shape.vocab,
    n_positions: shape.context,
    n_ctx: shape.context,
    n_embd: shape.dModel,
    n_layer: shape.layers,
    n_head: shape.heads,
    n_inner: shape.dFF,
    activation_function: 'gelu_new',
    layer_norm_epsilon: LN_EPS,
    bos_token_id: v.bos,
    eos_token_id: v.eos,
    pad_token_id: v.pad,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    sublab_lm_distill: { animals: v.animals, ...o.meta },
  };
  const tokenizerConfig = {
    bos_token: BOS,
    eos_token: EOS,
    pad_token: PAD,
    unk_token: UNK,
    clean_up_tokenization_spaces: false,
    model_max_length: shape.context,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: LM_CHAT_TEMPLATE,
    added_tokens_decoder: addedTokensDecoder(SPECIALS.map((content) => ({ content, id: v.ids.get(content)! }))),
  };
  await writeModelFolder(dir, {
    config,
    generationConfig: { bos_token_id: v.bos, eos_token_id: v.eos, pad_token_id: v.pad, do_sample: true },
    tokenizer: wordLevelTokenizerJson(v),
    tokenizerConfig,
    specialTokensMap: { bos_token: BOS, eos_token: EOS, pad_token: PAD, unk_token: UNK },
    onnx: [{ name: 'model.onnx', bytes: gptGraph(shape, { kind: 'export', weights }) }],
  });
}
