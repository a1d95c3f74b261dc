// A minimal WebAssembly assembler for the hand-written SIMD kernels (adam-kernel.ts,
// uniform-kernel.ts): byte encodings of the few opcodes they use and a one-function module that
// imports its memory. Kernels are assembled in code, so no toolchain is needed at install or
// run time; each kernel's tests check it against a plain JS reference.

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32 constants). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

export function f32Bytes(x: number): number[] {
  return [...new Uint8Array(Float32Array.of(x).buffer)];
}

export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;

const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];

/** Opcodes (each an array of bytes; immediates as arguments). */
export const op = {
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v | 0)],
  f32Const: (x: number) => [0x43, ...f32Bytes(x)],
  i32Add: [0x6a], i32Sub: [0x6b], i32GtS: [0x4a], i32LeS: [0x4c],
  f32Sub: [0x93],
  /** Structured control: `loop` (void), `block` (void), `br_if` depth, `return`, `end`. */
  loop: [0x03, 0x40], block: [0x04, 0x40], brIf: (depth: number) => [0x0d, ...uleb(depth)], ret: [0x0f], end: [0x0b],
  v128Load: (offset = 0) => simd(0x00, 4, ...uleb(offset)), // align 2^4
  v128Store: (offset = 0) => simd(0x0b, 4, ...uleb(offset)),
  /** i8x16.shuffle of two vectors by 32-bit lanes (0–3 the first operand, 4–7 the second). */
  shuffle32: (lanes: [number, number, number, number]) => simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])),
  i32x4Splat: simd(0x11),
  i32x4ReplaceLane: (lane: number) => simd(0x1c, lane),
  f32x4Splat: simd(0x13),
  v128Or: simd(0x50), v128Xor: simd(0x51),
  i32x4Shl: simd(0xab), i32x4ShrU: simd(0xad), i32x4Add: simd(0xae),
  f32x4Sqrt: simd(0xe3), f32x4Add: simd(0xe4), f32x4Sub: simd(0xe5), f32x4Mul: simd(0xe6), f32x4Div: simd(0xe7),
  f32x4ConvertI32x4S: simd(0xfa),
};

/**
 * A module of one exported function `fn` with the given parameter types, no result, `v128Locals`
 * v128 locals after the parameters, importing its memory as env.mem (shared or not).
 */
export function kernelModule(fn: string, params: number[], v128Locals: number, body: number[], shared: boolean, maxPages: number, i32Locals = 0): Uint8Array<ArrayBuffer> {
  const locals = vec([...(v128Locals ? [[...uleb(v128Locals), V128]] : []), ...(i32Locals ? [[...uleb(i32Locals), I32]] : [])]);
  const code = [...locals, ...body, ...op.end];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec(params.map((t) => [t])), 0x00]])),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, shared ? 0x03 : 0x01, ...uleb(1), ...uleb(maxPages)]])),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...name(fn), 0x00, 0x00]])),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

/** Instantiate a kernelModule on `memory` (synchronously: the modules are tiny). */
export function instantiateKernel<F>(bytes: Uint8Array<ArrayBuffer>, fn: string, memory: WebAssembly.Memory): F {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } });
  return inst.exports[fn] as F;
}
