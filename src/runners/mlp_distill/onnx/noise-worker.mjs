// Worker entry in plain JS, so noise.ts loads the same way under the CLI, Vitest and plain node.
import { workerData } from 'node:worker_threads';
import { importOwn } from '../../../util/import-own.mjs';

const { produce } = await importOwn(new URL('./noise.ts', import.meta.url));
produce(workerData.plan, workerData.data, workerData.flags, workerData.slotFloats);
