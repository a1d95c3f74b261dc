// The PyTorch side of the side-by-side benchmarks: which Python has torch, and the environment
// its process runs in.
import { spawnSync } from 'node:child_process';

/** A Python that imports torch (/usr/bin/python3 first: Debian's python3-torch), or undefined. */
export function findTorchPython(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return undefined;
}

/**
 * The torch process's environment: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where a machine sets
 * them, pin OpenBLAS to an older kernel (Haswell); unset for PyTorch's best, as a user on their
 * own machine would have it.
 */
export function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

export const TORCH_MISSING = 'not found (Debian: apt-get install python3-torch libopenblas0-pthread)';
