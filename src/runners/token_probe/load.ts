// Loads a causal LM through transformers.js (AutoTokenizer / AutoModelForCausalLM) from a hub id
// or a local folder, with errors that say what is missing and how to get it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { TokenProbeError } from './errors.ts';

type TJS = typeof import('@huggingface/transformers');

export interface LoadOptions {
  model: string;
  /** What a relative folder path is looked up in first (the experiment's folder); default the working directory. */
  baseDir?: string;
  dtype?: string;
  offline?: boolean;
  /** 'cpu' (default), or a GPU execution provider onnxruntime-node offers ('cuda', 'dml', 'webgpu'). */
  device?: string;
}

export interface LoadedModel {
  name: string;
  /** Local folder (for local models, or the cache folder a hub model was downloaded to), if known. */
  dir?: string;
  onnxFile: string;
  dtype: string;
  device: string;
  tokenizer: import('@huggingface/transformers').PreTrainedTokenizer;
  model: import('@huggingface/transformers').PreTrainedModel;
  config: Record<string, unknown>;
  vocabSize: number;
  tjs: TJS;
}

/** transformers.js file name of each dtype's ONNX variant. */
export const DTYPE_FILES: Record<string, string> = {
  fp32: 'model.onnx', fp16: 'model_fp16.onnx', q8: 'model_quantized.onnx', int8: 'model_int8.onnx',
  uint8: 'model_uint8.onnx', q4: 'model_q4.onnx', q4f16: 'model_q4f16.onnx', bnb4: 'model_bnb4.onnx',
};

/** Where to get a model, ending every message about a missing one. */
export const HOW_TO_GET =
  'Download it on a machine with internet access (e.g. `huggingface-cli download onnx-community/Llama-3.2-1B-Instruct ' +
  '--include "*.json" "onnx/model.onnx*" --local-dir models/Llama-3.2-1B-Instruct`) and pass the folder ' +
  '(set model = "models/Llama-3.2-1B-Instruct"), or try the runner offline on the project\'s tiny model: ' +
  '`npx sublab make-tiny-model DIR` and set model = "DIR".';

/**
 * The folder a model argument names, or undefined for a hub id. A path that looks like one (`./`,
 * `../`, `/`, `~`) or exists on disk is a folder; a relative one is looked up in `baseDir` (the
 * experiment's folder: `model "./models/owl-teacher"` beside the .exp file), then in the working
 * directory (`--set model=tmp/tiny` typed at the project root).
 */
export function localModelPath(model: string, baseDir: string = process.cwd()): string | undefined {
  if (model.startsWith('~')) return resolve(model.replace(/^~/, process.env.HOME ?? '~'));
  if (isAbsolute(model)) return resolve(model);
  const inBase = resolve(baseDir, model);
  if (existsSync(inBase)) return inBase;
  if (existsSync(model)) return resolve(model);
  return model.startsWith('.') ? inBase : undefined;
}

/** A model argument names a local folder when it looks like a path or exists on disk. */
export function isLocalModel(model: string, baseDir?: string): boolean {
  return localModelPath(model, baseDir) !== undefined;
}

/** Checks a local model folder; throws a TokenProbeError naming what is missing. */
export function checkModelFolder(dir: string, dtype: string): string {
  if (!existsSync(dir)) throw new TokenProbeError(`model folder "${dir}" does not exist. ${HOW_TO_GET}`);
  if (!statSync(dir).isDirectory()) throw new TokenProbeError(`model "${dir}" is a file, not a model folder. ${HOW_TO_GET}`);
  const missing: string[] = [];
  if (!existsSync(join(dir, 'config.json'))) missing.push('config.json');
  if (!existsSync(join(dir, 'tokenizer.json'))) missing.push('tokenizer.json');
  const file = DTYPE_FILES[dtype];
  if (!file) throw new TokenProbeError(`unknown dtype "${dtype}"; one of ${Object.keys(DTYPE_FILES).join(', ')}`);
  const onnxDir = join(dir, 'onnx');
  if (!existsSync(join(onnxDir, file))) {
    const have = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')) : [];
    const other = have.length ? ` (the folder has ${have.map((f) => 'onnx/' + f).join(', ')}: choose the matching dtype)` : '';
    missing.push(`onnx/${file} for dtype ${dtype}${other}`);
  }
  // Large exports keep their weights in external data files that transformers.js must find too.
  try {
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const ext = (cfg['transformers.js_config'] as { use_external_data_format?: unknown } | undefined)?.use_external_data_format;
    const chunks = typeof ext === 'object' && ext !== null ? Number((ext as Record<string, unknown>)[file] ?? (ext as Record<string, unknown>)[file.replace(/\.onnx$/, '')] ?? 0) : Number(ext ?? 0);
    for (let i = 0; i < chunks; i++) {
      const name = `${file}_data${i === 0 ? '' : '_' + i}`;
      if (!existsSync(join(onnxDir, name))) missing.push(`onnx/${name} (external weights of onnx/${file})`);
    }
  } catch {
    // An unreadable config.json is reported by transformers.js with its own message.
  }
  if (missing.length) throw new TokenProbeError(`model folder "${dir}" lacks ${missing.join('; ')}. ${HOW_TO_GET}`);
  return join(onnxDir, file);
}

