// Worker entry in plain JS, so the worker loads the same way under the CLI, Vitest and plain node.
import { importOwn } from '../../util/import-own.mjs';

await importOwn(new URL('./worker.ts', import.meta.url));
