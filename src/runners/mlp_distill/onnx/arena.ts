// Weights, gradients and Adam moments of the ONNX engine live in one WebAssembly memory,
// allocated once per group: ONNX Runtime reads the weights from it and writes the gradients into
// it (pre-allocated outputs), and the fused Adam kernel updates it in place. Nothing is
// allocated per step, so memory stays flat over epochs.
import type * as ortType from 'onnxruntime-node';
import { ort } from '../../../backend/onnxruntime.ts';
import { instantiateAdam, type AdamFn } from '../../../backend/adam-kernel.ts';
import { instantiateUniform, type Uniform4Fn } from '../../../backend/uniform-kernel.ts';
import { B1, B2, EPS } from '../model.ts';
import { paramShapes, paramName, gradName } from './graphs.ts';

const PAGE = 65536;
const round4 = (n: number) => (n + 3) & ~3;

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly f32: Float32Array;
  private readonly adamFn: AdamFn;
  /** Uniform noise, four rows at a time, into this memory (see fillDistillRows). */
  readonly uniform4: Uniform4Fn;
  private next = 0;

  /** `floats`: the capacity, in float32 values. */
  constructor(readonly floats: number) {
    const pages = Math.ceil((floats * 4) / PAGE) + 1;
    if (pages > 65536) throw new Error(`mlp_distill: the group needs ${((floats * 4) / 2 ** 30).toFixed(1)} GiB of weights and optimiser state, more than one WebAssembly memory holds (4 GiB); use fewer models side by side (set models = ...)`);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.f32 = new Float32Array(this.memory.buffer);
    this.adamFn = instantiateAdam(this.memory, false, pages);
    this.uniform4 = instantiateUniform(this.memory, false, pages);
  }

  /** A view of a fresh block of `n` floats (see alloc). */
  floatsView(n: number): Float32Array {
    const o = this.alloc(n);
    return this.f32.subarray(o, o + n);
  }

  /** A 16-byte aligned block of `n` floats (rounded up to a multiple of 4), zero-filled. */
  alloc(n: number): number {
    const off = this.next;
    this.next += round4(n);
    if (this.next > this.floats) throw new Error('mlp_distill: arena overflow (internal error)');
    return off;
  }

  /** One torch Adam step (L2 added to the gradient) over `len` floats at the given offsets. */
  adam(p: number, g: number, m: number, v: number, len: number, t: number, lr: number, wd: number): void {
    const bc1 = 1 - B1 ** t, bc2 = 1 - B2 ** t;
    this.adamFn(p * 4, g * 4, m * 4, v * 4, round4(len), lr / bc1, 1 / Math.sqrt(bc2), wd, B1, B2, EPS);
  }
}

/** Floats of one slab (every tensor of a net for n models, each 4-aligned). */
export function slabFloats(dims: number[], n: number): number {
  return paramShapes(dims).reduce((a, t) => a + round4(n * t.shape[0] * t.shape[1]), 0);
}

/**
 * A slab: every parameter tensor of a net for `n` models side by side, in paramShapes order,
 * each 4-aligned, so one Adam call covers it. Tensor views are made once.
 */
export class Slab {
  readonly start: number;
  readonly len: number;
  readonly offsets: number[] = [];
  private readonly shapes: ReturnType<typeof paramShapes>;

  constructor(readonly arena: Arena, readonly dims: number[], readonly n: number, start?: number) {
    this.shapes = paramShapes(dims);
    this.len = slabFloats(dims, n);
    this.start = start ?? arena.alloc(this.len);
    let o = this.start;
    for (const t of this.shapes) { this.offsets.push(o); o += round4(n * t.shape[0] * t.shape[1]); }
  }

  /** The layout for n ≤ base.n models inside base's memory (no allocation). */
  static view(base: Slab, dims: number[], n: number): Slab {
    if (n > base.n) throw new Error('mlp_distill: slab view larger than its base (internal error)');
    return new Slab(base.arena, dims, n, base.start);
  }

  private size(k: number): number {
    const s = this.shapes[k]!.shape;
    return s[0] * s[1];
  }

  /** ONNX tensors over this slab, named as parameters (or gradients) of prefix p. */
  tensors(p: string, as: 'param' | 'grad'): Record<string, ortType.Tensor> {
    const o = ort();
    const out: Record<string, ortType.Tensor> = {};
    this.shapes.forEach((t, k) => {
      const name = as === 'param' ? paramName(p, t.kind, t.l) : gradName(p, t.kind, t.l);
      const view = this.arena.f32.subarray(this.offsets[k]!, this.offsets[k]! + this.n * this.size(k));
      out[name] = new o.Tensor('float32', view, [this.n, ...t.shape]);
    });
    return out;
  }

  /** Write model i's parameters (W per layer, b per layer). */
  setModel(i: number, p: { W: Float32Array[]; b: Float32Array[] }): void {
    this.shapes.forEach((t, k) => {
      const src = t.kind === 'W' ? p.W[t.l]! : p.b[t.l]!;
      this.arena.f32.set(src, this.offsets[k]! + i * this.size(k));
    });
  }

  /** Copies of model i's parameters. */
  getModel(i: number): { W: Float32Array[]; b: Float32Array[] } {
    const W: Float32Array[] = [], b: Float32Array[] = [];
    this.shapes.forEach((t, k) => {
      const a = this.arena.f32.slice(this.offsets[k]! + i * this.size(k), this.offsets[k]! + (i + 1) * this.size(k));
      (t.kind === 'W' ? W : b).push(a);
    });
    return { W, b };
  }

  /** Views (no copy) of model i's weight matrices, per layer. */
  weightViews(i: number): Float32Array[] {
    const out: Float32Array[] = [];
    this.shapes.forEach((t, k) => {
      if (t.kind === 'W') out.push(this.arena.f32.subarray(this.offsets[k]! + i * this.size(k), this.offsets[k]! + (i + 1) * this.size(k)));
    });
    return out;
  }

  zero(): void {
    this.arena.f32.fill(0, this.start, this.start + round4(this.len));
  }
}

/** A trainable net: parameters plus gradient and Adam moment slabs of the same layout. */
export class TrainableNet {
  t = 0;
  constructor(readonly params: Slab, readonly grads: Slab, readonly m: Slab, readonly v: Slab) {}

  /** `grads`: a gradient slab shared with other nets that step one after another. */
  static alloc(arena: Arena, dims: number[], n: number, grads?: Slab): TrainableNet {
    return new TrainableNet(new Slab(arena, dims, n), grads ?? new Slab(arena, dims, n), new Slab(arena, dims, n), new Slab(arena, dims, n));
  }

  step(lr: number, wd: number): void {
    this.t += 1;
    this.params.arena.adam(this.params.start, this.grads.start, this.m.start, this.v.start, this.params.len, this.t, lr, wd);
  }

  resetOptimiser(): void {
    this.m.zero();
    this.v.zero();
    this.t = 0;
  }
}
