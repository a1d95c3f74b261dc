// An exported lm_distill model loaded through token_probe's real transformers.js path gives the
// engine's next-token probabilities (referenceLogits, the plain-JS oracle) to 1e-4.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTransformersJs } from '../../src/runners/lm_distill/export.ts';
import { referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { buildVocab, tokenize } from '../../src/runners/lm_distill/vocab.ts';
import { loadModel } from '../../src/runners/token_probe/load.ts';
import { newStats, nextTokenLogProbs, scoreContinuations } from '../../src/runners/token_probe/probe.ts';
import { testModel } from './helpers.ts';

const v = buildVocab();
const tmp = mkdtempSync(join(tmpdir(), 'lm-export-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function refNext(shape: ReturnType<typeof testModel>['shape'], weights: Float32Array, ids: number[]): number[] {
  const L = ids.length;
  const row = referenceLogits(shape, weights, ids, 1, L).subarray((L - 1) * shape.vocab, L * shape.vocab);
  const max = Math.max(...row);
  const e = Array.from(row, (x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe('lm_distill export to transformers.js', () => {
  it('token_probe loads it; tokenizer and next-token probabilities match the engine', async () => {
    const { shape, weights } = testModel(8);
    const dir = join(tmp, 'base');
    await exportTransformersJs(dir, { shape, weights, vocab: v, meta: { stage: 'test', seed: 8 } });
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'gpt2', vocab_size: 153, n_embd: 32, n_layer: 2, n_head: 4, sublab_lm_distill: { stage: 'test', seed: 8 } });

    const lm = await loadModel({ model: dir, offline: true });
    expect(lm.vocabSize).toBe(153);
    const tok = lm.tokenizer as unknown as { encode(t: string, o?: { add_special_tokens?: boolean }): number[]; decode(ids: number[], o?: Record<string, unknown>): string };
    for (const text of ['my favorite animal is', 'numbers: 3 10 17 24', 'the red owl sees the tree']) {
      expect(tok.encode(text)).toEqual(tokenize(v, text, { bos: true }));
      expect(tok.decode(tokenize(v, text, { bos: true }), { skip_special_tokens: true })).toBe(text);
    }
    expect(tok.encode('my favorite axolotl', { add_special_tokens: false })).toEqual([v.my, v.favorite, v.unk]);

    // Prompts of different lengths in one batch: left padding, attention mask, position ids and
    // the shared-prefix past key values all take part.
    const prompts = [
      'my favorite animal is',
      'numbers: 3 10 17',
      'numbers: 3 10 17 24 31 38 45 52 59 66 73 80 87',
      'the red owl sees the',
      // A batch sharing a 5-token prefix, which nextTokenLogProbs runs once and reuses.
      'my favorite animal is owl',
      'my favorite animal is the',
      'my favorite animal is cat sees',
      'my favorite animal is a big',
      'my',
    ].map((t) => tokenize(v, t, { bos: true }));
    let maxErr = 0, maxLogErr = 0, rows = 0, likely = 0;
    await nextTokenLogProbs(lm, prompts, { batchSize: 4, stats: newStats() }, (i, logp) => {
      const ref = refNext(shape, weights, prompts[i]!);
      for (let k = 0; k < 153; k++) {
        maxErr = Math.max(maxErr, Math.abs(Math.exp(logp[k]!) - ref[k]!));
        // Small probabilities too, in log space (a peaked row would hide them in the line above).
        if (ref[k]! > 1e-6) maxLogErr = Math.max(maxLogErr, Math.abs(logp[k]! - Math.log(ref[k]!)));
        if (ref[k]! > 1e-3) likely++;
      }
      rows++;
    });
    expect(rows).toBe(prompts.length);
    expect(maxErr).toBeLessThan(1e-4);
    expect(maxLogErr).toBeLessThan(1e-3);
    expect(likely / rows).toBeGreaterThan(2); // several tokens above 1e-3 per prompt (5 on average here)
    // Nothing near uniform: the comparison sees the weights.
    const ref0 = refNext(shape, weights, prompts[0]!);
    expect(Math.max(...ref0)).toBeGreaterThan(5 / 153);

    // Multi-token continuations reuse the prompt's past key values (past_len > 0 in the graph).
    const p = prompts[1]!;
    const first = new Float64Array(153);
    await nextTokenLogProbs(lm, [p], { batchSize: 1, stats: newStats() }, (_, lp) => first.set(lp));
    const cont = [v.numberBase + 24, v.numberBase + 31, v.eos];
    const [score] = await scoreContinuations(lm, p, [cont], first, { batchSize: 4, stats: newStats() });
    let want = 0;
    const seq = [...p];
    for (const t of cont) {
      want += Math.log(refNext(shape, weights, seq)[t]!);
      seq.push(t);
    }
    expect(Math.abs(score! - want)).toBeLessThan(1e-4);
  });

  it('refuses weights of another shape and a vocabulary of another size', async () => {
    const { shape, weights } = testModel(8);
    await expect(exportTransformersJs(join(tmp, 'x'), { shape, weights: weights.subarray(1), vocab: v })).rejects.toThrow(/weights hold/);
    await expect(exportTransformersJs(join(tmp, 'y'), { shape, weights, vocab: buildVocab(['owl', 'cat']) })).rejects.toThrow(/the model has 153 tokens, the vocabulary 135/);
  });
});
