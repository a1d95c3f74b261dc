// One worker thread: its own wasm backend, a share of the group's seeds.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backend/index.ts';
import { trainGroup } from './engine-tfjs.ts';
import type { EngineConfig } from './model.ts';

const { cfg, seeds, backend } = workerData as { cfg: EngineConfig; seeds: number[]; backend: string };
try {
  const { tf, name } = await initBackend(backend);
  const results = trainGroup(tf, cfg, seeds, (p) => parentPort!.postMessage({ type: 'progress', ...p }));
  parentPort!.postMessage({ type: 'done', backend: name, results, rss: process.memoryUsage().rss });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
}
