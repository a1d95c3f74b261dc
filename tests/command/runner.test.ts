import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runner, CommandRunError, parseRows, splitCommand, truncateMiddle } from '../../src/runners/command/runner.ts';
import type { RunSpec } from '../../src/runners/schema.ts';
import type { Value } from '../../src/language/ast.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const ctx = { progress() {} };
const spec = (params: Record<string, Value>, seed = 7, id = 'run-abc'): RunSpec => ({
  id,
  seed,
  params: { command: `${process.execPath} prog.mjs`, cwd: path.join(here, 'fixtures'), timeout: 20, ...params },
});

async function failure(params: Record<string, Value>, measures?: string[]): Promise<CommandRunError> {
  try {
    await runner.run([spec(params)], { ...ctx, measures });
  } catch (e) {
    expect(e).toBeInstanceOf(CommandRunError);
    return e as CommandRunError;
  }
  throw new Error('expected the run to fail');
}

describe('command runner', () => {
  it('passes shell metacharacters through to the program intact', async () => {
    const payload = `"; rm -rf / $(x) | & ' \`id\` > out.txt * ~ \\n`;
    const [out] = await runner.run([spec({ mode: 'echo', payload })], ctx);
    // Declared parameters arrive with their defaults filled in (inputs, max_output_mb), as from an .exp file.
    expect(out!.rows).toEqual([{ metrics: { score: 14 }, keys: { payload, keys: 'command,cwd,inputs,max_output_mb,mode,payload,seed,timeout' } }]);
    expect(out!.backend).toBe('external');
    expect(out!.extras?.stderr).toContain('diagnostics on stderr');
  });

  it("resolves cwd against the context's expDir and passes the program only its parameters", async () => {
    const [out] = await runner.run([spec({ mode: 'echo', payload: 'x', cwd: 'fixtures' })], { ...ctx, expDir: here, measures: ['score'] });
    expect(out!.rows[0]!.keys!.keys).toBe('command,cwd,inputs,max_output_mb,mode,payload,seed,timeout');
  });

  it('reads several rows, numbers as metrics and strings as keys, skipping blank lines', async () => {
    const [out] = await runner.run([spec({ mode: 'rows' })], ctx);
    expect(out!.rows.map((r) => r.metrics.loss)).toEqual([1, 0.5, 1 / 3]);
    expect(out!.rows[2]).toEqual({ metrics: { step: 2, loss: 1 / 3 }, keys: { phase: 'train' } });
  });

  it('returns one output per spec, in order', async () => {
    const outs = await runner.run([spec({ mode: 'echo', payload: 'a' }, 1, 'r1'), spec({ mode: 'echo', payload: 'b' }, 2, 'r2')], ctx);
    expect(outs.map((o) => o.rows[0]!.metrics.score)).toEqual([2, 4]);
  });

  it('kills a program that runs past its timeout; the error carries the run, the message is raw', async () => {
    const t0 = Date.now();
    const e = await failure({ mode: 'sleep', timeout: 0.5 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(e.kind).toBe('timeout');
    expect(e.message).toMatch(/^timed out after 0.5 s/);
    expect([e.runId, e.seed]).toEqual(['run-abc', 7]);
    expect(e.message).toContain('going to sleep');
  });

  it('reports malformed JSON with its line number and text', async () => {
    const e = await failure({ mode: 'badjson' });
    expect(e.kind).toBe('json');
    expect(e.message).toContain('stdout line 2 is not valid JSON');
    expect(e.message).toContain('{"score": 2,');
  });

  it('reports a non-zero exit with its code and the end of stderr', async () => {
    const e = await failure({ mode: 'exit' });
    expect(e.kind).toBe('exit');
    expect(e.message).toContain('exited with code 3');
    expect(e.message).toContain('Traceback: something broke');
    expect(e.runId).toBe('run-abc');
  });

  it('fails a run that prints no rows', async () => {
    const e = await failure({ mode: 'norows' });
    expect(e.kind).toBe('no-rows');
    expect(e.message).toContain('printed no result rows');
  });

  it("fails a row missing a measured metric (the context's measures)", async () => {
    const e = await failure({ mode: 'missing' }, ['score', 'acc']);
    expect(e.kind).toBe('missing-metric');
    expect(e.message).toContain('metric "acc" is not a number ("high")');
    const e2 = await failure({ mode: 'missing' }, ['loss']);
    expect(e2.message).toContain('metric "loss" is missing; the row has metrics score');
  });

  it('rejects nested values in a row', async () => {
    const e = await failure({ mode: 'nested' });
    expect(e.message).toContain('field "extra" is an object');
  });

  it('says clearly when the program cannot be started', async () => {
    const e = await failure({ command: 'no-such-program-xyz --flag' });
    expect(e.kind).toBe('spawn');
    expect(e.message).toContain('could not start "no-such-program-xyz"');
    const e2 = await failure({ command: '   ' });
    expect(e2.kind).toBe('config');
  });

  it('keeps the head and tail of long stderr', async () => {
    const [out] = await runner.run([spec({ mode: 'noisy' })], ctx);
    const stderr = String(out!.extras?.stderr);
    expect(stderr.length).toBeLessThan(40_000);
    expect(stderr).toContain('characters of stderr elided');
    expect(stderr.trimEnd().endsWith('THE END')).toBe(true);
  });
});

describe('command runner helpers', () => {
  it('splits the command on whitespace only', () => {
    expect(splitCommand('  python3   train.py --x=1 ')).toEqual(['python3', 'train.py', '--x=1']);
  });
  it('parses rows', () => {
    expect(parseRows('{"a": 1, "b": "x", "c": true}\n\n{"a": 2}\n')).toEqual([{ metrics: { a: 1 }, keys: { b: 'x', c: true } }, { metrics: { a: 2 } }]);
    expect(() => parseRows('[1,2]')).toThrow(/stdout line 1 is not a JSON object/);
  });
  it('truncates the middle of long text', () => {
    expect(truncateMiddle('abcdefghij', 2, 3)).toBe('ab\n[... 5 characters of stderr elided ...]\nhij');
    expect(truncateMiddle('short', 2, 3)).toBe('short');
  });

  it('runs the shipped examples (Python and Node) with the same protocol', async () => {
    const cwd = path.join(here, '../../examples/command');
    for (const command of ['python3 train.py', `${process.execPath} train.mjs`]) {
      const outs = await runner.run([{ id: 'ex', seed: 1, params: { command, cwd, timeout: 60, lr: 1, epochs: 20 } }], ctx);
      const m = outs[0]!.rows[0]!.metrics;
      expect(m.accuracy).toBeGreaterThan(0.75);
      expect(m.loss).toBeLessThan(0.5);
      expect(String(outs[0]!.extras?.stderr)).toContain('epoch 20/20');
    }
  });
});
