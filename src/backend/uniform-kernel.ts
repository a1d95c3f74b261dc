// Uniform distillation noise as a WebAssembly SIMD kernel: four rows at once, one sfc32 stream a
// lane, bit for bit the numbers of fillUniformPm1 (util/random.ts, the reference; tested).
// Why: noise for 25 models × a batch is ~14% of a distillation step's CPU time in plain JS
// (3.4 ns a number); four lanes make it several times cheaper.
//
// Each value is (t − 2³¹)·2⁻³¹ for the generator's u32 output t: JS computes it exactly in double
// and rounds once to float32; here t ^ 0x80000000 is t − 2³¹ as a signed int32, converted to
// float32 with the same round-to-nearest-even, and scaled by a power of two (exact).
import { I32, instantiateKernel, kernelModule, op } from './wasm-asm.ts';

/**
 * uniform4(out, stride, n, s0, s1, s2, s3): rows out, out + stride, out + 2·stride, out + 3·stride
 * (byte offsets, 16-aligned) get the first n (a multiple of 4, > 0) numbers of the streams seeded
 * s0..s3, as fillUniformPm1 writes them.
 */
export function uniformModuleBytes(shared: boolean, maxPages: number): Uint8Array<ArrayBuffer> {
  const P = { out: 0, stride: 1, n: 2, s0: 3, s1: 4, s2: 5, s3: 6 };
  const V = { a: 7, b: 8, c: 9, d: 10, t: 11, one: 12, sign: 13, scale: 14, v0: 15, v1: 16, v2: 17, v3: 18, t0: 19, t1: 20, t2: 21, t3: 22 };
  const I = { i: 23, p1: 24, p2: 25, p3: 26 };
  const g = op.localGet, set = op.localSet;
  const splatI = (x: number, l: number) => [...op.i32Const(x), ...op.i32x4Splat, ...set(l)];
  // One generator step in all four lanes: t = a + b + d; d += 1; a = b ^ (b >>> 9);
  // b = c + (c << 3); c = rotl(c, 21) + t.
  const step = [
    ...g(V.a), ...g(V.b), ...op.i32x4Add, ...g(V.d), ...op.i32x4Add, ...set(V.t),
    ...g(V.d), ...g(V.one), ...op.i32x4Add, ...set(V.d),
    ...g(V.b), ...g(V.b), ...op.i32Const(9), ...op.i32x4ShrU, ...op.v128Xor, ...set(V.a),
    ...g(V.c), ...g(V.c), ...op.i32Const(3), ...op.i32x4Shl, ...op.i32x4Add, ...set(V.b),
    ...g(V.c), ...op.i32Const(21), ...op.i32x4Shl, ...g(V.c), ...op.i32Const(11), ...op.i32x4ShrU, ...op.v128Or,
    ...g(V.t), ...op.i32x4Add, ...set(V.c),
  ];
  const value = (l: number) => [...step, ...g(V.t), ...g(V.sign), ...op.v128Xor, ...op.f32x4ConvertI32x4S, ...g(V.scale), ...op.f32x4Mul, ...set(l)];
  const shuffle = (x: number, y: number, lanes: [number, number, number, number], l: number) => [...g(x), ...g(y), ...op.shuffle32(lanes), ...set(l)];
  const store = (ptr: number, x: number, y: number, lanes: [number, number, number, number]) => [...g(ptr), ...g(x), ...g(y), ...op.shuffle32(lanes), ...op.v128Store()];
  const advance = (l: number, by: number) => [...g(l), ...op.i32Const(by), ...op.i32Add, ...set(l)];
  const body = [
    ...splatI(0x9e3779b9, V.a), ...splatI(0x243f6a88, V.b), ...splatI(0xb7e15162, V.c),
    ...g(P.s0), ...op.i32x4Splat, ...g(P.s1), ...op.i32x4ReplaceLane(1), ...g(P.s2), ...op.i32x4ReplaceLane(2), ...g(P.s3), ...op.i32x4ReplaceLane(3), ...set(V.d),
    ...splatI(1, V.one), ...splatI(0x80000000, V.sign),
    ...op.f32Const(2 ** -31), ...op.f32x4Splat, ...set(V.scale),
    // 15 discarded steps (the generator's warm-up)
    ...op.i32Const(15), ...set(I.i),
    ...op.loop, ...step, ...g(I.i), ...op.i32Const(1), ...op.i32Sub, ...op.localTee(I.i), ...op.i32Const(0), ...op.i32GtS, ...op.brIf(0), ...op.end,
    ...g(P.out), ...g(P.stride), ...op.i32Add, ...set(I.p1),
    ...g(I.p1), ...g(P.stride), ...op.i32Add, ...set(I.p2),
    ...g(I.p2), ...g(P.stride), ...op.i32Add, ...set(I.p3),
    ...op.loop,
    // four steps: v_k holds step k of the four rows; a 4×4 transpose turns them into four
    // consecutive values of each row
    ...value(V.v0), ...value(V.v1), ...value(V.v2), ...value(V.v3),
    ...shuffle(V.v0, V.v1, [0, 4, 1, 5], V.t0), ...shuffle(V.v0, V.v1, [2, 6, 3, 7], V.t1),
    ...shuffle(V.v2, V.v3, [0, 4, 1, 5], V.t2), ...shuffle(V.v2, V.v3, [2, 6, 3, 7], V.t3),
    ...store(P.out, V.t0, V.t2, [0, 1, 4, 5]), ...store(I.p1, V.t0, V.t2, [2, 3, 6, 7]),
    ...store(I.p2, V.t1, V.t3, [0, 1, 4, 5]), ...store(I.p3, V.t1, V.t3, [2, 3, 6, 7]),
    ...advance(P.out, 16), ...advance(I.p1, 16), ...advance(I.p2, 16), ...advance(I.p3, 16),
    ...g(P.n), ...op.i32Const(4), ...op.i32Sub, ...op.localTee(P.n), ...op.i32Const(0), ...op.i32GtS, ...op.brIf(0),
    ...op.end,
  ];
  return kernelModule('uniform4', [I32, I32, I32, I32, I32, I32, I32], 16, body, shared, maxPages, 4);
}

export type Uniform4Fn = (out: number, stride: number, n: number, s0: number, s1: number, s2: number, s3: number) => void;

/** Instantiate the kernel on `memory` (synchronously: the module is tiny). */
export function instantiateUniform(memory: WebAssembly.Memory, shared: boolean, maxPages: number): Uniform4Fn {
  return instantiateKernel<Uniform4Fn>(uniformModuleBytes(shared, maxPages), 'uniform4', memory);
}
