// What identifies a local model folder: the contents of the files loading reads, never the folder's
// path. Run ids hash them (fileDependencies), so a model exported again into the same folder
// (`sublab export-model --force`, `sublab make-tiny-model --force`) gets new run ids, and the same
// files at another path (a moved project, a copy) keep theirs. A hub id names no files here: its
// runs keep the ids they had.
import fs from 'node:fs';
import path from 'node:path';
import type { Value } from '../../language/ast.ts';
import { fileSha256 } from '../../util/file-hash.ts';
import { HOW_TO_GET, localModelPath, modelFolderFiles } from './load.ts';

/** The key prefix of a model folder's files in a run's dependency set (the parameter that names the folder). */
export const MODEL_KEY = 'model';

/** {`model/<file>`: sha256} over modelFolderFiles; the hashes are kept per process while a file is unchanged. */
export function modelFolderHashes(dir: string, dtype: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of modelFolderFiles(dir, dtype)) {
    const abs = path.join(dir, rel);
    try {
      out[`${MODEL_KEY}/${rel}`] = fileSha256(abs, fs.statSync(abs));
    } catch (e) {
      throw new Error(`cannot read ${abs} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  return out;
}

/**
 * The runner's fileDependencies: for the experiment in `expFile`, a run's model folder files as
 * {`model/<file>`: sha256}, or undefined when `model` is a hub id. Memoised over one plan (runs of
 * one folder and dtype share one object). Throws `model: …` (the checker puts it at the `set model`
 * line) for a local folder that is missing, incomplete or unreadable.
 */
export function modelFiles(expFile: string): (params: Readonly<Record<string, Value>>) => Record<string, string> | undefined {
  const expDir = path.dirname(path.resolve(expFile));
  const memo = new Map<string, Record<string, string> | Error>();
  return (params) => {
    const model = String(params.model ?? '');
    // No model at all is load()'s error ("no model given"), not a folder's.
    const dir = model ? localModelPath(model, expDir) : undefined;
    if (dir === undefined) return undefined;
    const dtype = String(params.dtype ?? 'fp32');
    const key = JSON.stringify([dir, dtype]);
    let got = memo.get(key);
    if (!got) {
      try {
        // A relative folder is looked up in two places (load.ts): say both when it is in neither.
        got = !fs.existsSync(dir) && !path.isAbsolute(model) && !model.startsWith('~')
          ? new Error(`model: no model folder "${model}" beside the .exp file (${dir}) or in the working directory (${path.resolve(model)}). ${HOW_TO_GET}`)
          : modelFolderHashes(dir, dtype);
      } catch (e) {
        got = new Error(`model: ${(e as Error).message}`);
      }
      memo.set(key, got);
    }
    if (got instanceof Error) throw got;
    return got;
  };
}
