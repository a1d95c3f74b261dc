// One worker thread: a share of the group's seeds, on ONNX Runtime (one session thread each)
// or on its own TensorFlow.js backend.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../backend/index.ts';
import { trainGroup } from './engine-tfjs.ts';
import { trainGroupOnnx } from './onnx/engine.ts';
import type { WorkerJob } from './runner.ts';

const { job, seeds } = workerData as { job: WorkerJob; seeds: number[] };
const progress = (p: object) => parentPort!.postMessage({ type: 'progress', ...p });
try {
  let results;
  if (job.engine === 'onnxruntime') {
    // Noise is made inline: the other workers keep every core busy.
    results = await trainGroupOnnx(job.cfg, seeds, { device: job.device, threads: job.threads, prefetch: false }, progress);
  } else {
    const { tf } = await initBackend(job.backend);
    results = trainGroup(tf, job.cfg, seeds, progress);
  }
  parentPort!.postMessage({ type: 'done', results, rss: process.memoryUsage().rss });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
}
