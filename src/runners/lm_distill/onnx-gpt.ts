// lm_distill's GPT forward pass as an ONNX graph (model.ts's architecture: GPT-2, pre-LayerNorm,
// tied embeddings, GELU tanh), in two forms from one builder:
//  - `infer`: the weights are graph inputs (one session per shape serves every model), input_ids
//    [B, S] of equal-length rows (no padding); logits of the last position only, or of every
//    position; with `past`, also past key/value inputs and present outputs (as below), so
//    sampling runs each step on the new token only;
//  - `export`: the weights are initializers and the inputs and outputs are those of a
//    transformers.js gpt2 export (input_ids, attention_mask, position_ids, past_key_values.L.key
//    and .value → logits, present.L.key and .value), so padding and key/value caching work.
import { GraphBuilder, attr, DT } from '../../backend/onnx-graph.ts';
import { LN_EPS, paramLayout, tensorView, type LmShape } from './model.ts';

const INT32 = 6; // onnx.TensorProto.DataType.INT32

export type GptGraphMode = { kind: 'infer'; lastOnly: boolean; past?: boolean } | { kind: 'export'; weights: Float32Array };

/** The graph. In `infer` mode its weight inputs are named after model.ts's tensors (`wte`, `h0.ln1.g`, …). */
export function gptGraph(shape: LmShape, mode: GptGraphMode): Uint8Array {
  const { vocab: V, dModel: D, heads: H, layers: L } = shape;
  const hd = D / H;
  const layout = paramLayout(shape);
  const g = new GraphBuilder(mode.kind === 'infer' ? 'lm_distill_infer' : 'lm_distill_gpt2');
  const exporting = mode.kind === 'export';
  const p = new Map<string, string>();
  for (const s of layout.specs) {
    p.set(s.name, exporting ? g.constF(Array.from(tensorView(layout, mode.weights, s.name)), s.shape) : g.input(s.name, s.shape));
  }
  const w = (name: string) => p.get(name)!;

  // int32 ids for our own sessions (no BigInt per token); transformers.js feeds int64.
  const ids = g.input('input_ids', ['batch_size', 'sequence_length'], exporting ? DT.INT64 : INT32);
  const zero = g.constI64([0], []);
  const one = g.constI64([1], []);
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), one], { axis: attr.i(0) });
  let positions: string;
  let totalLen: string;
  let padMask: string | undefined;
  const withPast = exporting || (mode.kind === 'infer' && !!mode.past);
  const pastIn = (l: number, kv: 'key' | 'value') => `past_key_values.${l}.${kv}`;
  if (withPast) {
    for (let l = 0; l < L; l++) {
      for (const kv of ['key', 'value'] as const) g.input(pastIn(l, kv), ['batch_size', H, 'past_sequence_length', hd]);
    }
  }
  if (exporting) {
    const mask = g.input('attention_mask', ['batch_size', 'total_sequence_length'], DT.INT64);
    positions = g.input('position_ids', ['batch_size', 'sequence_length'], DT.INT64);
    totalLen = g.op('Gather', [g.op('Shape', [mask]), one], { axis: attr.i(0) });
    // [B, 1, 1, total]: keys a row may attend to (left padding is masked out).
    padMask = g.op('Unsqueeze', [g.op('Cast', [mask], { to: attr.i(9 /* BOOL */) }), g.constI64([1, 2])]);
  } else {
    // Unpadded rows: positions past_len .. past_len + S − 1, the same for every row.
    const past = withPast ? g.op('Gather', [g.op('Shape', [pastIn(0, 'key')]), g.constI64([2], [])], { axis: attr.i(0) }) : zero;
    totalLen = withPast ? g.op('Add', [past, seqLen]) : seqLen;
    positions = g.op('Range', [past, totalLen, one]);
  }
  // Causal mask over absolute positions: query i (at past_len + i) sees keys j ≤ past_len + i.
  const pastLen = g.op('Sub', [totalLen, seqLen]);
  const keyIdx = g.op('Range', [zero, totalLen, one]);
  const queryIdx = g.op('Unsqueeze', [g.op('Range', [pastLen, totalLen, one]), g.constI64([1])]);
  let allowed = g.op('LessOrEqual', [keyIdx, queryIdx]); // [S, total]
  if (padMask) allowed = g.op('And', [allowed, padMask]); // [B, 1, S, total]
  const negInf = g.constF([-1e9]);
  const scale = g.constF([1 / Math.sqrt(hd)]);

  let x = g.op('Add', [g.op('Gather', [w('wte'), ids]), g.op('Gather', [w('wpe'), positions])]); // [B, S, D]
  const ln = (v: string, gName: string, bName: string) =>
    g.op('LayerNormalization', [v, w(gName), w(bName)], { axis: attr.i(-1), epsilon: attr.f(LN_EPS) });
  const linear = (v: string, W: string, b: string) => g.op('Add', [g.op('MatMul', [v, w(W)]), w(b)]);
  const headsShape = g.constI64([0, 0, H, hd]);
  const toHeads = (v: string) => g.op('Transpose', [g.op('Reshape', [v, headsShape])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, H, S, hd]
  const c = Math.sqrt(2 / Math.PI);
  const half = g.constF([0.5]);
  const oneF = g.constF([1]);
  const cubic = g.constF([0.044715]);
  const gc = g.constF([c]);
  // GELU, tanh approximation (opset 17 has no Gelu op): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
  const gelu = (v: string) => {
    const x3 = g.op('Mul', [g.op('Mul', [v, v]), v]);
    const inner = g.op('Mul', [gc, g.op('Add', [v, g.op('Mul', [cubic, x3])])]);
    return g.op('Mul', [g.op('Mul', [half, v]), g.op('Add', [oneF, g.op('Tanh', [inner])])]);
  };

  for (let l = 0; l < L; l++) {
    const h = `h${l}.`;
    const qkv = linear(ln(x, `${h}ln1.g`, `${h}ln1.b`), `${h}attn.wqkv`, `${h}attn.bqkv`);
    // Split has three outputs; GraphBuilder.op names one, so split by Slice instead.
    const part = (i: number) => g.op('Slice', [qkv, g.constI64([i * D]), g.constI64([(i + 1) * D]), g.constI64([2])]);
    const q = toHeads(part(0));
    let k = toHeads(part(1));
    let v = toHeads(part(2));
    if (withPast) {
      k = g.op('Concat', [pastIn(l, 'key'), k], { axis: attr.i(2) });
      v = g.op('Concat', [pastIn(l, 'value'), v], { axis: attr.i(2) });
      g.output(`present.${l}.key`, k, ['batch_size', H, 'total_sequence_length', hd]);
      g.output(`present.${l}.value`, v, ['batch_size', H, 'total_sequence_length', hd]);
    }
    const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) })]), scale]);
    const att = g.op('Softmax', [g.op('Where', [allowed, scores, negInf])], { axis: attr.i(-1) });
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [att, v])], { perm: attr.ints([0, 2, 1, 3]) }), g.constI64([0, 0, D])]);
    x = g.op('Add', [x, linear(ctx, `${h}attn.wo`, `${h}attn.bo`)]);
    const m = gelu(linear(ln(x, `${h}ln2.g`, `${h}ln2.b`), `${h}mlp.w1`, `${h}mlp.b1`));
    x = g.op('Add', [x, linear(m, `${h}mlp.w2`, `${h}mlp.b2`)]);
  }
  if (mode.kind === 'infer' && mode.lastOnly) {
    x = g.op('Gather', [x, g.op('Sub', [seqLen, one])], { axis: attr.i(1) }); // [B, D]
  }
  const wteT = g.op('Transpose', [w('wte')], { perm: attr.ints([1, 0]) });
  const logits = g.op('MatMul', [ln(x, 'lnf.g', 'lnf.b'), wteT]);
  g.output('logits', logits, mode.kind === 'infer' && mode.lastOnly ? ['batch_size', V] : ['batch_size', 'sequence_length', V]);
  return g.build();
}
