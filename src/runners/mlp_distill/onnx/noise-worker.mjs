// Worker entry in plain JS: registers tsx so the TypeScript module loads the same way under the
// CLI (tsx), Vitest and plain node.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
register();
const { produce } = await import('./noise.ts');
produce(workerData.plan, workerData.data, workerData.flags, workerData.slotFloats);
