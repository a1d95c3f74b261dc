// The tiny model's byte-level BPE tokenizer, built like Llama 3's: GPT-2's byte alphabet, Llama 3's
// pre-tokenizer split and chat template, a vocabulary holding every word the probes' prompts use
// (animals, prompt words, every 1–3 digit number) as one token.
import { addedTokens } from './folder.ts';

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

/** [singular, plural]: every form is a single token. */
export const ANIMALS: [string, string][] = [
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

export function toByteLevel(text: string, map: string[]): string {
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

/** The tokenizer.json a Hugging Face fast tokenizer (and transformers.js) loads. */
export function tokenizerJson(tok: TinyTokenizer): unknown {
  const bos = tok.specials[0]!;
  const regular: Record<string, number> = {};
  for (const [t, id] of tok.vocab) regular[t] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(tok.specials),
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
