// SLURM job arrays: write the sbatch script whose array tasks each run `sublab worker` on one
// deterministic share of the plan (shard.ts), and submit it. Every task fills the same
// (shared-filesystem) result cache, so `sublab run` afterwards finds everything cached.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-files.ts';
import { atomicWriteFileSync } from '../util/atomic-write.ts';

/** POSIX single-quoting: safe for any string (spaces, $, quotes, backticks, newlines). */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A value on an `#SBATCH` line: sbatch itself splits these on blanks and honours double quotes. */
function sbatchValue(s: string, what: string): string {
  if (/["\n\r\\]/.test(s)) throw new Error(`${what} "${s}" contains a double quote, backslash or newline, which an #SBATCH line cannot carry`);
  return /\s/.test(s) ? `"${s}"` : s;
}

export interface SbatchScriptOptions {
  /** The .exp file (made absolute). */
  file: string;
  /** Directory the tasks `cd` to (the project). */
  projectDir: string;
  /** Shared result cache (made absolute). */
  cacheDir: string;
  tasks: number;
  /** Where each task's stdout/stderr go (`%x-%A_%a.out|err`). */
  logDir: string;
  jobName: string;
  /** What the plan depends on (`--set k=v`, `--seeds N`): given to every worker and to the `sublab run` that collects. */
  planArgs: string[];
  /** Execution options (`--retries N`, …): given to every worker only. */
  executionArgs?: string[];
  /** What the `sublab run` that collects takes beyond planArgs (`--all-metrics`: it tables what the workers computed). */
  collectArgs?: string[];
  /** How to start sublab on the compute node; default ['node', <this package's bin/sublab.mjs>]. */
  sublab?: string[];
  /** Shell lines run before the worker on the compute node (e.g. `module load nodejs/20`). */
  setup?: string[];
  /** User sbatch options, recorded in a comment (they are passed on sbatch's command line). */
  sbatchOptions?: string[];
}

/** This package's CLI entry, absolute (the compute node resolves it on the shared filesystem). */
export function sublabBin(): string {
  return path.join(packageRoot, 'bin', 'sublab.mjs');
}

export function sbatchScript(o: SbatchScriptOptions): string {
  if (!Number.isInteger(o.tasks) || o.tasks < 1) throw new Error(`tasks must be a whole number >= 1, got ${o.tasks}`);
  const file = path.resolve(o.file);
  const cacheDir = path.resolve(o.cacheDir);
  const logDir = path.resolve(o.logDir);
  const sublab = o.sublab ?? ['node', sublabBin()];
  const worker = [...sublab, 'worker', file, '--task', '"$SLURM_ARRAY_TASK_ID"', '--tasks', String(o.tasks), '--cache', cacheDir, ...o.planArgs, ...(o.executionArgs ?? [])];
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${sbatchValue(o.jobName, 'job name')}`,
    `#SBATCH --array=0-${o.tasks - 1}`,
    `#SBATCH --output=${sbatchValue(path.join(logDir, '%x-%A_%a.out'), 'log directory')}`,
    `#SBATCH --error=${sbatchValue(path.join(logDir, '%x-%A_%a.err'), 'log directory')}`,
    '#SBATCH --ntasks=1',
    '',
    `# Written by sublab for ${file}.`,
    '# Each array task runs its share of the plan into the shared cache below; afterwards',
    `#   sublab run ${[file, '--cache', cacheDir, ...o.planArgs, ...(o.collectArgs ?? [])].map(shellQuote).join(' ')}`,
    '# finds every run cached.',
    ...(o.sbatchOptions?.length ? [`# sbatch options given on the command line: ${o.sbatchOptions.map(shellQuote).join(' ')}`] : []),
    'set -eu',
    ...(o.setup?.length ? ['# --setup lines:', ...o.setup] : []),
    `cd ${shellQuote(path.resolve(o.projectDir))}`,
    `exec ${worker.map((a) => (a === '"$SLURM_ARRAY_TASK_ID"' ? a : shellQuote(a))).join(' ')}`,
    '',
  ];
  return lines.join('\n');
}

/** sbatch's argv: the user's options verbatim, then the script. */
export function sbatchArgs(scriptPath: string, sbatchOptions: readonly string[] = []): string[] {
  return [...sbatchOptions, scriptPath];
}

/** The job id from sbatch's stdout ("Submitted batch job 123" or `--parsable` "123[;cluster]"). */
export function parseJobId(stdout: string): string | undefined {
  const m = /Submitted batch job (\d+)/.exec(stdout) ?? /^\s*(\d+)(?:;\S+)?\s*$/m.exec(stdout);
  return m?.[1];
}

/** sbatch is missing or refused the job; the message is meant for the user as is. */
export class SbatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SbatchError';
  }
}

/** Runs sbatch (argv array, never a shell) and returns the job id. */
export function runSbatch(scriptPath: string, sbatchOptions: readonly string[] = [], sbatch = process.env.SUBLAB_SBATCH ?? 'sbatch'): Promise<{ jobId: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(sbatch, sbatchArgs(scriptPath, sbatchOptions), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new SbatchError(
          e.code === 'ENOENT'
            ? `"${sbatch}" not found on PATH: sbatch is part of SLURM; run this on a cluster login node (or use --dry-run to only write the script)`
            : `could not start ${sbatch}: ${e.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new SbatchError(`${sbatch} failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${err.trim() || out.trim() || 'no output'}`));
        return;
      }
      const jobId = parseJobId(out);
      if (!jobId) reject(new SbatchError(`${sbatch} succeeded but printed no job id: ${out.trim()}`));
      else resolve({ jobId, stdout: out });
    });
  });
}

/** Writes the script (creating its folder and the log folder); returns its absolute path. */
export function writeScript(scriptPath: string, text: string, logDir: string): string {
  const p = path.resolve(scriptPath);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.mkdirSync(path.resolve(logDir), { recursive: true });
  atomicWriteFileSync(p, text, { mode: 0o755 });
  return p;
}