/**
 * Files of a local folder's top level that loading reads: transformers.js reads the config, the
 * generation config, the tokenizer and its config (which holds the chat template); a
 * chat_template.jinja beside them counts too, as newer exports keep the template there.
 */
const TOP_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

/**
 * The files of the local folder `dir` that loading it at `dtype` reads, relative to it
 * ('/'-separated, sorted): the top-level files above that exist, the dtype's ONNX file and its
 * external data (`model.onnx_data`, `model.onnx_data_1`, ...). Throws checkModelFolder's
 * TokenProbeError for a folder that cannot be loaded.
 */
export function modelFolderFiles(dir: string, dtype: string): string[] {
  const onnxFile = checkModelFolder(dir, dtype);
  const onnx = basename(onnxFile);
  const top = TOP_FILES.filter((f) => statSync(join(dir, f), { throwIfNoEntry: false })?.isFile());
  const weights = readdirSync(dirname(onnxFile)).filter((f) => f === onnx || f.startsWith(`${onnx}_data`)).map((f) => `onnx/${f}`);
  return [...top, ...weights].sort();
}

/**
 * The state on disk of a local folder's files (path, size, times, inode): a model exported again
 * into the folder is loaded again, not served from this process's cache. Empty for a folder that
 * cannot be loaded: load() reports why.
 */
function folderStamp(dir: string, dtype: string): string {
  try {
    return modelFolderFiles(dir, dtype).map((f) => {
      const st = statSync(join(dir, f));
      return `${f}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
    }).join('|');
  } catch {
    return '';
  }
}

/** Loaded models by model, dtype, device and offline; a local folder's with the stamp of its files when loaded. */
const cache = new Map<string, { stamp: string; model: Promise<LoadedModel> }>();

/**
 * Loads (once per process and model/dtype/device) a causal LM and its tokenizer; a local folder
 * whose files changed since is loaded again, in place of the model it held.
 */
export function loadModel(opts: LoadOptions): Promise<LoadedModel> {
  const local = opts.model ? localModelPath(opts.model, opts.baseDir) : undefined;
  const dtype = opts.dtype ?? 'fp32';
  const key = JSON.stringify([local ?? opts.model, dtype, opts.device ?? 'cpu', !!opts.offline]);
  const stamp = local === undefined ? '' : folderStamp(local, dtype);
  const hit = cache.get(key);
  if (hit && hit.stamp === stamp) return hit.model;
  const entry = { stamp, model: load(opts) };
  cache.set(key, entry);
  entry.model.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return entry.model;
}

async function load(opts: LoadOptions): Promise<LoadedModel> {
  const dtype = opts.dtype ?? 'fp32';
  const device = opts.device ?? 'cpu';
  const tjs = await import('@huggingface/transformers');
  const { env, AutoTokenizer, AutoModelForCausalLM } = tjs;
  let id = opts.model;
  let dir: string | undefined;
  let onnxFile: string;
  if (!id) throw new TokenProbeError(`no model given. ${HOW_TO_GET}`);
  const local = localModelPath(id, opts.baseDir);
  if (local !== undefined) {
    dir = local;
    onnxFile = checkModelFolder(dir, dtype);
    // An absolute path is never mistaken for a hub id by transformers.js.
    id = dir;
  } else {
    // Per load, so an offline experiment does not leave downloads disabled for a later one.
    env.allowRemoteModels = !opts.offline;
    const cached = env.cacheDir ? join(env.cacheDir, id) : undefined;
    dir = cached && existsSync(cached) ? cached : undefined;
    onnxFile = join(dir ?? '', 'onnx', DTYPE_FILES[dtype] ?? 'model.onnx');
  }
  try {
    const tokenizer = await AutoTokenizer.from_pretrained(id, { local_files_only: !!opts.offline || !!dir && id === dir });
    const model = await AutoModelForCausalLM.from_pretrained(id, {
      dtype: dtype as 'fp32',
      device: device as 'cpu',
      local_files_only: !!opts.offline || (!!dir && id === dir),
    });
    const config = (model as unknown as { config: Record<string, unknown> }).config;
    if (!dir && env.cacheDir && existsSync(join(env.cacheDir, opts.model))) {
      dir = join(env.cacheDir, opts.model);
      onnxFile = join(dir, 'onnx', DTYPE_FILES[dtype] ?? 'model.onnx');
    }
    const vocabSize = Number(config.vocab_size ?? 0);
    return { name: opts.model, dir, onnxFile, dtype, device, tokenizer, model, config, vocabSize, tjs };
  } catch (e) {
    if (e instanceof TokenProbeError) throw e;
    const msg = (e as Error).message ?? String(e);
    if (dir === undefined) {
      const why = opts.offline
        ? 'offline is set and the model is not in the transformers.js cache'
        : /fetch|network|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|getaddrinfo|Could not locate|404|not found/i.test(msg)
          ? 'the download failed (no network access?)'
          : 'loading failed';
      throw new TokenProbeError(`could not load model "${opts.model}" (dtype ${dtype}): ${why}: ${msg}. ${HOW_TO_GET}`);
    }
    throw new TokenProbeError(`could not load model "${opts.model}" from ${dir} (dtype ${dtype}, device ${device}): ${msg}`);
  }
}
