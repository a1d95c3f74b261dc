// eachLine: what the pool (child events and stderr), the command runner's stage channel and the
// protocol helper read their streams with.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { eachLine } from '../../src/util/lines.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('eachLine', () => {
  it('passes each complete line once, whatever the chunks, and keeps a partial line for later', async () => {
    const s = new PassThrough();
    const lines: string[] = [];
    eachLine(s, (l) => lines.push(l));
    for (const chunk of ['a', 'b\ncd\n', '\n', 'é', Buffer.from('€').subarray(0, 1), Buffer.from('€').subarray(1), '\nlast']) s.write(chunk);
    await tick();
    expect(lines).toEqual(['ab', 'cd', '', 'é€']);
  });

  it('drops a line that grows past the limit and says so', async () => {
    const s = new PassThrough();
    const lines: string[] = [];
    let tooLong = 0;
    eachLine(s, (l) => lines.push(l), { maxLine: 5, tooLong: () => tooLong++ });
    s.write('0123456789');
    s.write('ok\nfine\n');
    await tick();
    expect(tooLong).toBe(1);
    expect(lines).toEqual(['ok', 'fine']);
  });
});
