// One fused pass of Adam over a slab of parameters, as a WebAssembly SIMD kernel.
// Why: Adam over every parameter of every arm is memory-bound. As separate element-wise ONNX
// ops it takes ~12 passes over memory; a plain JS loop is bound by scalar sqrt/divide. One
// 4-wide pass reads W, g, m, v and writes W, m, v once (28 bytes a parameter), near the floor.
// The module is assembled here from its opcodes (no toolchain needed at install or run time);
// tests check it against a float64 reference of torch's update.

import { F32, I32, f32Bytes, instantiateKernel, kernelModule, op } from './wasm-asm.ts';

const { v128Load, v128Store, f32x4Splat, f32x4Sqrt, f32x4Add, f32x4Sub, f32x4Mul, f32x4Div } = op;

/**
 * adam(W, g, m, v, n, step, invSqrtBc2, wd, b1, b2, eps): for i < n (n a multiple of 4, byte
 * offsets 16-aligned), torch's Adam with L2 added to the gradient:
 *   g' = g + wd·W;  m = b1·m + (1−b1)·g';  v = b2·v + (1−b2)·g'²;
 *   W -= step · m / (sqrt(v)·invSqrtBc2 + eps)      (step = lr / (1 − b1^t))
 */
export function adamModuleBytes(shared: boolean, maxPages: number): Uint8Array<ArrayBuffer> {
  // params: 0 W, 1 g, 2 m, 3 v, 4 n (i32); 5 step, 6 isb, 7 wd, 8 b1, 9 b2, 10 eps (f32)
  const P = { W: 0, g: 1, m: 2, v: 3, n: 4, step: 5, isb: 6, wd: 7, b1: 8, b2: 9, eps: 10 };
  // locals (v128): 11 wd, 12 b1, 13 1-b1, 14 b2, 15 1-b2, 16 step, 17 isb, 18 eps, 19 w, 20 gg, 21 mm, 22 vv
  const L = { wd: 11, b1: 12, omb1: 13, b2: 14, omb2: 15, step: 16, isb: 17, eps: 18, w: 19, gg: 20, mm: 21, vv: 22 };
  const splat = (p: number, l: number) => [...op.localGet(p), ...f32x4Splat, ...op.localSet(l)];
  const oneMinus = (p: number, l: number) => [0x43, ...f32Bytes(1), ...op.localGet(p), 0x93, ...f32x4Splat, ...op.localSet(l)];
  const body = [
    ...splat(P.wd, L.wd), ...splat(P.b1, L.b1), ...oneMinus(P.b1, L.omb1), ...splat(P.b2, L.b2),
    ...oneMinus(P.b2, L.omb2), ...splat(P.step, L.step), ...splat(P.isb, L.isb), ...splat(P.eps, L.eps),
    // if (n <= 0) return
    ...op.localGet(P.n), ...op.i32Const(0), ...op.i32LeS, 0x04, 0x40, 0x0f, 0x0b,
    0x03, 0x40, // loop
    // w = W[i]; gg = g[i] + wd·w
    ...op.localGet(P.W), ...v128Load(), ...op.localTee(L.w),
    ...op.localGet(L.wd), ...f32x4Mul, ...op.localGet(P.g), ...v128Load(), ...f32x4Add, ...op.localSet(L.gg),
    // mm = b1·m + (1−b1)·gg
    ...op.localGet(P.m), ...v128Load(), ...op.localGet(L.b1), ...f32x4Mul,
    ...op.localGet(L.gg), ...op.localGet(L.omb1), ...f32x4Mul, ...f32x4Add, ...op.localSet(L.mm),
    // vv = b2·v + (1−b2)·gg·gg
    ...op.localGet(P.v), ...v128Load(), ...op.localGet(L.b2), ...f32x4Mul,
    ...op.localGet(L.gg), ...op.localGet(L.gg), ...f32x4Mul, ...op.localGet(L.omb2), ...f32x4Mul, ...f32x4Add, ...op.localSet(L.vv),
    // store m, v
    ...op.localGet(P.m), ...op.localGet(L.mm), ...v128Store(),
    ...op.localGet(P.v), ...op.localGet(L.vv), ...v128Store(),
    // W = w − step·mm / (sqrt(vv)·isb + eps)
    ...op.localGet(P.W), ...op.localGet(L.w),
    ...op.localGet(L.step), ...op.localGet(L.mm), ...f32x4Mul,
    ...op.localGet(L.vv), ...f32x4Sqrt, ...op.localGet(L.isb), ...f32x4Mul, ...op.localGet(L.eps), ...f32x4Add,
    ...f32x4Div, ...f32x4Sub, ...v128Store(),
    // advance
    ...[P.W, P.g, P.m, P.v].flatMap((p) => [...op.localGet(p), ...op.i32Const(16), ...op.i32Add, ...op.localSet(p)]),
    ...op.localGet(P.n), ...op.i32Const(4), ...op.i32Sub, ...op.localTee(P.n), ...op.i32Const(0), ...op.i32GtS,
    0x0d, 0x00, // br_if 0 (loop)
    0x0b, // end loop
  ];
  return kernelModule('adam', [I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32], 12, body, shared, maxPages);
}

export type AdamFn = (W: number, g: number, m: number, v: number, n: number, step: number, invSqrtBc2: number, wd: number, b1: number, b2: number, eps: number) => void;

/** Instantiate the kernel on `memory` (synchronously: the module is tiny). */
export function instantiateAdam(memory: WebAssembly.Memory, shared: boolean, maxPages: number): AdamFn {
  return instantiateKernel<AdamFn>(adamModuleBytes(shared, maxPages), 'adam', memory);
}
