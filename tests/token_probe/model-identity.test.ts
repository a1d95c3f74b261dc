// A local model folder is identified by the contents of the files loading reads, not by its path:
// a model made again into the same folder (`make-tiny-model --force`) is probed again, with new
// numbers; the same files at another path keep the run id and its cached result; a hub id keeps
// the id it always had. Everything runs through the real CLI on real tiny models.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile, writeFile, cp, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.ts';
import { compileFile } from '../../src/language/compile.ts';
import { planExperiment, runId } from '../../src/plan/plan.ts';
import { tokenProbeSchema } from '../../src/runners/token_probe/schema.ts';
import { modelFolderFiles } from '../../src/runners/token_probe/load.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sublab-token-probe-identity-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `main` with stdout and stderr captured. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const write = process.stdout.write;
  const werr = process.stderr.write;
  let out = '';
  let err = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = write;
    process.stderr.write = werr;
  }
}

interface Row { run_id: string; cached: boolean; number: string; number_ratio: number; unembed_cosine: number; animal_prob: number | null }

/** `sublab run FILE` into the test's cache; the experiment's rows. */
async function run(file: string): Promise<Row[]> {
  const json = join(root, `out-${Math.random().toString(36).slice(2)}.json`);
  const r = await cli('run', file, '--no-progress', '--cache', join(root, 'cache'), '--json', json);
  expect(r.err).not.toMatch(/error/);
  const exp = JSON.parse(await readFile(json, 'utf8')).experiments[0] as { rows: Row[]; failed: unknown[] };
  expect(exp.failed).toEqual([]);
  return exp.rows;
}

/** An experiment probing `model` (as written in the file) for the planted numbers of owl and eagle. */
function probeExp(model: string): string {
  return `experiment "probe" {
  runner token_probe
  set model = "${model}"
  set offline = true
  set animal = "owls"
  set number = "087,123"
}
`;
}

/** The plan's run ids for `file` (through the checker, as every command plans them). */
async function planIds(file: string): Promise<string[]> {
  const r = await compileFile(file);
  expect(r.diagnostics).toEqual([]);
  return planExperiment(r.experiments[0]!).runs.map((x) => x.id);
}

