// A stream read line by line: each complete line (without its newline) goes to `onLine` as it
// arrives; a last line without a newline is not passed on.
export interface LineSource {
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
}

/** Read `stream` as UTF-8 lines. `tooLong`: called (and the partial line dropped) when one grows past `maxLine` characters. */
export function eachLine(stream: LineSource, onLine: (line: string) => void, limit?: { maxLine: number; tooLong: () => void }): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
    if (limit && buf.length > limit.maxLine) {
      buf = '';
      limit.tooLong();
    }
  });
}
