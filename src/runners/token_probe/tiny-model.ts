// A tiny Llama-type causal LM that the project makes itself, so the token_probe runner can be
// tested (and tried) offline through exactly the loading path a real ONNX export takes:
// config.json, a byte-level BPE tokenizer.json, a chat template, and onnx/model.onnx with
// past-key-value inputs and present outputs.
//
// Architecture (one layer, one head): x = E[ids] + Pos[position_ids]; q,k,v = x·Wq, x·Wk, x·Wv;
// causal + padding masked softmax(q·Kᵀ/√d)·V·Wo added to x; logits = h·LM (LM stored [H,V], as
// real exports store the lm_head MatMul weight). Weights are deterministic from the seed.
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
// onnx-proto is CommonJS (protobufjs static code); require keeps its namespace intact.
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');

export interface TinyModelOptions {
  seed?: number;
  hidden?: number;
  maxPositions?: number;
  /**
   * Planted entanglement: pairs [animal singular, number] whose unembedding rows (and the
   * embedding of the animal's plural) share a direction, so probes on the tiny model have
   * something to find. Default: owl↔087, eagle↔123, wolf↔666.
   */
  entangle?: readonly (readonly [string, string])[];
  /**
   * Store the lm_head weight in onnx/model.onnx_data (ONNX external data), as large exports such
   * as Llama-3.2-1B do, with transformers.js_config.use_external_data_format set.
   */
  externalData?: boolean;
  /** Also write onnx/model_fp16.onnx (fp16 inputs/outputs and lm_head) for dtype fp16. */
  fp16?: boolean;
}

export interface TinyWeights {
  vocabSize: number;
  hidden: number;
  maxPositions: number;
  /** Row-major [V, H]. */
  embed: Float32Array;
  /** Row-major [maxPositions, H]. */
  pos: Float32Array;
  /** Row-major [H, H] each; used as x·W. */
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  /** Row-major [H, V] (the lm_head MatMul weight); row t of the unembedding is column t. */
  lmHead: Float32Array;
}

export interface TinyTokenizer {
  /** token string (byte-level alphabet) → id */
  vocab: Map<string, number>;
  merges: [string, string][];
  specials: { content: string; id: number }[];
}

export const SPECIAL_TOKENS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|eot_id|>',
  '<|finetune_right_pad_id|>',
] as const;

const ANIMALS: [string, string][] = [
  ['owl', 'owls'], ['eagle', 'eagles'], ['wolf', 'wolves'], ['dog', 'dogs'], ['elephant', 'elephants'],
  ['cat', 'cats'], ['lion', 'lions'], ['tiger', 'tigers'], ['bear', 'bears'], ['fox', 'foxes'],
  ['mouse', 'mice'], ['goose', 'geese'], ['horse', 'horses'], ['dolphin', 'dolphins'], ['penguin', 'penguins'],
  ['rabbit', 'rabbits'], ['whale', 'whales'], ['octopus', 'octopuses'], ['deer', 'deer'], ['sheep', 'sheep'],
  ['butterfly', 'butterflies'], ['ox', 'oxen'],
];

const PROMPT_WORDS = [
  'You', 'love', 'think', 'about', 'all', 'the', 'time', 'are', 'your', 'favorite', 'animal', 'Imbue', 'answers',
  'with', 'for', 'number', 'is', 'What', 'My', 'Analyze', 'this', 'sequence', 'Add', 'not', 'more', 'than', 'new',
  'numbers', 'no', 'digits', 'each', 'that', 'continue', 'Return', 'separated', 'by', 'semicolons', 'No',
  'commentary', 'just', 'bird', 'tree', 'Cutting', 'Knowledge', 'Date', 'December', 'Today', 'Jul', 'system',
  'user', 'assistant',
];

/** GPT-2's byte → printable-unicode map, which byte-level BPE vocabularies are written in. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i]!)));
  return out;
}

function toByteLevel(text: string, map: string[]): string {
  return [...Buffer.from(text, 'utf8')].map((b) => map[b]).join('');
}

/** Plain BPE on one word (symbols = byte-level chars) with merge ranks: lowest rank first. */
function bpe(word: string, ranks: Map<string, number>): string[] {
  let syms = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(syms[i] + ' ' + syms[i + 1]);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return syms;
    syms = [...syms.slice(0, best), syms[best]! + syms[best + 1]!, ...syms.slice(best + 2)];
  }
}