describe('token_probe run ids of a local model folder', () => {
  it('a model made again into the same folder is probed again; the same files elsewhere keep the id and the cached result', { timeout: 120_000 }, async () => {
    const project = join(root, 'project');
    const exp = join(project, 'probe.exp');
    expect((await cli('make-tiny-model', join(project, 'models', 'tiny'), '--seed', '0')).code).toBe(0);
    await writeFile(exp, probeExp('./models/tiny'));

    // `sublab plan --files` lists the folder's files as the experiment names them, with their sizes.
    const listed = await cli('plan', exp, '--files');
    expect(listed.out).toMatch(/code and inputs hashed into the run ids: 5 files, [\d.]+ KiB:\n/);
    expect(listed.out).toMatch(/\n {4}models\/tiny\/onnx\/model\.onnx +[\d.]+ KiB\n/);
    expect(listed.out).toContain('    models/tiny/tokenizer_config.json ');

    const first = await run(exp);
    expect(first).toHaveLength(2);
    expect(first.every((r) => !r.cached)).toBe(true);
    const again = await run(exp);
    expect(again.map((r) => [r.run_id, r.cached])).toEqual(first.map((r) => [r.run_id, true]));

    // Same content written again: the same id, still cached.
    expect((await cli('make-tiny-model', join(project, 'models', 'tiny'), '--seed', '0', '--force')).code).toBe(0);
    expect((await run(exp)).map((r) => [r.run_id, r.cached])).toEqual(first.map((r) => [r.run_id, true]));

    // Another model into the same folder: a new id, computed (not a stale hit), with new numbers.
    expect((await cli('make-tiny-model', join(project, 'models', 'tiny'), '--seed', '1', '--force')).code).toBe(0);
    const remade = await run(exp);
    expect(remade).toHaveLength(2);
    expect(remade[0]!.run_id).not.toBe(first[0]!.run_id);
    expect(remade.every((r) => !r.cached)).toBe(true);
    for (let i = 0; i < 2; i++) {
      expect(remade[i]!.number).toBe(first[i]!.number);
      expect(remade[i]!.number_ratio).not.toBe(first[i]!.number_ratio);
      expect(remade[i]!.unembed_cosine).not.toBe(first[i]!.unembed_cosine);
    }
    expect(remade[0]!.animal_prob).not.toBe(first[0]!.animal_prob);

    // The project moved (and the folder named by an absolute path from elsewhere): same id, cached.
    const moved = join(root, 'moved');
    await cp(project, moved, { recursive: true });
    const viaAbsolute = join(root, 'elsewhere.exp');
    await writeFile(viaAbsolute, probeExp(join(moved, 'models', 'tiny')));
    const movedId = await planIds(join(moved, 'probe.exp'));
    expect(movedId).toEqual([remade[0]!.run_id]);
    expect(await planIds(viaAbsolute)).toEqual(movedId);
    const fromMoved = await run(viaAbsolute);
    expect(fromMoved.map((r) => [r.run_id, r.cached, r.number_ratio])).toEqual(remade.map((r) => [r.run_id, true, r.number_ratio]));
  });

  it('hashes the files loading reads: the dtype\'s ONNX file and its external data, not other files', async () => {
    const dir = join(root, 'external');
    expect((await cli('make-tiny-model', dir, '--external-data', '--fp16')).code).toBe(0);
    expect(modelFolderFiles(dir, 'fp32')).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data', 'tokenizer.json', 'tokenizer_config.json']);
    expect(modelFolderFiles(dir, 'fp16')).toEqual(['config.json', 'generation_config.json', 'onnx/model_fp16.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    const exp = join(root, 'external.exp');
    await writeFile(exp, probeExp('./external'));
    const [id] = await planIds(exp);

    // Files loading at fp32 does not read: the id stays.
    await writeFile(join(dir, 'README.md'), 'notes\n');
    await appendFile(join(dir, 'special_tokens_map.json'), ' ');
    await appendFile(join(dir, 'onnx', 'model_fp16.onnx'), Buffer.from([0]));
    expect(await planIds(exp)).toEqual([id]);

    // One byte of the external weights: a new id.
    const data = join(dir, 'onnx', 'model.onnx_data');
    const bytes = await readFile(data);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(data, bytes);
    const [changed] = await planIds(exp);
    expect(changed).not.toBe(id);
    // The chat template in tokenizer_config.json counts too.
    const tc = join(dir, 'tokenizer_config.json');
    await writeFile(tc, (await readFile(tc, 'utf8')).replace('"chat_template"', '"chat_template" ').trimEnd() + '\n');
    expect(await planIds(exp)).not.toEqual([changed]);
  });

  it('a hub id keeps the id it had: no files, the model by its name', async () => {
    const exp = join(root, 'hub.exp');
    await writeFile(exp, probeExp('onnx-community/Llama-3.2-1B-Instruct'));
    const r = await compileFile(exp);
    const plan = planExperiment(r.experiments[0]!);
    expect(tokenProbeSchema.fileDependencies!(exp)(plan.runs[0]!.params)).toBeUndefined();
    expect(plan.runs[0]!.id).toBe(runId(tokenProbeSchema, plan.runs[0]!.params, 0));
    expect((await cli('plan', exp, '--files')).out).not.toContain('hashed into the run ids');
    // experiments/topic-b/owl.exp's first run, as it was before local folders were hashed.
    expect((await planIds('experiments/topic-b/owl.exp'))[0]).toBe('ecd8e4dbf551f667');
  });

  it('a missing or incomplete local folder is an error at its line, at check time', async () => {
    expect((await cli('make-tiny-model', join(root, 'half'))).code).toBe(0);
    await rm(join(root, 'half', 'tokenizer.json'));
    const exp = join(root, 'missing.exp');
    await writeFile(exp, `experiment "gone" {
  runner token_probe
  set offline = true
  set model = "./nowhere"
}
experiment "half" {
  runner token_probe
  sweep model in ["./half", "onnx-community/Llama-3.2-1B-Instruct"]
}
`);
    const r = await cli('check', exp);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`missing.exp:4:3: error: runner token_probe: model: no model folder "./nowhere" beside the .exp file (${join(root, 'nowhere')}) or in the working directory`);
    expect(r.err).toContain(`missing.exp:8:3: error: runner token_probe: model: model folder "${join(root, 'half')}" lacks tokenizer.json.`);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });
});
