import { defineRunner, type ParamsOf } from '../define.ts';
import { commandFiles } from './files.ts';

export const commandSchema = defineRunner({
  name: 'command',
  version: '1',
  description:
    "Runs the user's own program: resolved parameters as JSON on stdin, result rows as JSON lines on stdout (the protocol, and the `sublab` helpers for Python and JavaScript: docs/protocol.md). Any `set` parameter is passed through; metrics are the ones named by `measure`. The run id hashes the program's code: every file git tracks (or would track) in the program's folder, or outside git its language's files, plus every file the command line names and what `inputs` adds, so editing any of them recomputes; `sublab plan --files` lists them. The program runs in its own process group: on timeout, Ctrl-C, or once it exits (after a 0.5 s grace for its pipes), whatever it started is killed too.",
  seeded: true,
  open: true,
  fileDependencies: commandFiles,
  params: [
    { name: 'command', type: 'string', default: '', required: { needs: 'the program to run', example: 'python3 train.py' }, description: 'program and arguments, split on whitespace (never run through a shell), e.g. "python3 train.py"' },
    { name: 'cwd', type: 'string', default: '.', description: 'working directory, relative to the .exp file' },
    { name: 'inputs', type: 'string', default: '', description: 'more files the runs depend on, comma-separated, relative to cwd: files ("data.csv"), folders ("../lib"), patterns ("configs/*.yaml"); "!pattern" leaves matches out of the program\'s folder (e.g. "!docs/, !*.md"). Each must exist' },
    { name: 'timeout', type: 'number', default: 3600, min: 0, description: 'seconds before the program is killed (SIGTERM, then SIGKILL after 2 s); 0 = no limit', executionOnly: true },
    { name: 'max_output_mb', type: 'number', default: 16, min: 0, max: 256, description: 'most a run may print on stdout, in MB, before it is stopped and fails', executionOnly: true },
    { name: 'seed', type: 'integer', default: 0, min: 0, description: 'base seed: run i of `seeds N` uses seed + i' },
  ],
  metrics: [],
});

/** The resolved parameters, typed from the declaration above. */
export type CommandParams = ParamsOf<typeof commandSchema>;
