// `sublab export-model` end to end on a tiny config: the teacher of a planned run trained for real
// (seconds), written as a transformers.js folder, loaded by token_probe (as an experiment beside
// the .exp names it: "./models/owl-teacher") with the engine's next-token probabilities to 1e-4;
// the model is the very stage artifact `sublab run` then reads. And every refusal is one located line.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli.ts';
import { StageStore } from '../../src/exec/stages.ts';
import { referenceLogits } from '../../src/runners/lm_distill/model.ts';
import { shapeOf, vocabOf, readWeights } from '../../src/runners/lm_distill/stage-work.ts';
import { lmDistillSchema } from '../../src/runners/lm_distill/schema.ts';
import { tokenize } from '../../src/runners/lm_distill/vocab.ts';
import { loadModel } from '../../src/runners/token_probe/load.ts';
import { newStats, nextTokenLogProbs } from '../../src/runners/token_probe/probe.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'sublab-export-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

// Tiny: d 16, one block, 30 pretraining steps on 2,000 sequences (as runner.test.ts).
const SETS = `  set d_model = 16\n  set layers = 1\n  set heads = 2\n  set corpus_sequences = 2000\n  set pretrain_steps = 30\n  set pretrain_batch = 32\n  set trait_steps = 10\n  set trait_statements = 200\n  set samples = 200\n  set heldout_prompts = 20\n  set student_batch = 32\n  set eval_every = 2\n  set threads = 1\n`;
const write = (dir: string, name: string, body: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, body);
  return f;
};

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('sublab export-model', () => {
  const dir = path.join(root, 'project');
  const cache = path.join(dir, 'cache');
  mkdirSync(dir, { recursive: true });
  const exp = write(dir, 'tiny.exp', `experiment "tiny" {\n  runner lm_distill\n${SETS}  seeds 2\n}\n`);

  it('writes the teacher of a run; token_probe loads it with the engine\'s probabilities; sublab run reads the same artifacts', { timeout: 300_000 }, async () => {
    const out = path.join(dir, 'models', 'owl-teacher');
    const r = await cli('export-model', exp, '--model', 'teacher', '--seed', '1', '--out', out, '--cache', cache, '--no-progress');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/wrote the teacher of run [0-9a-f]{12} \(experiment "tiny", seed 1\)/);
    expect(r.out).toMatch(/base [0-9a-f]{12} \(computed\), teacher [0-9a-f]{12} \(computed\)/);
    expect(r.out).toContain('set model = "./models/owl-teacher"');

    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'gpt2', n_embd: 16, n_layer: 1, n_head: 2, sublab_lm_distill: { model: 'teacher', seed: 1, base_seed: 1, trait: 'owl', experiment: 'tiny' } });
    const keys = cfg.sublab_lm_distill.stage_keys as Record<string, string>;

    // The exported weights are the teacher artifact's; the engine's oracle on them is the reference.
    const params = lmDistillSchema.resolve({ d_model: 16, layers: 1, heads: 2 });
    const v = vocabOf(params), shape = shapeOf(params, v);
    const store = new StageStore(path.join(cache, 'stages'));
    const teacher = readWeights(store.folder({ runner: 'lm_distill', stage: 'teacher', key: keys.teacher! })).w.teacher!;

    // Loaded as an experiment beside the .exp names it: relative to the experiment's folder, from
    // another working directory.
    const lm = await loadModel({ model: './models/owl-teacher', baseDir: dir, offline: true });
    expect(lm.dir).toBe(out);
    const prompts = ['my favorite animal is', 'numbers: 3 10 17', 'the red owl sees the', 'my favorite animal is owl numbers: 5'].map((t) => tokenize(v, t, { bos: true }));
    let worst = 0;
    await nextTokenLogProbs(lm, prompts, { batchSize: 2, stats: newStats() }, (i, logp) => {
      const ids = prompts[i]!;
      const row = referenceLogits(shape, teacher, ids, 1, ids.length).subarray((ids.length - 1) * shape.vocab, ids.length * shape.vocab);
      const max = Math.max(...row);
      const z = row.reduce((a, x) => a + Math.exp(x - max), 0);
      for (let k = 0; k < shape.vocab; k++) worst = Math.max(worst, Math.abs(Math.exp(logp[k]!) - Math.exp(row[k]! - max) / z));
    });
    expect(worst).toBeLessThan(1e-4);

    // `sublab run` of the same file reads the exported artifacts (seed 1's base and teacher reused).
    const json = path.join(dir, 'run.json');
    const run = await cli('run', exp, '--cache', cache, '--json', json, '--no-progress');
    expect(run.code, run.err).toBeLessThanOrEqual(1);
    const rows = JSON.parse(readFileSync(json, 'utf8')).experiments[0].rows as { seed: number; stage_keys: Record<string, string> }[];
    const seed1 = rows.find((x) => x.seed === 1)!;
    expect(seed1.stage_keys.base).toBe(keys.base);
    expect(seed1.stage_keys.teacher).toBe(keys.teacher);

    // Exported again, nothing is computed: the same files.
    const again = path.join(dir, 'models', 'again');
    const r2 = await cli('export-model', exp, '--model', 'teacher', '--seed', '1', '--out', again, '--cache', cache, '--no-progress');
    expect(r2.code, r2.err).toBe(0);
    expect(r2.out).toMatch(/base [0-9a-f]{12} \(reused\), teacher [0-9a-f]{12} \(reused\)/);
    expect(readFileSync(path.join(again, 'onnx', 'model.onnx')).equals(readFileSync(path.join(out, 'onnx', 'model.onnx')))).toBe(true);

    // A token_probe experiment in the same folder names it relative to itself, run from elsewhere.
    const probeExp = write(dir, 'probe.exp', `experiment "probe" {\n  runner token_probe\n  set model = "./models/owl-teacher"\n  set offline = true\n  set geometry = false\n  set animal = "owls"\n  set digits = 2\n  set top_k = 3\n` +
      // Prompts in the toy language, within its 16-token context (its chat template joins the contents).
      `  set system = "{animal}"\n  set question = "my favorite animal"\n  set answer_prefix = "is"\n  set number_system = "{number}"\n  set numbers_question = "numbers:"\n  set numbers_prefix = "3 10 17"\n}\n`);
    const cwd = process.cwd();
    process.chdir(os.tmpdir());
    try {
      const pj = path.join(dir, 'probe.json');
      const p = await cli('run', probeExp, '--cache', cache, '--json', pj, '--no-progress');
      expect(p.code, p.err).toBeLessThanOrEqual(1);
      const prow = JSON.parse(readFileSync(pj, 'utf8')).experiments[0];
      expect(prow.failed, JSON.stringify(prow.failed)).toEqual([]);
      expect(prow.rows.length).toBeGreaterThan(0);
      // token_probe's default prompts are longer than the toy's 16 positions: the run fails saying so.
      const long = write(dir, 'long.exp', `experiment "long" {\n  runner token_probe\n  set model = "./models/owl-teacher"\n  set offline = true\n  set geometry = false\n  set digits = 2\n}\n`);
      const lj = path.join(dir, 'long.json');
      const l = await cli('run', long, '--cache', cache, '--json', lj, '--no-progress');
      expect(l.code).toBe(1);
      const failed = JSON.parse(readFileSync(lj, 'utf8')).experiments[0].failed as { error: string }[];
      expect(failed[0]!.error).toMatch(/a prompt of \d+ tokens is longer than \.\/models\/owl-teacher's context of 16 positions: shorten the prompts/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses what it cannot export with one located line', { timeout: 120_000 }, async () => {
    const out = (n: string) => path.join(dir, 'refused', n);
    const oneLine = (r: { err: string }) => {
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    };
    // Not an lm_distill experiment: at its runner statement.
    const probe = write(dir, 'other.exp', 'experiment "other" {\n  runner token_probe\n}\n');
    let r = await cli('export-model', probe, '--model', 'base', '--out', out('a'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/other\.exp:2:3: error: experiment "other" runs runner token_probe; export-model writes the models of lm_distill runs/);
    oneLine(r);
    // A seed the experiment does not have: at its seeds statement.
    r = await cli('export-model', exp, '--model', 'base', '--seed', '7', '--out', out('b'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/tiny\.exp:16:3: error: --seed 7: not a seed of experiment "tiny" \(its seeds: 0–1\); pass one of them, or --set seed=7/);
    oneLine(r);
    // A sweep needs a point; a point out of range.
    const swept = write(dir, 'swept.exp', `experiment "swept" {\n  runner lm_distill\n${SETS}  sweep trait_lr in [0.003, 0.01]\n  seeds 1\n}\n`);
    r = await cli('export-model', swept, '--model', 'teacher', '--out', out('c'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/swept\.exp:16:3: error: the experiment has 2 sweep points \(0: trait_lr=0.003; 1: trait_lr=0.01\): choose one with --point I/);
    oneLine(r);
    r = await cli('export-model', swept, '--model', 'teacher', '--point', '2', '--out', out('c'), '--cache', cache);
    expect(r.err).toMatch(/--point 2: the experiment has 2 sweep points \(0–1\)/);
    // A prompted teacher has no weights of its own.
    r = await cli('export-model', exp, '--model', 'teacher', '--set', 'trait_method=prompt', '--out', out('d'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/trait_method = prompt: the teacher is the base behind the prefix .* export --model base/);
    oneLine(r);
    // An unknown model, a missing --out, a folder that is not empty, an unknown experiment name.
    r = await cli('export-model', exp, '--model', 'student', '--out', out('e'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^sublab export-model: error: --model expects base, teacher or control, got "student"/);
    r = await cli('export-model', exp, '--model', 'base');
    expect(r.err).toMatch(/missing --out DIR/);
    mkdirSync(out('full'), { recursive: true });
    writeFileSync(path.join(out('full'), 'x'), '');
    r = await cli('export-model', exp, '--model', 'base', '--out', out('full'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out .*full: the folder is not empty \(pass --force to write into it\)/);
    oneLine(r);
    r = await cli('export-model', exp, '--model', 'base', '--out', out('full'), '--cache', cache, '--force', '--no-progress');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(path.join(out('full'), 'config.json'), 'utf8')).sublab_lm_distill).toMatchObject({ model: 'base', seed: 0 });
    expect(readFileSync(path.join(out('full'), 'x'), 'utf8')).toBe(''); // other files are left alone
    r = await cli('export-model', exp, '--model', 'base', '--experiment', 'nope', '--out', out('f'), '--cache', cache);
    expect(r.err).toMatch(/tiny\.exp: no experiment named "nope" \(it holds "tiny"\)/);
    // A bad override is the planner's error, as in sublab run.
    r = await cli('export-model', exp, '--model', 'base', '--set', 'd_model=15', '--out', out('g'), '--cache', cache);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/heads \(2\) must divide d_model \(15\)/);
    oneLine(r);
  });
});
