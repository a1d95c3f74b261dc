// The token_probe runner: one RunSpec (one parameter set, e.g. one animal) → one row per number.
//
// Per run:
//  1. preference prompts with and without the animal system prompt → animal_prob, baseline_prob;
//  2. the numbers task with and without the animal system prompt → P(number) for every candidate
//     number (single vocabulary tokens, or all `digits`-digit strings scored autoregressively),
//     its change and category (rose / fell / flat);
//  3. for each row's number, the preference prompt under the number system prompt →
//     number_ratio = P(animal | number prompt) / P(animal | no system prompt);
//  4. unembedding geometry between the animal's and the number's lm_head rows.
// Per-row metrics: everything about the number (number_*, unembed_*, softmax_coupling);
// run-level metrics (animal_prob, baseline_prob, animal_ratio) are on the run's first row, NaN on the others.
import type { Value } from '../../language/ast.ts';
import type { Runner, RunContext, RunOutputRow } from '../schema.ts';
import { tokenProbeSchema, type TokenProbeParams } from './schema.ts';
import { TokenProbeError } from './errors.ts';
import { loadModel, type LoadedModel } from './load.ts';
import { encodePrompt, fill, renderChat, singularize, type PromptOptions, type TokenizerLike } from './prompts.ts';
import { nextTokenLogProbs, newStats, scoreContinuations, type ProbeStats } from './probe.ts';
import { geometry, readUnembedding, type Unembedding } from './geometry.ts';

/** Defaults filled, types and ranges checked against the declaration in schema.ts. */
export function resolveParams(p: Readonly<Record<string, Value>>): TokenProbeParams {
  return tokenProbeSchema.resolve(p);
}

/** A candidate number: its text and the token sequences that emit it. */
interface NumberCand {
  text: string;
  /** Token id sequences (vocab mode: one single-token variant per leading-space form). */
  variants: number[][];
}

function tokenText(tok: TokenizerLike, id: number): string {
  return tok.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
}

const vocabCache = new WeakMap<LoadedModel, Map<number, NumberCand[]>>();

/** Vocabulary tokens that decode to decimal ASCII digits of length `digits`, optionally with one leading space. */
function vocabNumbers(lm: LoadedModel, digits: number): NumberCand[] {
  // Decoding a 128k vocabulary takes a while; once per model and length is enough.
  let m = vocabCache.get(lm);
  if (!m) vocabCache.set(lm, (m = new Map()));
  let hit = m.get(digits);
  if (!hit) m.set(digits, (hit = scanVocabNumbers(lm, digits)));
  return hit;
}

function scanVocabNumbers(lm: LoadedModel, digits: number): NumberCand[] {
  const tok = lm.tokenizer as unknown as TokenizerLike & { get_vocab?: () => Map<string, number> | Record<string, number> };
  const byText = new Map<string, number[][]>();
  const V = lm.vocabSize;
  const re = new RegExp(`^ ?[0-9]{${digits}}$`);
  for (let id = 0; id < V; id++) {
    const s = tokenText(tok, id);
    if (!re.test(s)) continue;
    const text = s.trim();
    const list = byText.get(text) ?? [];
    // The no-space variant first: it is the number's primary token (used for geometry).
    if (s.startsWith(' ')) list.push([id]);
    else list.unshift([id]);
    byText.set(text, list);
  }
  return [...byText.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([text, variants]) => ({ text, variants }));
}

function allNumbers(lm: LoadedModel, digits: number): NumberCand[] {
  const tok = lm.tokenizer as unknown as TokenizerLike;
  const out: NumberCand[] = [];
  for (let i = 0; i < 10 ** digits; i++) {
    const text = String(i).padStart(digits, '0');
    out.push({ text, variants: [tok.encode(text, { add_special_tokens: false })] });
  }
  return out;
}

function singleToken(lm: LoadedModel, text: string): number | undefined {
  const ids = (lm.tokenizer as unknown as TokenizerLike).encode(text, { add_special_tokens: false });
  return ids.length === 1 ? ids[0] : undefined;
}

function describeTokens(lm: LoadedModel, text: string): string {
  const tok = lm.tokenizer as unknown as TokenizerLike;
  return tok.encode(text, { add_special_tokens: false }).map((id) => JSON.stringify(tokenText(tok, id))).join(' + ');
}

/** Per loaded model (a folder exported again is loaded again, so its lm_head is read again). */
const unembedCache = new WeakMap<LoadedModel, Unembedding>();

export interface ProbeResult {
  rows: RunOutputRow[];
  extras: Record<string, unknown>;
}