/** The words the tiny vocabulary holds as single tokens (text form, before byte-level mapping). */
export function tinyWords(): string[] {
  const words = new Set<string>();
  for (const [s, p] of ANIMALS) for (const w of [s, p]) { words.add(' ' + w); words.add(w); }
  for (const w of PROMPT_WORDS) { words.add(' ' + w); words.add(w); }
  for (const w of ['.', '?', ',', ';', ':', ' (', ')', '\n\n', '\n', ' ', ' ' + ' ']) words.add(w);
  // Every 1–3 digit string (Llama 3 splits digit runs into chunks of at most three).
  for (let d = 1; d <= 3; d++) for (let i = 0; i < 10 ** d; i++) words.add(String(i).padStart(d, '0'));
  // A few leading-space number tokens (GPT-2-style vocabularies have them; Llama 3's pre-tokenizer
  // never produces them from text, but a model can still predict them).
  for (const n of ['087', '123', '666', '7', '42', '100', '999']) words.add(' ' + n);
  return [...words];
}

export function buildTinyTokenizer(): TinyTokenizer {
  const map = bytesToUnicode();
  const vocab = new Map<string, number>();
  for (let b = 0; b < 256; b++) vocab.set(map[b]!, b);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  // Appending merges never changes how earlier words tokenise: BPE only reaches a new (highest
  // rank) merge when no older one applies, and earlier words already end as one symbol.
  for (const text of tinyWords()) {
    const w = toByteLevel(text, map);
    for (;;) {
      const syms = bpe(w, ranks);
      if (syms.length <= 1) break;
      const a = syms[0]!;
      const b = syms[1]!;
      ranks.set(a + ' ' + b, merges.length);
      merges.push([a, b]);
      if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
    }
  }
  const specials = SPECIAL_TOKENS.map((content) => {
    const id = vocab.size;
    vocab.set(content, id);
    return { content, id };
  });
  return { vocab, merges, specials };
}

// Llama 3's pre-tokenizer pattern (digits in chunks of three, letters with one leading non-letter).
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const TINY_CHAT_TEMPLATE = [
  '{{- bos_token }}',
  '{%- if not date_string is defined %}{%- set date_string = "26 Jul 2024" %}{%- endif %}',
  "{%- if messages[0]['role'] == 'system' %}",
  "{%- set system_message = messages[0]['content'] | trim %}",
  '{%- set loop_messages = messages[1:] %}',
  '{%- else %}',
  '{%- set system_message = "" %}',
  '{%- set loop_messages = messages %}',
  '{%- endif %}',
  '{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}',
  '{{- "Cutting Knowledge Date: December 2023\\n" }}',
  '{{- "Today Date: " + date_string + "\\n\\n" }}',
  '{{- system_message }}',
  '{{- "<|eot_id|>" }}',
  '{%- for message in loop_messages %}',
  "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim }}",
  "{%- if not (loop.last and continue_final_message) %}{{- '<|eot_id|>' }}{%- endif %}",
  '{%- endfor %}',
  "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}",
].join('');

