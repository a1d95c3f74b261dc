// The tiny model as an ONNX graph with the inputs and outputs a transformers.js causal-LM export
// has (input_ids, attention_mask, position_ids, one layer of past key/values; logits, present).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// onnx-proto is CommonJS (protobufjs static code); require keeps its namespace intact.
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
import { toHalfBytes } from './fp16.ts';
import type { TinyWeights } from './weights.ts';

const F32 = onnx.TensorProto.DataType.FLOAT;
const F16 = onnx.TensorProto.DataType.FLOAT16;
const I64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;

function floatInit(name: string, dims: number[], data: Float32Array): import('onnx-proto').onnx.ITensorProto {
  return { name, dims, dataType: F32, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}
function i64Init(name: string, dims: number[], values: number[]): import('onnx-proto').onnx.ITensorProto {
  return { name, dims, dataType: I64, int64Data: values };
}
function valueInfo(name: string, elemType: number, dims: (number | string)[]): import('onnx-proto').onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
function node(
  opType: string, inputs: string[], outputs: string[], attrs: import('onnx-proto').onnx.IAttributeProto[] = [],
): import('onnx-proto').onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute: attrs };
}
const intAttr = (name: string, i: number): import('onnx-proto').onnx.IAttributeProto => ({ name, i, type: onnx.AttributeProto.AttributeType.INT });
const intsAttr = (name: string, ints: number[]): import('onnx-proto').onnx.IAttributeProto => ({ name, ints, type: onnx.AttributeProto.AttributeType.INTS });

/**
 * The ONNX graph. `fp16`: the variant transformers.js loads for dtype fp16 (model_fp16.onnx):
 * past/present/logits are float16 and so is the lm_head weight (cast to float32 inside, as
 * mixed-precision exports do), so the fp16 I/O and weight-reading paths get exercised.
 */
