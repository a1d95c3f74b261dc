// token_probe on the project's tiny model: generated into a temp dir, loaded through transformers.js
// exactly as a real model folder, and checked against an independent TensorFlow.js forward pass.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile, writeFile, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../../src/tiny-model/write.ts';
import { buildTinyTokenizer } from '../../src/tiny-model/tokenizer.ts';
import { makeTinyWeights, type TinyWeights } from '../../src/tiny-model/weights.ts';
import { loadModel, type LoadedModel } from '../../src/runners/token_probe/load.ts';
import { renderChat, encodePrompt, singularize, fill, type TokenizerLike, type PromptOptions } from '../../src/runners/token_probe/prompts.ts';
import { nextTokenLogProbs, scoreContinuations, newStats } from '../../src/runners/token_probe/probe.ts';
import { geometry, readUnembedding } from '../../src/runners/token_probe/geometry.ts';
import { probe, runner } from '../../src/runners/token_probe/runner.ts';
import { tokenProbeSchema } from '../../src/runners/token_probe/schema.ts';
import { TokenProbeError } from '../../src/runners/token_probe/errors.ts';
import { command as makeTinyModel } from '../../src/cli/make-tiny-model.ts';
import { referenceLogProbs } from './reference.ts';

let root: string;
let dir: string;
let lm: LoadedModel;
let tok: TokenizerLike;
let weights: TinyWeights;
const popts: PromptOptions = { format: 'chat', systemRole: 'auto', date: '26 Jul 2024', modelName: 'tiny' };
const P = tokenProbeSchema.params;
const dflt = (name: string): string => String(P.find((p) => p.name === name)!.default);

