// What hashing a token_probe model folder into run ids costs: the committed toy model
// (experiments/topic-b/models/lm-base) and tiny Llama-type models written by make-tiny-model's
// writer at larger widths. Per folder: bytes hashed, the first hash in a process (the files were
// just written or read, so they sit in the OS page cache: sha256 speed, not disk speed), the next
// plan in the same process (kept per process by stat), and a whole planExperiment.
//
//   npx tsx bench/token-probe-model-hash.ts                 # hidden=16,1024,4096
//   npx tsx bench/token-probe-model-hash.ts hidden=8192     # ~1.1 GB of ONNX
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeTinyModel } from '../src/tiny-model/write.ts';
import { modelFolderFiles } from '../src/runners/token_probe/load.ts';
import { modelFolderHashes } from '../src/runners/token_probe/model-files.ts';
import { compileFile } from '../src/language/compile.ts';
import { planExperiment } from '../src/plan/plan.ts';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const widths = (args.hidden ?? '16,1024,4096').split(',').map(Number);

function ms(f: () => void): number {
  const t = performance.now();
  f();
  return Math.round((performance.now() - t) * 100) / 100;
}

/** `expDir`: a scratch folder for the experiment that plans with the model. */
function measure(label: string, dir: string, expDir: string): Record<string, unknown> {
  const bytes = modelFolderFiles(dir, 'fp32').reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
  const first = ms(() => modelFolderHashes(dir, 'fp32'));
  const again = ms(() => modelFolderHashes(dir, 'fp32'));
  const exp = path.join(expDir, `${path.basename(dir)}.exp`);
  writeFileSync(exp, `experiment "x" {\n  runner token_probe\n  set model = "${dir}"\n  sweep animal in ["owls", "cats", "dogs"]\n}\n`);
  // check (which hashes the folder too, for its errors) and plan, as `sublab plan` does: the second time in a process.
  ms(() => planExperiment(compileFile(exp).experiments[0]!));
  const plan = ms(() => planExperiment(compileFile(exp).experiments[0]!));
  return { model: label, mb: +(bytes / 1e6).toFixed(2), first_hash_ms: first, mb_per_s: +(bytes / 1e6 / (first / 1000)).toFixed(0), again_ms: again, check_and_plan_ms: plan };
}

const out: Record<string, unknown>[] = [];
const root = mkdtempSync(path.join(tmpdir(), 'sublab-hash-bench-'));
try {
  out.push(measure('experiments/topic-b/models/lm-base', path.resolve('experiments/topic-b/models/lm-base'), root));
  for (const hidden of widths) {
    const dir = path.join(root, `tiny-h${hidden}`);
    await writeTinyModel(dir, { hidden, externalData: true });
    out.push(measure(`tiny, hidden ${hidden}`, dir, root));
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(out, null, 2));
