// Unembedding geometry from the model's real lm_head weights, read from the ONNX file itself:
// the weight of the MatMul/Gemm that produces `logits` (through Cast/Transpose/Identity), as an
// initializer stored inline or in external data (model.onnx_data). fp32 and fp16 are supported;
// quantized heads (MatMulNBits, DequantizeLinear) are not.
import { openSync, readSync, closeSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TokenProbeError } from './errors.ts';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');

export interface Unembedding {
  vocab: number;
  hidden: number;
  /** Row t of the unembedding (the vector whose dot with the final hidden state is logit t). */
  row(t: number): Float32Array;
  /** Σ_t p_t · row(t) for a distribution p over the vocabulary. */
  expected(p: ArrayLike<number>): Float64Array;
}

/** IEEE half-precision bits → number (Node 20 has no Float16Array). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function tensorData(t: import('onnx-proto').onnx.ITensorProto, onnxPath: string): Float32Array {
  const n = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
  let raw: Uint8Array | undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key, e.value]));
    const file = join(dirname(onnxPath), String(kv.location));
    if (!existsSync(file)) throw new TokenProbeError(`lm_head weights live in ${file}, which is missing: download the model's .onnx_data file too`);
    const offset = Number(kv.offset ?? 0);
    const elem = t.dataType === onnx.TensorProto.DataType.FLOAT16 ? 2 : 4;
    const length = Number(kv.length ?? n * elem);
    raw = new Uint8Array(length);
    const fd = openSync(file, 'r');
    try {
      let got = 0;
      while (got < length) got += readSync(fd, raw, got, length - got, offset + got);
    } finally {
      closeSync(fd);
    }
  } else if (t.rawData && t.rawData.length) {
    raw = t.rawData;
  }
  if (t.dataType === onnx.TensorProto.DataType.FLOAT) {
    if (raw) {
      // A 1B model's lm_head is ~1 GiB: view the bytes in place when aligned, copy only otherwise.
      const bytes = raw.byteOffset % 4 === 0 ? raw : new Uint8Array(raw);
      return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    }
    return Float32Array.from(t.floatData ?? []);
  }
  if (t.dataType === onnx.TensorProto.DataType.FLOAT16) {
    const out = new Float32Array(n);
    if (raw) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    } else {
      const ints = t.int32Data ?? [];
      for (let i = 0; i < n; i++) out[i] = halfToFloat(ints[i]!);
    }
    return out;
  }
  throw new TokenProbeError(`lm_head initializer "${t.name}" has ONNX data type ${t.dataType}; geometry needs fp32 or fp16 weights (load dtype fp32 or fp16, or set geometry = false)`);
}

/** Reads the unembedding (lm_head) matrix from an ONNX causal-LM file. */
export function readUnembedding(onnxPath: string, vocabSize: number): Unembedding {
  if (!existsSync(onnxPath)) {
    throw new TokenProbeError(`cannot read lm_head weights: ${onnxPath} not found (geometry needs the model's ONNX file on disk; set geometry = false to skip)`);
  }
  const model = onnx.ModelProto.decode(readFileSync(onnxPath));
  const g = model.graph!;
  const producer = new Map<string, import('onnx-proto').onnx.INodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const passThrough = new Set(['Cast', 'Identity', 'Reshape', 'Squeeze', 'Unsqueeze', 'Slice', 'Gather']);
  let name = (g.output ?? []).find((o) => o.name === 'logits')?.name;
  if (!name) throw new TokenProbeError(`${onnxPath} has no "logits" output`);
  let node = producer.get(name);
  while (node && passThrough.has(node.opType!) && node.opType !== 'MatMul') node = producer.get(node.input![0]!);
  if (!node || (node.opType !== 'MatMul' && node.opType !== 'Gemm')) {
    throw new TokenProbeError(
      `cannot find the lm_head in ${onnxPath}: logits come from ${node?.opType ?? 'nothing'} (quantized heads such as MatMulNBits are not supported; load dtype fp32 or fp16, or set geometry = false)`,
    );
  }
  let transposed = node.opType === 'Gemm' && (node.attribute ?? []).some((a) => a.name === 'transB' && Number(a.i) === 1);
  let wName = node.input![1]!;
  for (let hops = 0; !inits.has(wName) && hops < 4; hops++) {
    const p = producer.get(wName);
    if (!p) break;
    if (p.opType === 'Transpose') transposed = !transposed;
    else if (p.opType !== 'Cast' && p.opType !== 'Identity') break;
    wName = p.input![0]!;
  }
  const w = inits.get(wName);
  if (!w) throw new TokenProbeError(`cannot find the lm_head weight initializer in ${onnxPath} (MatMul weight "${node.input![1]}"); set geometry = false`);
  const dims = (w.dims ?? []).map(Number);
  const data = tensorData(w, onnxPath);
  // Stored [H, V] as a MatMul weight, or [V, H] (Gemm transB, Transpose of the embedding).
  let vFirst: boolean;
  if (dims.length !== 2) throw new TokenProbeError(`lm_head weight "${wName}" has shape [${dims}], expected 2-D`);
  if (vocabSize && dims[0] === vocabSize && dims[1] !== vocabSize) vFirst = true;
  else if (vocabSize && dims[1] === vocabSize && dims[0] !== vocabSize) vFirst = false;
  else vFirst = transposed;
  const V = vFirst ? dims[0]! : dims[1]!;
  const H = vFirst ? dims[1]! : dims[0]!;
  const row = (t: number): Float32Array => {
    if (t < 0 || t >= V) throw new TokenProbeError(`token id ${t} outside the lm_head's ${V} rows`);
    if (vFirst) return data.slice(t * H, (t + 1) * H);
    const r = new Float32Array(H);
    for (let h = 0; h < H; h++) r[h] = data[h * V + t]!;
    return r;
  };
  const expected = (p: ArrayLike<number>): Float64Array => {
    const m = new Float64Array(H);
    for (let t = 0; t < Math.min(V, p.length); t++) {
      const pt = p[t]!;
      if (pt === 0) continue;
      if (vFirst) for (let h = 0; h < H; h++) m[h]! += pt * data[t * H + h]!;
      else for (let h = 0; h < H; h++) m[h]! += pt * data[h * V + t]!;
    }
    return m;
  };
  return { vocab: V, hidden: H, row, expected };
}

export interface GeometryMetrics {
  unembed_dot: number;
  unembed_cosine: number;
  unembed_projection: number;
  softmax_coupling: number;
}

/**
 * dot = u_a·u_n; cosine = dot/(|u_a||u_n|); projection = dot/|u_a| (length of u_n along u_a);
 * softmax coupling = (u_n − E_p[u])·u_a: the first-order change of log P(number) when the final
 * hidden state moves by the animal's unembedding row (p = the distribution the number is read from).
 */
export function geometry(ua: ArrayLike<number>, un: ArrayLike<number>, mean: ArrayLike<number>): GeometryMetrics {
  let dot = 0, na = 0, nn = 0, mdot = 0;
  for (let h = 0; h < ua.length; h++) {
    dot += ua[h]! * un[h]!;
    na += ua[h]! * ua[h]!;
    nn += un[h]! * un[h]!;
    mdot += mean[h]! * ua[h]!;
  }
  const la = Math.sqrt(na);
  const ln = Math.sqrt(nn);
  return {
    unembed_dot: dot,
    unembed_cosine: la && ln ? dot / (la * ln) : 0,
    unembed_projection: la ? dot / la : 0,
    softmax_coupling: dot - mdot,
  };
}
