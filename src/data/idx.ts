// IDX files (the MNIST / Fashion-MNIST distribution format), gzip-compressed or not.
// Every check names the file and what was expected, so a truncated download is obvious.
import { gunzipSync } from 'node:zlib';
import { readFileSync, existsSync } from 'node:fs';

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parse an IDX buffer of unsigned bytes (type 0x08). `file` only names the source in errors. */
export function parseIdx(raw: Uint8Array, file: string, expectDims?: number): IdxArray {
  let buf = raw;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${file}: corrupt gzip stream (${(e as Error).message})`);
    }
  }
  if (buf.length < 4) throw new DataError(`${file}: too short for an IDX header (${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${file}: not an IDX file (magic number starts ${hex(buf[0]!)} ${hex(buf[1]!)}, expected 00 00)`);
  }
  if (buf[2] !== 0x08) throw new DataError(`${file}: IDX element type ${hex(buf[2]!)} unsupported (expected 0x08, unsigned byte)`);
  const nd = buf[3]!;
  if (expectDims !== undefined && nd !== expectDims) {
    throw new DataError(`${file}: IDX magic 0x0000080${nd} has ${nd} dimensions, expected ${expectDims} (0x0000080${expectDims})`);
  }
  const header = 4 + 4 * nd;
  if (buf.length < header) throw new DataError(`${file}: truncated IDX header (${buf.length} bytes, expected at least ${header})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== header + n) {
    throw new DataError(`${file}: size mismatch: header says ${dims.join('×')} = ${n} bytes of data, file has ${buf.length - header}`);
  }
  return { dims, data: buf.subarray(header, header + n) };
}

export function readIdx(file: string, expectDims?: number): IdxArray {
  if (!existsSync(file)) throw new DataError(`${file}: file not found`);
  return parseIdx(readFileSync(file), file, expectDims);
}

/** Encode an IDX file of unsigned bytes (used by tests and for writing subsets). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}