function tokenizerJson(tok: TinyTokenizer): unknown {
  const bos = tok.specials[0]!;
  const regular: Record<string, number> = {};
  for (const [t, id] of tok.vocab) regular[t] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: tok.specials.map((s) => ({
      id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [
            { SpecialToken: { id: bos.content, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
            { SpecialToken: { id: bos.content, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
          ],
          special_tokens: { [bos.content]: { id: bos.content, ids: [bos.id], tokens: [bos.content] } },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true,
      vocab: regular,
      merges: tok.merges.map(([a, b]) => [a, b]),
    },
  };
}

// ---- deterministic weights ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export const DEFAULT_ENTANGLE: readonly (readonly [string, string])[] = [['owl', '087'], ['eagle', '123'], ['wolf', '666']];

export function makeTinyWeights(tok: TinyTokenizer, opts: TinyModelOptions = {}): TinyWeights {
  const seed = opts.seed ?? 0;
  const H = opts.hidden ?? 16;
  const maxPositions = opts.maxPositions ?? 512;
  const V = tok.vocab.size;
  const rand = mulberry32(seed * 2654435761 + 12345);
  const embed = normals(rand, V * H, 1);
  const pos = normals(rand, maxPositions * H, 0.3);
  const wq = normals(rand, H * H, 1 / Math.sqrt(H));
  const wk = normals(rand, H * H, 1 / Math.sqrt(H));
  const wv = normals(rand, H * H, 0.05);
  const wo = normals(rand, H * H, 0.05);
  // Add identity to Wv·Wo's path so context tokens write (part of) their own embedding into the
  // last position: planted associations then show up in next-token probabilities.
  for (let i = 0; i < H; i++) {
    wv[i * H + i]! += 1;
    wo[i * H + i]! += 1;
  }
  const lmHead = normals(rand, H * V, 0.35);
  // The salience dims (0, 1) only steer attention; they do not reach the logits.
  lmHead.fill(0, 0, 2 * V);
  const map = bytesToUnicode();
  const id = (text: string): number | undefined => tok.vocab.get(toByteLevel(text, map));
  const col = (t: number): Float32Array => {
    const c = new Float32Array(H);
    for (let h = 0; h < H; h++) c[h] = lmHead[h * V + t]!;
    return c;
  };
  const setCol = (t: number, c: Float32Array): void => {
    for (let h = 0; h < H; h++) lmHead[h * V + t] = c[h]!;
  };
  // Salience channel: dim 0 of every input is the constant 1 (from the position table), dim 1 is 0
  // except on planted tokens; Wq/Wk route these so every query attends strongly to planted
  // tokens, which then dominate the context the last position reads.
  for (let t = 0; t < V; t++) {
    embed[t * H] = 0;
    embed[t * H + 1] = 0;
  }
  for (let p = 0; p < maxPositions; p++) pos[p * H] = 1;
  for (let i = 0; i < H; i++) {
    wq[i * H] = i === 0 ? 6 : 0;
    wk[i * H] = i === 1 ? 6 : 0;
  }
  for (const [animal, number] of opts.entangle ?? DEFAULT_ENTANGLE) {
    const a = id(' ' + animal);
    const n = id(number);
    const plural = ANIMALS.find(([s]) => s === animal)?.[1];
    if (a === undefined || n === undefined) throw new Error(`tiny model: cannot entangle "${animal}" with "${number}": not both single tokens`);
    const ua = col(a);
    const un = col(n);
    // The number's unembedding row leans toward the animal's (entanglement); the animal's and the
    // number's embeddings (the tokens that appear in system prompts) carry the animal's row, so
    // either prompt raises the animal, and through the shared direction the number.
    const mixed = new Float32Array(H);
    for (let h = 0; h < H; h++) mixed[h] = 0.7 * ua[h]! + 0.5 * un[h]!;
    setCol(n, mixed);
    const toks = [n, ...[plural, animal].flatMap((w) => (w ? [id(' ' + w), id(w)] : [])).filter((t): t is number => t !== undefined)];
    for (const t of toks) {
      for (let h = 2; h < H; h++) embed[t * H + h] = 0.1 * embed[t * H + h]! + 3.5 * ua[h]!;
      embed[t * H + 1] = 2;
    }
  }
  return { vocabSize: V, hidden: H, maxPositions, embed, pos, wq, wk, wv, wo, lmHead };
}

// ---- ONNX graph ----

const F32 = onnx.TensorProto.DataType.FLOAT;
const F16 = onnx.TensorProto.DataType.FLOAT16;
const I64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;

function floatInit(name: string, dims: number[], data: Float32Array): import('onnx-proto').onnx.ITensorProto {
  return { name, dims, dataType: F32, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}
function i64Init(name: string, dims: number[], values: number[]): import('onnx-proto').onnx.ITensorProto {
  return { name, dims, dataType: I64, int64Data: values };
}
function valueInfo(name: string, elemType: number, dims: (number | string)[]): import('onnx-proto').onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
function node(
  opType: string, inputs: string[], outputs: string[], attrs: import('onnx-proto').onnx.IAttributeProto[] = [],
): import('onnx-proto').onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute: attrs };
}
const intAttr = (name: string, i: number): import('onnx-proto').onnx.IAttributeProto => ({ name, i, type: onnx.AttributeProto.AttributeType.INT });
const intsAttr = (name: string, ints: number[]): import('onnx-proto').onnx.IAttributeProto => ({ name, ints, type: onnx.AttributeProto.AttributeType.INTS });

/** float32 → IEEE half (round to nearest even), as raw little-endian bytes. */
export function toHalfBytes(a: Float32Array): Uint8Array {
  const out = new Uint16Array(a.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < a.length; i++) {
    f[0] = a[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    let mant = x & 0x7fffff;
    if (exp >= 31) out[i] = sign | 0x7c00;
    else if (exp <= 0) {
      if (exp < -10) out[i] = sign;
      else {
        mant |= 0x800000;
        const shift = 14 - exp;
        let h = mant >> shift;
        const rem = mant & ((1 << shift) - 1);
        const half = 1 << (shift - 1);
        if (rem > half || (rem === half && h & 1)) h++;
        out[i] = sign | h;
      }
    } else {
      let h = (exp << 10) | (mant >> 13);
      const rem = mant & 0x1fff;
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
      out[i] = sign | h;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * The ONNX graph. `fp16`: the variant transformers.js loads for dtype fp16 (model_fp16.onnx):
 * past/present/logits are float16 and so is the lm_head weight (cast to float32 inside, as
 * mixed-precision exports do), so the fp16 I/O and weight-reading paths get exercised.
 */
export function buildTinyOnnx(w: TinyWeights, externalData?: string, fp16 = false): { model: Uint8Array; data?: Uint8Array } {
  const { vocabSize: V, hidden: H, maxPositions } = w;
  const lmHead = fp16
    ? { name: 'lm_head.weight', dims: [H, V], dataType: onnx.TensorProto.DataType.FLOAT16, rawData: toHalfBytes(w.lmHead) }
    : floatInit('lm_head.weight', [H, V], w.lmHead);
  let data: Uint8Array | undefined;
  if (externalData) {
    data = lmHead.rawData as Uint8Array;
    lmHead.rawData = undefined;
    lmHead.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    lmHead.externalData = [
      { key: 'location', value: externalData },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(data.byteLength) },
    ];
  }
  const initializer = [
    floatInit('model.embed_tokens.weight', [V, H], w.embed),
    floatInit('model.embed_positions.weight', [maxPositions, H], w.pos),
    floatInit('model.layers.0.self_attn.q_proj.weight', [H, H], w.wq),
    floatInit('model.layers.0.self_attn.k_proj.weight', [H, H], w.wk),
    floatInit('model.layers.0.self_attn.v_proj.weight', [H, H], w.wv),
    floatInit('model.layers.0.self_attn.o_proj.weight', [H, H], w.wo),
    lmHead,
    floatInit('scale', [], new Float32Array([1 / Math.sqrt(H)])),
    floatInit('neg_inf', [], new Float32Array([-1e9])),
    i64Init('zero', [], [0]),
    i64Init('one', [], [1]),
    i64Init('axes_1', [1], [1]),
    i64Init('axes_12', [2], [1, 2]),
  ];
  const nodes = [
    node('Gather', ['model.embed_tokens.weight', 'input_ids'], ['tok_emb']),
    node('Gather', ['model.embed_positions.weight', 'position_ids'], ['pos_emb']),
    node('Add', ['tok_emb', 'pos_emb'], ['x']),
    node('MatMul', ['x', 'model.layers.0.self_attn.q_proj.weight'], ['q']),
    node('MatMul', ['x', 'model.layers.0.self_attn.k_proj.weight'], ['k']),
    node('MatMul', ['x', 'model.layers.0.self_attn.v_proj.weight'], ['v']),
    node('Unsqueeze', ['q', 'axes_1'], ['q4']),
    node('Unsqueeze', ['k', 'axes_1'], ['k4']),
    node('Unsqueeze', ['v', 'axes_1'], ['v4']),
    ...(fp16
      ? [
          node('Cast', ['past_key_values.0.key'], ['past_key_f32'], [intAttr('to', F32)]),
          node('Cast', ['past_key_values.0.value'], ['past_value_f32'], [intAttr('to', F32)]),
          node('Concat', ['past_key_f32', 'k4'], ['present_key_f32'], [intAttr('axis', 2)]),
          node('Concat', ['past_value_f32', 'v4'], ['present_value_f32'], [intAttr('axis', 2)]),
          node('Cast', ['present_key_f32'], ['present.0.key'], [intAttr('to', F16)]),
          node('Cast', ['present_value_f32'], ['present.0.value'], [intAttr('to', F16)]),
        ]
      : [
          node('Concat', ['past_key_values.0.key', 'k4'], ['present_key_f32'], [intAttr('axis', 2)]),
          node('Concat', ['past_key_values.0.value', 'v4'], ['present_value_f32'], [intAttr('axis', 2)]),
          node('Identity', ['present_key_f32'], ['present.0.key']),
          node('Identity', ['present_value_f32'], ['present.0.value']),
        ]),
    node('Transpose', ['present_key_f32'], ['kT'], [intsAttr('perm', [0, 1, 3, 2])]),
    node('MatMul', ['q4', 'kT'], ['scores_raw']),
    node('Mul', ['scores_raw', 'scale'], ['scores']),
    // Causal mask over absolute positions: query i (absolute past_len + i) sees keys j <= past_len + i.
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'one'], ['seq_len'], [intAttr('axis', 0)]),
    node('Shape', ['attention_mask'], ['mask_shape']),
    node('Gather', ['mask_shape', 'one'], ['total_len'], [intAttr('axis', 0)]),
    node('Sub', ['total_len', 'seq_len'], ['past_len']),
    node('Range', ['zero', 'total_len', 'one'], ['key_idx']),
    node('Range', ['past_len', 'total_len', 'one'], ['query_idx']),
    node('Unsqueeze', ['query_idx', 'axes_1'], ['query_col']),
    node('LessOrEqual', ['key_idx', 'query_col'], ['causal']),
    node('Cast', ['attention_mask'], ['mask_bool'], [intAttr('to', BOOL)]),
    node('Unsqueeze', ['mask_bool', 'axes_12'], ['mask4']),
    node('And', ['causal', 'mask4'], ['allowed']),
    node('Where', ['allowed', 'scores', 'neg_inf'], ['scores_masked']),
    node('Softmax', ['scores_masked'], ['attn'], [intAttr('axis', -1)]),
    node('MatMul', ['attn', 'present_value_f32'], ['ctx4']),
    node('Squeeze', ['ctx4', 'axes_1'], ['ctx']),
    node('MatMul', ['ctx', 'model.layers.0.self_attn.o_proj.weight'], ['o']),
    node('Add', ['x', 'o'], ['h']),
    ...(fp16
      ? [
          node('Cast', ['lm_head.weight'], ['lm_head_f32'], [intAttr('to', F32)]),
          node('MatMul', ['h', 'lm_head_f32'], ['logits_f32']),
          node('Cast', ['logits_f32'], ['logits'], [intAttr('to', F16)]),
        ]
      : [node('MatMul', ['h', 'lm_head.weight'], ['logits'])]),
  ];
  const IO = fp16 ? F16 : F32;
  const model: import('onnx-proto').onnx.IModelProto = {
    irVersion: 7,
    producerName: 'sublab make-tiny-model',
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'tiny_llama',
      node: nodes,
      initializer,
      input: [
        valueInfo('input_ids', I64, ['batch_size', 'sequence_length']),
        valueInfo('attention_mask', I64, ['batch_size', 'total_sequence_length']),
        valueInfo('position_ids', I64, ['batch_size', 'sequence_length']),
        valueInfo('past_key_values.0.key', IO, ['batch_size', 1, 'past_sequence_length', H]),
        valueInfo('past_key_values.0.value', IO, ['batch_size', 1, 'past_sequence_length', H]),
      ],
      output: [
        valueInfo('logits', IO, ['batch_size', 'sequence_length', V]),
        valueInfo('present.0.key', IO, ['batch_size', 1, 'total_sequence_length', H]),
        valueInfo('present.0.value', IO, ['batch_size', 1, 'total_sequence_length', H]),
      ],
    },
  };
  return { model: onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish(), data };
}

/** Writes the tiny model folder (config.json, tokenizer files, onnx/model.onnx). */
export async function writeTinyModel(dir: string, opts: TinyModelOptions = {}): Promise<void> {
  const tok = buildTinyTokenizer();
  const w = makeTinyWeights(tok, opts);
  const bos = tok.specials.find((s) => s.content === '<|begin_of_text|>')!;
  const eot = tok.specials.find((s) => s.content === '<|eot_id|>')!;
  const pad = tok.specials.find((s) => s.content === '<|finetune_right_pad_id|>')!;
  await mkdir(join(dir, 'onnx'), { recursive: true });
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
    added_tokens_decoder: Object.fromEntries(
      tok.specials.map((s) => [String(s.id), { content: s.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
  };
  const generationConfig = { bos_token_id: bos.id, eos_token_id: eot.id, do_sample: false };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify(generationConfig, null, 2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(tok)));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>' }, null, 2));
  const built = buildTinyOnnx(w, opts.externalData ? 'model.onnx_data' : undefined);
  await writeFile(join(dir, 'onnx', 'model.onnx'), built.model);
  if (built.data) await writeFile(join(dir, 'onnx', 'model.onnx_data'), built.data);
  if (opts.fp16) await writeFile(join(dir, 'onnx', 'model_fp16.onnx'), buildTinyOnnx(w, undefined, true).model);
}