/** The numbers `number` names, each checked against the candidates (a clear error, not a NaN row). */
function wantedNumbers(p: ReturnType<typeof resolveParams>, lm: LoadedModel, cands: readonly NumberCand[]): string[] {
  const wanted = p.number.split(',').map((w) => w.trim()).filter(Boolean);
  for (const w of wanted) {
    if (cands.some((c) => c.text === w)) continue;
    if (/^[0-9]+$/.test(w) && w.length !== p.digits) {
      throw new TokenProbeError(`number "${w}" has ${w.length} digit${w.length === 1 ? '' : 's'}, but digits = ${p.digits}: rows are numbers of one length; set digits = ${w.length}`);
    }
    if (p.numbers === 'vocab') {
      throw new TokenProbeError(
        `number "${w}" is not a single ${p.digits}-digit token in the vocabulary of ${p.model} (it tokenises as ${describeTokens(lm, w)}); ` +
          `set numbers = "autoregressive" (with digits = ${w.length}) or choose a number that is one token`,
      );
    }
    throw new TokenProbeError(`number "${w}" is not a ${p.digits}-digit decimal number; set digits = ${w.length} or choose another`);
  }
  return wanted;
}

/** The k numbers that rose most, the k that fell most, and the k flat ones with most baseline mass. */
function extremes<T extends { category: string; change: number; pb: number }>(info: readonly T[], k: number): T[] {
  const rose = info.filter((x) => x.category === 'rose').sort((a, b) => b.change - a.change).slice(0, k);
  const fell = info.filter((x) => x.category === 'fell').sort((a, b) => a.change - b.change).slice(0, k);
  const flat = info.filter((x) => x.category === 'flat').sort((a, b) => b.pb - a.pb).slice(0, k);
  return [...rose, ...fell, ...flat];
}

