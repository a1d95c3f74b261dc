// One worker thread: a share of the group's seeds, on ONNX Runtime (one session thread each)
// or on its own TensorFlow.js backend.
import { parentPort, workerData } from 'node:worker_threads';
import { adoptDatasets, type SharedDatasets } from '../../data/mnist.ts';
import { trainGroupOnnx } from './onnx/engine.ts';
import type { WorkerJob } from './runner.ts';

const { job, seeds, datasets } = workerData as { job: WorkerJob; seeds: number[]; datasets: SharedDatasets };
// The parent's datasets, in shared memory: no copy per worker.
adoptDatasets(datasets);
const progress = (p: object) => parentPort!.postMessage({ type: 'progress', ...p });
// Trained teachers go to the parent, which commits them to the teacher stage.
const opts = { ...job.opts, ...(job.reportTeachers ? { onTeachers: (trained: object[]) => parentPort!.postMessage({ type: 'teachers', trained }) } : {}) };
try {
  let results;
  if (job.engine === 'onnxruntime') {
    // Noise is made inline: the other workers keep every core busy.
    results = await trainGroupOnnx(job.params, seeds, { ...opts, device: job.device, threads: job.threads, prefetch: false }, progress);
  } else {
    // Imported only here: TensorFlow.js and its backends cost ~35 MB a thread.
    const [{ initBackend }, { trainGroup }] = await Promise.all([import('../../backend/index.ts'), import('./engine-tfjs.ts')]);
    const { tf } = await initBackend(job.backend);
    results = trainGroup(tf, job.params, seeds, opts, progress);
  }
  parentPort!.postMessage({ type: 'done', results, rss: process.memoryUsage().rss });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
}