export function buildTinyOnnx(w: TinyWeights, externalData?: string, fp16 = false): { model: Uint8Array; data?: Uint8Array } {
  const { vocabSize: V, hidden: H, maxPositions } = w;
  const lmHead = fp16
    ? { name: 'lm_head.weight', dims: [H, V], dataType: onnx.TensorProto.DataType.FLOAT16, rawData: toHalfBytes(w.lmHead) }
    : floatInit('lm_head.weight', [H, V], w.lmHead);
  let data: Uint8Array | undefined;
  if (externalData) {
    data = lmHead.rawData as Uint8Array;
    lmHead.rawData = undefined;
    lmHead.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    lmHead.externalData = [
      { key: 'location', value: externalData },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(data.byteLength) },
    ];
  }
  const initializer = [
    floatInit('model.embed_tokens.weight', [V, H], w.embed),
    floatInit('model.embed_positions.weight', [maxPositions, H], w.pos),
    floatInit('model.layers.0.self_attn.q_proj.weight', [H, H], w.wq),
    floatInit('model.layers.0.self_attn.k_proj.weight', [H, H], w.wk),
    floatInit('model.layers.0.self_attn.v_proj.weight', [H, H], w.wv),
    floatInit('model.layers.0.self_attn.o_proj.weight', [H, H], w.wo),
    lmHead,
    floatInit('scale', [], new Float32Array([1 / Math.sqrt(H)])),
    floatInit('neg_inf', [], new Float32Array([-1e9])),
    i64Init('zero', [], [0]),
    i64Init('one', [], [1]),
    i64Init('axes_1', [1], [1]),
    i64Init('axes_12', [2], [1, 2]),
  ];
  const nodes = [
    node('Gather', ['model.embed_tokens.weight', 'input_ids'], ['tok_emb']),
    node('Gather', ['model.embed_positions.weight', 'position_ids'], ['pos_emb']),
    node('Add', ['tok_emb', 'pos_emb'], ['x']),
    node('MatMul', ['x', 'model.layers.0.self_attn.q_proj.weight'], ['q']),
    node('MatMul', ['x', 'model.layers.0.self_attn.k_proj.weight'], ['k']),
    node('MatMul', ['x', 'model.layers.0.self_attn.v_proj.weight'], ['v']),
    node('Unsqueeze', ['q', 'axes_1'], ['q4']),
    node('Unsqueeze', ['k', 'axes_1'], ['k4']),
    node('Unsqueeze', ['v', 'axes_1'], ['v4']),
    ...(fp16
      ? [
          node('Cast', ['past_key_values.0.key'], ['past_key_f32'], [intAttr('to', F32)]),
          node('Cast', ['past_key_values.0.value'], ['past_value_f32'], [intAttr('to', F32)]),
          node('Concat', ['past_key_f32', 'k4'], ['present_key_f32'], [intAttr('axis', 2)]),
          node('Concat', ['past_value_f32', 'v4'], ['present_value_f32'], [intAttr('axis', 2)]),
          node('Cast', ['present_key_f32'], ['present.0.key'], [intAttr('to', F16)]),
          node('Cast', ['present_value_f32'], ['present.0.value'], [intAttr('to', F16)]),
        ]
      : [
          node('Concat', ['past_key_values.0.key', 'k4'], ['present_key_f32'], [intAttr('axis', 2)]),
          node('Concat', ['past_key_values.0.value', 'v4'], ['present_value_f32'], [intAttr('axis', 2)]),
          node('Identity', ['present_key_f32'], ['present.0.key']),
          node('Identity', ['present_value_f32'], ['present.0.value']),
        ]),
    node('Transpose', ['present_key_f32'], ['kT'], [intsAttr('perm', [0, 1, 3, 2])]),
    node('MatMul', ['q4', 'kT'], ['scores_raw']),
    node('Mul', ['scores_raw', 'scale'], ['scores']),
    // Causal mask over absolute positions: query i (absolute past_len + i) sees keys j <= past_len + i.
    node('Shape', ['input_ids'], ['ids_shape']),
    node('Gather', ['ids_shape', 'one'], ['seq_len'], [intAttr('axis', 0)]),
    node('Shape', ['attention_mask'], ['mask_shape']),
    node('Gather', ['mask_shape', 'one'], ['total_len'], [intAttr('axis', 0)]),
    node('Sub', ['total_len', 'seq_len'], ['past_len']),
    node('Range', ['zero', 'total_len', 'one'], ['key_idx']),
    node('Range', ['past_len', 'total_len', 'one'], ['query_idx']),
    node('Unsqueeze', ['query_idx', 'axes_1'], ['query_col']),
    node('LessOrEqual', ['key_idx', 'query_col'], ['causal']),
    node('Cast', ['attention_mask'], ['mask_bool'], [intAttr('to', BOOL)]),
    node('Unsqueeze', ['mask_bool', 'axes_12'], ['mask4']),
    node('And', ['causal', 'mask4'], ['allowed']),
    node('Where', ['allowed', 'scores', 'neg_inf'], ['scores_masked']),
    node('Softmax', ['scores_masked'], ['attn'], [intAttr('axis', -1)]),
    node('MatMul', ['attn', 'present_value_f32'], ['ctx4']),
    node('Squeeze', ['ctx4', 'axes_1'], ['ctx']),
    node('MatMul', ['ctx', 'model.layers.0.self_attn.o_proj.weight'], ['o']),
    node('Add', ['x', 'o'], ['h']),
    ...(fp16
      ? [
          node('Cast', ['lm_head.weight'], ['lm_head_f32'], [intAttr('to', F32)]),
          node('MatMul', ['h', 'lm_head_f32'], ['logits_f32']),
          node('Cast', ['logits_f32'], ['logits'], [intAttr('to', F16)]),
        ]
      : [node('MatMul', ['h', 'lm_head.weight'], ['logits'])]),
  ];
  const IO = fp16 ? F16 : F32;
  const model: import('onnx-proto').onnx.IModelProto = {
    irVersion: 7,
    producerName: 'sublab make-tiny-model',
    opsetImport: [{ domain: '', version: 14 }],
    graph: {
      name: 'tiny_llama',
      node: nodes,
      initializer,
      input: [
        valueInfo('input_ids', I64, ['batch_size', 'sequence_length']),
        valueInfo('attention_mask', I64, ['batch_size', 'total_sequence_length']),
        valueInfo('position_ids', I64, ['batch_size', 'sequence_length']),
        valueInfo('past_key_values.0.key', IO, ['batch_size', 1, 'past_sequence_length', H]),
        valueInfo('past_key_values.0.value', IO, ['batch_size', 1, 'past_sequence_length', H]),
      ],
      output: [
        valueInfo('logits', IO, ['batch_size', 'sequence_length', V]),
        valueInfo('present.0.key', IO, ['batch_size', 1, 'total_sequence_length', H]),
        valueInfo('present.0.value', IO, ['batch_size', 1, 'total_sequence_length', H]),
      ],
    },
  };
  return { model: onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish(), data };
}
