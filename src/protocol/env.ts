// What the command runner adds to a program's environment (docs/protocol.md, "Environment"): the
// protocol version, the run, and where sublab's protocol helpers are, so `import sublab` works in
// Python (PYTHONPATH) and a JavaScript program can import SUBLAB_PROTOCOL_JS. The helpers are
// found from this module's own location: the checkout (src/) or an installed package (dist/src/).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownModule, packageRoot } from '../util/package-files.ts';
import { PROTOCOL_VERSION } from './version.ts';

/** The folder holding the Python package `sublab` (python/sublab/__init__.py). */
export const pythonHelperDir: string = path.join(packageRoot, 'python');
/** The JavaScript helper module (`sublab/protocol`): src/protocol/program.ts, or its build. */
export const jsHelperFile: string = fileURLToPath(ownModule('./program.ts', import.meta.url));

/** The program's environment: sublab's own, plus the protocol's variables (PYTHONPATH prepended). */
export function programEnv(base: NodeJS.ProcessEnv, run: { id: string; seed: number }): NodeJS.ProcessEnv {
  return {
    ...base,
    SUBLAB_PROTOCOL_VERSION: String(PROTOCOL_VERSION),
    SUBLAB_RUN_ID: run.id,
    SUBLAB_SEED: String(run.seed),
    SUBLAB_PROTOCOL_JS: jsHelperFile,
    PYTHONPATH: base.PYTHONPATH ? `${pythonHelperDir}${path.delimiter}${base.PYTHONPATH}` : pythonHelperDir,
  };
}