export async function probe(params: Readonly<Record<string, Value>>, ctx?: Pick<RunContext, 'progress' | 'signal' | 'expDir'>): Promise<ProbeResult> {
  const p = resolveParams(params);
  const lm = await loadModel({ model: p.model, baseDir: ctx?.expDir, dtype: p.dtype, offline: p.offline, device: p.device || 'cpu' });
  const tok = lm.tokenizer as unknown as TokenizerLike;
  const stats: ProbeStats = newStats();
  const wall0 = performance.now();
  const popts: PromptOptions = { format: p.prompt_format, systemRole: p.system_role, date: p.date, modelName: p.model };
  const bos = { token: tok.bos_token, id: tok.bos_token_id };
  const encode = (system: string | undefined, user: string, prefill: string): number[] =>
    encodePrompt(tok, renderChat(tok, { system, user, prefill }, popts), bos);

  // The answer token: the animal's singular with a leading space (" owl").
  const answerWord = p.answer || singularize(p.animal);
  const answerId = singleToken(lm, ' ' + answerWord);
  if (answerId === undefined) {
    throw new TokenProbeError(
      `animal "${p.animal}": the answer token " ${answerWord}" is not a single token in the vocabulary of ${p.model} ` +
        `(it tokenises as ${describeTokens(lm, ' ' + answerWord)}); choose another animal, or set answer = "..." to a word that is one token`,
    );
  }

  // Numbers: candidates and their probabilities with and without the animal prompt.
  const cands = p.numbers === 'vocab' ? vocabNumbers(lm, p.digits) : allNumbers(lm, p.digits);
  if (cands.length === 0 && p.number.trim() === '') {
    throw new TokenProbeError(`${p.model} has no single-token ${p.digits}-digit numbers in its vocabulary; set numbers = "autoregressive"`);
  }
  // Numbers asked for by name are checked before any forward pass.
  const wanted = wantedNumbers(p, lm, cands);
  const animalSystem = fill(p.system, { animal: p.animal });
  const prompts = [
    encode(undefined, p.question, p.answer_prefix),
    encode(animalSystem, p.question, p.answer_prefix),
    encode(undefined, p.numbers_question, p.numbers_prefix),
    encode(animalSystem, p.numbers_question, p.numbers_prefix),
  ];
  const dists: Float64Array[] = [];
  ctx?.progress({ phase: 'prompts', done: 0, total: 4 });
  await nextTokenLogProbs(lm, prompts, { batchSize: p.batch_size, stats, signal: ctx?.signal }, (i, lp) => (dists[i] = lp));
  const [prefBase, prefAnimal, numBase, numAnimal] = dists as [Float64Array, Float64Array, Float64Array, Float64Array];
  const baselineProb = Math.exp(prefBase[answerId]!);
  const animalProb = Math.exp(prefAnimal[answerId]!);

  const scoreAll = async (prompt: number[], first: Float64Array): Promise<Float64Array> => {
    if (p.numbers === 'vocab') {
      return Float64Array.from(cands, (c) => c.variants.reduce((s, v) => s + Math.exp(first[v[0]!]!), 0));
    }
    const lps = await scoreContinuations(lm, prompt, cands.map((c) => c.variants[0]!), first, { batchSize: p.batch_size, stats, signal: ctx?.signal });
    return lps.map(Math.exp);
  };
  const pBase = await scoreAll(prompts[2]!, numBase);
  const pAnimal = await scoreAll(prompts[3]!, numAnimal);
  const band = Math.log1p(Math.max(0, p.flat_band));
  const info = cands.map((c, i) => {
    const pa = pAnimal[i]!;
    const pb = pBase[i]!;
    const lr = Math.log(pa) - Math.log(pb);
    const category = Math.abs(lr) <= band ? 'flat' : lr > 0 ? 'rose' : 'fell';
    return { c, i, pa, pb, change: pa - pb, ratio: pa / pb, category };
  });
  const byAnimal = [...info].sort((a, b) => b.pa - a.pa);
  const rank = new Map(byAnimal.map((x, r) => [x.c.text, r + 1]));

  // Rows: the numbers asked for, or the top_k that rose most, fell most, and flat ones with most mass.
  const chosen = wanted.length ? wanted.map((w) => info.find((x) => x.c.text === w)!) : extremes(info, p.top_k);

  // Number → animal: P(animal | number system prompt) for each row's number.
  const numberPrompts = chosen.map((x) => encode(fill(p.number_system, { number: x.c.text, animal: p.animal }), p.question, p.answer_prefix));
  const numberAnimal = new Float64Array(chosen.length);
  ctx?.progress({ phase: 'number prompts', done: 0, total: chosen.length });
  await nextTokenLogProbs(lm, numberPrompts, { batchSize: p.batch_size, stats, signal: ctx?.signal }, (i, lp) => {
    numberAnimal[i] = Math.exp(lp[answerId]!);
    if ((i + 1) % p.batch_size === 0) ctx?.progress({ phase: 'number prompts', done: i + 1, total: chosen.length });
  });

  // Unembedding geometry from the lm_head initializer (numbers by their first token).
  let U: Unembedding | undefined;
  let mean: Float64Array | undefined;
  if (p.geometry) {
    U = unembedCache.get(lm);
    if (!U) {
      U = readUnembedding(lm.onnxFile, lm.vocabSize);
      unembedCache.set(lm, U);
    }
    mean = U.expected(numBase.map(Math.exp));
  }
  const ua = U?.row(answerId);
  const rows: RunOutputRow[] = chosen.map((x, r) => {
    // Run-level metrics carry their value on the first row only and NaN elsewhere (the verdict
    // engine leaves non-finite values out): repeating them would turn one measurement into many
    // identical "observations" (pseudo-replication) in tests over rows.
    const runLevel: Record<string, number> =
      r === 0
        ? { animal_prob: animalProb, baseline_prob: baselineProb, animal_ratio: animalProb / baselineProb }
        : { animal_prob: NaN, baseline_prob: NaN, animal_ratio: NaN };
    const metrics: Record<string, number> = {
      ...runLevel,
      number_prob: x.pa,
      number_baseline_prob: x.pb,
      number_prob_change: x.change,
      number_prob_ratio: x.ratio,
      number_rank: rank.get(x.c.text)!,
      number_animal_prob: numberAnimal[r]!,
      number_ratio: numberAnimal[r]! / baselineProb,
      number_tokens: x.c.variants[0]!.length,
    };
    if (U && ua && mean) Object.assign(metrics, geometry(ua, U.row(x.c.variants[0]![0]!), mean));
    return { keys: { number: x.c.text, category: x.category }, metrics };
  });
  const wallMs = performance.now() - wall0;
  const top = (arr: typeof info, key: 'pa' | 'pb') =>
    [...arr].sort((a, b) => b[key] - a[key]).slice(0, p.top_k).map((x) => ({ number: x.c.text, prob: x[key] }));
  return {
    rows,
    extras: {
      device: lm.device,
      dtype: lm.dtype,
      answer_token: ' ' + answerWord,
      answer_token_id: answerId,
      candidates: cands.length,
      top_numbers_animal: top(info, 'pa'),
      top_numbers_baseline: top(info, 'pb'),
      categories: { rose: info.filter((x) => x.category === 'rose').length, fell: info.filter((x) => x.category === 'fell').length, flat: info.filter((x) => x.category === 'flat').length },
      prompts: stats.prompts,
      continuations_scored: stats.sequences,
      forward_calls: stats.forwardCalls,
      tokens: stats.tokens,
      forward_ms: stats.ms,
      wall_ms: wallMs,
      prompts_per_s: stats.prompts / (wallMs / 1000),
    },
  };
}

export const runner: Runner = tokenProbeSchema.implement({
  // Deterministic: every spec of a group differs only by seed, so one probe serves them all.
  async run(specs, ctx) {
    if (specs.length === 0) return [];
    const res = await probe(specs[0]!.params, ctx);
    return specs.map(() => ({ rows: res.rows.map((r) => ({ metrics: { ...r.metrics }, keys: { ...r.keys } })), backend: `onnxruntime-node/${String(res.extras.device)}`, extras: res.extras }));
  },
});