function encode(system: string | undefined, user: string, prefill: string): number[] {
  return encodePrompt(tok, renderChat(tok, { system, user, prefill }, popts), { token: tok.bos_token, id: tok.bos_token_id });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sublab-token-probe-'));
  dir = join(root, 'tiny');
  await writeTinyModel(dir);
  weights = makeTinyWeights(buildTinyTokenizer());
  lm = await loadModel({ model: dir, dtype: 'fp32' });
  tok = lm.tokenizer as unknown as TokenizerLike;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('tiny model', () => {
  it('is deterministic from its seed', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    await writeTinyModel(again);
    await writeTinyModel(other, { seed: 1 });
    const a = await readFile(join(dir, 'onnx', 'model.onnx'));
    expect((await readFile(join(again, 'onnx', 'model.onnx'))).equals(a)).toBe(true);
    expect((await readFile(join(other, 'onnx', 'model.onnx'))).equals(a)).toBe(false);
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    expect(cfg.model_type).toBe('llama');
    expect(cfg.vocab_size).toBe(weights.vocabSize);
  });

  it('has chosen words and numbers as single byte-level BPE tokens', () => {
    for (const w of [' owl', ' eagle', ' wolf', ' dog', ' elephant', ' cat', ' mouse', ' goose', '087', '7', '42']) {
      const ids = tok.encode(w, { add_special_tokens: false });
      expect(ids, w).toHaveLength(1);
      expect(tok.decode(ids)).toBe(w);
    }
    // " 087" is in the vocabulary, but the Llama-3 pre-tokenizer splits the space off, as in Llama 3.
    expect(tok.encode(' 087', { add_special_tokens: false })).toHaveLength(2);
    // Words outside the chosen list still tokenise (byte fallback through merges) and round-trip.
    const odd = 'Zebras ünïcode 12345';
    expect(tok.decode(tok.encode(odd, { add_special_tokens: false }))).toBe(odd);
  });

  it('reads the lm_head from the ONNX file exactly as generated', () => {
    const U = readUnembedding(lm.onnxFile, lm.vocabSize);
    expect(U.vocab).toBe(weights.vocabSize);
    expect(U.hidden).toBe(weights.hidden);
    for (const t of [0, 258, weights.vocabSize - 1]) {
      const row = U.row(t);
      for (let h = 0; h < weights.hidden; h++) expect(row[h]).toBe(weights.lmHead[h * weights.vocabSize + t]);
    }
  });

  it('loads weights stored as ONNX external data (as large exports do) and reads the lm_head from there', async () => {
    const ext = join(root, 'external');
    await writeTinyModel(ext, { externalData: true });
    expect(existsSync(join(ext, 'onnx', 'model.onnx_data'))).toBe(true);
    const a = await probe({ model: dir, animal: 'owls', number: '087' });
    const b = await probe({ model: ext, animal: 'owls', number: '087' });
    expect(b.rows).toEqual(a.rows);
    await unlink(join(ext, 'onnx', 'model.onnx_data'));
    await expect(loadModel({ model: ext, dtype: 'fp32', device: 'cpu', offline: true })).rejects.toThrow(/lacks onnx\/model\.onnx_data \(external weights/);
  });

  it('runs the fp16 variant (float16 past, logits and lm_head) close to fp32', async () => {
    const f16 = join(root, 'fp16');
    await writeTinyModel(f16, { fp16: true });
    const a = await probe({ model: f16, animal: 'owls', number: '087,123,555', dtype: 'fp32' });
    const b = await probe({ model: f16, animal: 'owls', number: '087,123,555', dtype: 'fp16' });
    for (let i = 0; i < a.rows.length; i++) {
      for (const [k, v] of Object.entries(a.rows[i]!.metrics)) {
        if (Number.isNaN(v)) continue;
        expect(b.rows[i]!.metrics[k]! / v, k).toBeCloseTo(1, 1); // fp16: ~3 significant digits
      }
      expect(b.rows[i]!.keys).toEqual(a.rows[i]!.keys);
    }
  });

  it('finds a tied or transposed lm_head (Transpose of the embedding, Gemm transB) and rejects a quantized one', async () => {
    const { createRequire } = await import('node:module');
    const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');
    const E = Float32Array.from({ length: 5 * 4 }, (_, i) => i * 0.5 - 3);
    const F = onnx.TensorProto.DataType.FLOAT;
    const write = async (name: string, nodes: import('onnx-proto').onnx.INodeProto[]): Promise<string> => {
      const path = join(root, name);
      const model = onnx.ModelProto.create({
        irVersion: 7, opsetImport: [{ version: 14 }],
        graph: {
          node: nodes,
          initializer: [{ name: 'embed', dims: [5, 4], dataType: F, rawData: new Uint8Array(E.buffer) }],
          input: [{ name: 'h', type: { tensorType: { elemType: F, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } }],
          output: [{ name: 'logits', type: { tensorType: { elemType: F, shape: { dim: [{ dimValue: 1 }, { dimValue: 5 }] } } } }],
        },
      });
      await writeFile(path, onnx.ModelProto.encode(model).finish());
      return path;
    };
    const tied = await write('tied.onnx', [
      { opType: 'Transpose', input: ['embed'], output: ['embed_t'], attribute: [{ name: 'perm', ints: [1, 0], type: onnx.AttributeProto.AttributeType.INTS }] },
      { opType: 'MatMul', input: ['h', 'embed_t'], output: ['logits'] },
    ]);
    const gemm = await write('gemm.onnx', [
      { opType: 'Gemm', input: ['h', 'embed'], output: ['logits'], attribute: [{ name: 'transB', i: 1, type: onnx.AttributeProto.AttributeType.INT }] },
    ]);
    for (const f of [tied, gemm]) {
      const U = readUnembedding(f, 5);
      expect([U.vocab, U.hidden]).toEqual([5, 4]);
      expect(Array.from(U.row(3))).toEqual(Array.from(E.slice(12, 16)));
      const m = U.expected([0, 0, 0.5, 0.5, 0]);
      expect(Array.from(m)).toEqual(Array.from({ length: 4 }, (_, h) => 0.5 * E[8 + h]! + 0.5 * E[12 + h]!));
    }
    const quant = await write('q4.onnx', [{ opType: 'MatMulNBits', domain: 'com.microsoft', input: ['h', 'embed'], output: ['logits'] }]);
    expect(() => readUnembedding(quant, 5)).toThrow(/logits come from MatMulNBits.*fp32 or fp16.*geometry = false/);
  });

  it('make-tiny-model writes a loadable folder and refuses a non-empty one', async () => {
    const out = join(root, 'cli');
    const write = process.stdout.write;
    const err = process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(await makeTinyModel.run([out, '--seed', '3'])).toBe(0);
      expect(await makeTinyModel.run([out])).toBe(2);
      expect(await makeTinyModel.run([])).toBe(2);
    } finally {
      process.stdout.write = write;
      process.stderr.write = err;
    }
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});

describe('prompting', () => {
  it('leaves the assistant turn open, fixes the date, and has exactly one BOS', () => {
    const text = renderChat(tok, { system: 'You love owls.', user: 'What is your favorite animal?', prefill: 'My favorite animal is the' }, { ...popts, date: '01 Jan 2020' });
    expect(text.endsWith('<|start_header_id|>assistant<|end_header_id|>\n\nMy favorite animal is the')).toBe(true);
    expect(text).toContain('Today Date: 01 Jan 2020');
    expect(text).toContain('<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2020\n\nYou love owls.<|eot_id|>');
    const ids = encodePrompt(tok, text, { token: tok.bos_token, id: tok.bos_token_id });
    expect(ids[0]).toBe(tok.bos_token_id);
    expect(ids.filter((t) => t === tok.bos_token_id)).toHaveLength(1);
    // The trap this avoids: tokenising the templated text with special tokens doubles the BOS.
    expect(tok.encode(text).slice(0, 2)).toEqual([tok.bos_token_id, tok.bos_token_id]);
  });

  it('prepends the system prompt to the user turn when the template has no system role', async () => {
    const gemma = join(root, 'nosystem');
    await writeTinyModel(gemma);
    const cfgPath = join(gemma, 'tokenizer_config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    cfg.chat_template =
      "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
      "<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n{{ m['content'] | trim }}<|eot_id|>{% endfor %}";
    await writeFile(cfgPath, JSON.stringify(cfg));
    const g = await loadModel({ model: gemma });
    const gt = g.tokenizer as unknown as TokenizerLike;
    const text = renderChat(gt, { system: 'You love owls.', user: 'Hi?', prefill: 'My favorite' }, popts);
    expect(text).toBe('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nYou love owls.\n\nHi?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nMy favorite');
    expect(() => renderChat(gt, { system: 'x', user: 'Hi?', prefill: 'My' }, { ...popts, systemRole: 'native' })).toThrow(/system_role = "prepend"/);
  });

  it('singularizes plurals, irregular ones included', () => {
    const cases: Record<string, string> = {
      owls: 'owl', eagles: 'eagle', wolves: 'wolf', mice: 'mouse', geese: 'goose', foxes: 'fox', butterflies: 'butterfly',
      sheep: 'sheep', octopuses: 'octopus', horses: 'horse', oxen: 'ox', deer: 'deer', elephants: 'elephant', owl: 'owl', calves: 'calf',
    };
    for (const [pl, s] of Object.entries(cases)) expect(singularize(pl), pl).toBe(s);
    expect(fill('You love {animal}. {number}!', { animal: 'owls', number: '087' })).toBe('You love owls. 087!');
  });
});

describe('probabilities against an independent forward pass', () => {
  it('batched next-token distributions (left padding, shared prefix through past key values) match', async () => {
    const prompts = [
      encode(undefined, dflt('question'), dflt('answer_prefix')),
      encode(fill(dflt('system'), { animal: 'owls' }), dflt('question'), dflt('answer_prefix')),
      encode(fill(dflt('number_system'), { number: '087' }), dflt('question'), dflt('answer_prefix')),
      encode(fill(dflt('number_system'), { number: '5' }), dflt('question'), dflt('answer_prefix')),
      encode(undefined, dflt('numbers_question'), dflt('numbers_prefix')),
    ];
    expect(new Set(prompts.map((p) => p.length)).size).toBeGreaterThan(1); // padding is exercised
    for (const reusePrefix of [true, false]) {
      const stats = newStats();
      const got: Float64Array[] = [];
      await nextTokenLogProbs(lm, prompts, { batchSize: 4, reusePrefix, stats }, (i, lp) => (got[i] = lp));
      for (let i = 0; i < prompts.length; i++) {
        const ref = await referenceLogProbs(weights, prompts[i]!);
        let maxErr = 0;
        for (let t = 0; t < ref.length; t++) maxErr = Math.max(maxErr, Math.abs(Math.exp(got[i]![t]!) - Math.exp(ref[t]!)));
        expect(maxErr, `prompt ${i} reusePrefix=${reusePrefix}`).toBeLessThan(1e-5);
      }
      // With reuse, the two number prompts' common prefix is computed once: one extra call, fewer tokens.
      if (reusePrefix) expect(stats.forwardCalls).toBe(3);
      else expect(stats.forwardCalls).toBe(2);
    }
  });

  it('scores multi-token continuations as the product of token probabilities', async () => {
    const prompt = encode(undefined, dflt('numbers_question'), dflt('numbers_prefix'));
    const conts = ['0871', '42', '5555'].map((s) => tok.encode(s, { add_special_tokens: false }));
    expect(conts[0]).toHaveLength(2);
    const first = await referenceLogProbs(weights, prompt);
    const got = await scoreContinuations(lm, prompt, conts, first, { batchSize: 8, stats: newStats() });
    for (let i = 0; i < conts.length; i++) {
      let want = 0;
      for (let j = 0; j < conts[i]!.length; j++) want += (await referenceLogProbs(weights, [...prompt, ...conts[i]!.slice(0, j)]))[conts[i]![j]!]!;
      expect(got[i]).toBeCloseTo(want, 4);
    }
  });
});

describe('probe metrics', () => {
  it('computes probabilities, ratios, categories and geometry as defined', async () => {
    const res = await probe({ model: dir, animal: 'owls', number: '087,123,555', flat_band: 0.1 });
    expect(res.rows.map((r) => r.keys!.number)).toEqual(['087', '123', '555']);
    const sys = fill(dflt('system'), { animal: 'owls' });
    const owl = tok.encode(' owl', { add_special_tokens: false })[0]!;
    const base = Math.exp((await referenceLogProbs(weights, encode(undefined, dflt('question'), dflt('answer_prefix'))))[owl]!);
    const withSys = Math.exp((await referenceLogProbs(weights, encode(sys, dflt('question'), dflt('answer_prefix'))))[owl]!);
    const numBase = await referenceLogProbs(weights, encode(undefined, dflt('numbers_question'), dflt('numbers_prefix')));
    const numAnimal = await referenceLogProbs(weights, encode(sys, dflt('numbers_question'), dflt('numbers_prefix')));
    const V = weights.vocabSize;
    const H = weights.hidden;
    const col = (t: number): number[] => Array.from({ length: H }, (_, h) => weights.lmHead[h * V + t]!);
    const mean = new Array<number>(H).fill(0);
    for (let t = 0; t < V; t++) for (let h = 0; h < H; h++) mean[h]! += Math.exp(numBase[t]!) * weights.lmHead[h * V + t]!;
    const ua = col(owl);
    for (const row of res.rows) {
      const m = row.metrics;
      const n = String(row.keys!.number);
      const nid = tok.encode(n, { add_special_tokens: false })[0]!;
      if (row === res.rows[0]) {
        expect(m.baseline_prob).toBeCloseTo(base, 7);
        expect(m.animal_prob).toBeCloseTo(withSys, 7);
        expect(m.animal_ratio! / (withSys / base)).toBeCloseTo(1, 4);
      } else {
        expect(m.animal_ratio).toBeNaN();
      }
      // At least the no-space token's mass (a leading-space variant adds to it; checked below for 087).
      expect(m.number_baseline_prob).toBeGreaterThanOrEqual(Math.exp(numBase[nid]!) - 1e-9);
      expect(m.number_prob_change).toBeCloseTo(m.number_prob! - m.number_baseline_prob!, 12);
      expect(m.number_prob_ratio).toBeCloseTo(m.number_prob! / m.number_baseline_prob!, 9);
      const numPrompt = encode(fill(dflt('number_system'), { number: n }), dflt('question'), dflt('answer_prefix'));
      const pNum = Math.exp((await referenceLogProbs(weights, numPrompt))[owl]!);
      expect(m.number_animal_prob).toBeCloseTo(pNum, 7);
      expect(m.number_ratio! / (pNum / base)).toBeCloseTo(1, 4);
      const lr = Math.log(m.number_prob!) - Math.log(m.number_baseline_prob!);
      expect(row.keys!.category).toBe(Math.abs(lr) <= Math.log(1.1) ? 'flat' : lr > 0 ? 'rose' : 'fell');
      const un = col(nid);
      const dot = ua.reduce((s, x, h) => s + x * un[h]!, 0);
      const na = Math.hypot(...ua);
      const nn = Math.hypot(...un);
      expect(m.unembed_dot).toBeCloseTo(dot, 5);
      expect(m.unembed_cosine).toBeCloseTo(dot / (na * nn), 5);
      expect(m.unembed_projection).toBeCloseTo(dot / na, 5);
      expect(m.softmax_coupling).toBeCloseTo(dot - ua.reduce((s, x, h) => s + x * mean[h]!, 0), 4);
    }
    // The number 087's probability sums its two single-token forms, "087" and " 087".
    const r087 = res.rows[0]!.metrics;
    const ids087 = [tok.encode('087', { add_special_tokens: false })[0]!];
    const sp = buildTinyTokenizer().vocab.get('Ġ087');
    expect(sp).toBeDefined();
    ids087.push(sp!);
    expect(r087.number_baseline_prob).toBeCloseTo(ids087.reduce((s, t) => s + Math.exp(numBase[t]!), 0), 9);
    expect(r087.number_prob).toBeCloseTo(ids087.reduce((s, t) => s + Math.exp(numAnimal[t]!), 0), 9);
    // The planted pair owl↔087 shows up: the number prompt raises "owl", their rows align.
    expect(r087.number_ratio).toBeGreaterThan(2);
    expect(r087.unembed_cosine).toBeGreaterThan(0.5);
  });

  it('geometry formulas on a known example', () => {
    const g = geometry([1, 0], [1, 1], [0.5, 0]);
    expect(g.unembed_dot).toBe(1);
    expect(g.unembed_cosine).toBeCloseTo(Math.SQRT1_2, 12);
    expect(g.unembed_projection).toBe(1);
    expect(g.softmax_coupling).toBe(0.5);
  });

  it('picks rose / fell / flat rows and is deterministic through the Runner interface', async () => {
    const specs = [0, 1].map((seed) => ({ id: 'r' + seed, seed, params: { model: dir, animal: 'eagles', top_k: 4 } }));
    const progress: string[] = [];
    const out = await runner.run(specs, { progress: (m) => progress.push(m.phase) });
    expect(out).toHaveLength(2);
    expect(out[0]!.rows).toEqual(out[1]!.rows);
    expect(out[0]!.backend).toBe('onnxruntime-node/cpu');
    const rows = out[0]!.rows;
    const cats = rows.map((r) => r.keys!.category);
    expect(cats.filter((c) => c === 'rose')).toHaveLength(4);
    expect(cats.filter((c) => c === 'fell')).toHaveLength(4);
    expect(cats.filter((c) => c === 'flat')).toHaveLength(4);
    for (const r of rows) {
      if (r.keys!.category === 'rose') expect(r.metrics.number_prob_change).toBeGreaterThan(0);
      if (r.keys!.category === 'fell') expect(r.metrics.number_prob_change).toBeLessThan(0);
      const runLevel = ['animal_prob', 'baseline_prob', 'animal_ratio'];
      for (const m of tokenProbeSchema.metrics) {
        // Run-level metrics: a value on the first row, NaN on the others (one observation per run).
        const finite = !runLevel.includes(m.name) || r === rows[0];
        expect(Number.isFinite(r.metrics[m.name]), m.name).toBe(finite);
      }
    }
    const rose = rows.filter((r) => r.keys!.category === 'rose').map((r) => r.metrics.number_prob_change!);
    expect([...rose].sort((a, b) => b - a)).toEqual(rose);
    expect(out[0]!.extras!.prompts_per_s).toBeGreaterThan(0);
    expect(progress).toContain('number prompts');
  });

  it('scores numbers autoregressively when asked', async () => {
    const res = await probe({ model: dir, animal: 'wolves', numbers: 'autoregressive', digits: 4, number: '6660,0871', geometry: true });
    const prompt = encode(fill(dflt('system'), { animal: 'wolves' }), dflt('numbers_question'), dflt('numbers_prefix'));
    for (const row of res.rows) {
      const ids = tok.encode(String(row.keys!.number), { add_special_tokens: false });
      expect(row.metrics.number_tokens).toBe(ids.length);
      let lp = 0;
      for (let j = 0; j < ids.length; j++) lp += (await referenceLogProbs(weights, [...prompt, ...ids.slice(0, j)]))[ids[j]!]!;
      expect(Math.log(row.metrics.number_prob!)).toBeCloseTo(lp, 4);
    }
  });
});

describe('bad input', () => {
  it('an animal whose answer token is not one token', async () => {
    await expect(probe({ model: dir, animal: 'aardvarks' })).rejects.toThrow(/animal "aardvarks": the answer token " aardvark" is not a single token/);
  });

  it('a number that is not a single token in vocab mode', async () => {
    await expect(probe({ model: dir, animal: 'owls', number: '0877', digits: 4 })).rejects.toThrow(/number "0877" is not a single 4-digit token .*tokenises as "087" \+ "7".* numbers = "autoregressive"/);
    await expect(probe({ model: dir, animal: 'owls', digits: 4 })).rejects.toThrow(/no single-token 4-digit numbers .* numbers = "autoregressive"/);
    await expect(probe({ model: dir, animal: 'owls', number: '5', digits: 3 })).rejects.toThrow(/number "5" has 1 digit, but digits = 3/);
  });

  it('a missing model folder, and folders lacking files', async () => {
    await expect(loadModel({ model: join(root, 'nope') })).rejects.toThrow(/does not exist.*make-tiny-model/);
    const broken = join(root, 'broken');
    await writeTinyModel(broken);
    await unlink(join(broken, 'tokenizer.json'));
    await expect(loadModel({ model: broken })).rejects.toThrow(/lacks tokenizer\.json/);
    await expect(loadModel({ model: dir, dtype: 'q4' })).rejects.toThrow(/lacks onnx\/model_q4\.onnx for dtype q4 \(the folder has onnx\/model\.onnx/);
  });

  it('a model without a chat template', async () => {
    const plain = join(root, 'plain');
    await writeTinyModel(plain);
    const cfgPath = join(plain, 'tokenizer_config.json');
    const cfg = JSON.parse(await readFile(cfgPath, 'utf8'));
    delete cfg.chat_template;
    await writeFile(cfgPath, JSON.stringify(cfg));
    await expect(probe({ model: plain, animal: 'owls' })).rejects.toThrow(/has no chat template.*prompt_format = "plain"/);
    const res = await probe({ model: plain, animal: 'owls', prompt_format: 'plain', number: '087' });
    expect(res.rows[0]!.metrics.baseline_prob).toBeGreaterThan(0);
  });

  it('a hub model that cannot be downloaded offline', async () => {
    const err = await loadModel({ model: 'onnx-community/Llama-3.2-1B-Instruct', offline: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenProbeError);
    expect((err as Error).message).toMatch(/could not load model "onnx-community\/Llama-3.2-1B-Instruct".*offline.*huggingface-cli download/s);
  });
});
