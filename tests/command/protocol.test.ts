// Issue 19: the protocol helpers (python/sublab, src/protocol/program.ts) in real programs run by
// the command runner: params, emit, log, and a stray print that cannot break the rows.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runner, CommandRunError, parseRows } from '../../src/runners/command/runner.ts';
import { jsHelperFile, pythonHelperDir } from '../../src/protocol/env.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/version.ts';
import type { RunOutput } from '../../src/runners/schema.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures');
const ctx = { progress() {}, measures: ['acc'] };
// In the checkout the JS helper is TypeScript: the program runs with tsx's loader, as a user's
// TypeScript program would (an installed package ships it built).
const programs = {
  python: 'python3 helper-prog.py',
  javascript: `${process.execPath} --import tsx helper-prog.mjs`,
};

async function runProgram(command: string, params: Record<string, string | number> = {}): Promise<RunOutput> {
  const [out] = await runner.run([{ id: 'run-7', seed: 3, params: { command, cwd: fixtures, timeout: 60, lr: 0.25, ...params } }], ctx);
  return out!;
}

describe.each(Object.entries(programs))('the %s helper', (lang, command) => {
  const strayLine = lang === 'python' ? 'helper-prog.py:12' : 'helper-prog.mjs:9';

  it('reads the parameters, writes rows, logs to stderr; a stray print goes to stderr naming its line', async () => {
    const out = await runProgram(command);
    expect(out.rows).toEqual([
      { metrics: { acc: 0.25 }, keys: { how: 'print' } },
      { metrics: { acc: 0.5, nan: NaN }, keys: { how: 'emit', up: true } },
      { metrics: { acc: 1 }, keys: { version: String(PROTOCOL_VERSION), run: 'run-7', seed_env: '3' } },
    ]);
    const stderr = String(out.extras?.stderr);
    expect(stderr).toContain('starting with lr 0.25');
    expect(stderr).toContain(`sublab: stdout carries result rows only; what ${strayLine} printed there goes to stderr`);
    expect(stderr).toMatch(/a stray (print|console\.log)\n/);
    // The last line, without its newline, is not lost either.
    expect(stderr).toContain('no newline at the end');
    if (lang === 'python') expect(stderr).toContain('from a child process');
  });

  it('refuses a row field that cannot be a column, naming it', async () => {
    const e = await runProgram(command, { mode: 'badrow' }).then(
      () => expect.fail('expected the run to fail'),
      (err: unknown) => err as CommandRunError,
    );
    expect(e).toBeInstanceOf(CommandRunError);
    expect(e.kind).toBe('exit');
    expect(e.message).toMatch(/emit\(row\): field '?"?extra"?'? is (list|an array); fields are numbers \(metrics\), strings or booleans \(key columns\)/);
  });
});

describe('the helpers outside sublab', () => {
  it('python: empty stdin gives {}; the package and its version are where the runner says', () => {
    const env = { ...process.env, PYTHONPATH: pythonHelperDir };
    const out = execFileSync('python3', ['-c', 'import sublab; sublab.emit(n=len(sublab.params()), v=sublab.PROTOCOL_VERSION)'], { env, input: '' }).toString();
    expect(JSON.parse(out)).toEqual({ n: 0, v: PROTOCOL_VERSION });
    expect(fs.existsSync(jsHelperFile)).toBe(true);
  });
});

describe('rows as Python writes them', () => {
  it('reads NaN and ±Infinity outside strings as non-finite metrics', () => {
    expect(parseRows('{"a": NaN, "b": -Infinity, "c": Infinity, "s": "NaN, Infinity"}\n')).toEqual([
      { metrics: { a: NaN, b: -Infinity, c: Infinity }, keys: { s: 'NaN, Infinity' } },
    ]);
  });

  it('says what stdout is for when a line is not a row', () => {
    expect(() => parseRows('epoch 1 loss 0.3\n{"a": 1}\n')).toThrow(
      /^stdout line 1 is not valid JSON \(.*\): epoch 1 loss 0\.3 \(stdout is for result rows, one JSON object a line: send messages to stderr, e\.g\. with sublab\.log\(\.\.\.\)/,
    );
  });
});
