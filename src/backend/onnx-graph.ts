// A small builder for ONNX graphs made in code (training steps, test models): named values,
// ops with typed attributes, constants, and serialisation through onnx-proto.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// onnx-proto is CommonJS (protobufjs static code); require keeps its namespace intact.
const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
type IAttr = import('onnx-proto').onnx.IAttributeProto;
type INode = import('onnx-proto').onnx.INodeProto;
type ITensor = import('onnx-proto').onnx.ITensorProto;
type IValueInfo = import('onnx-proto').onnx.IValueInfoProto;

export const DT = { FLOAT: onnx.TensorProto.DataType.FLOAT, INT64: onnx.TensorProto.DataType.INT64 } as const;
export type Dim = number | string;

/** Attribute values, tagged with their ONNX type (an integer-valued float stays a float). */
export const attr = {
  i: (v: number) => ({ kind: 'i' as const, v }),
  f: (v: number) => ({ kind: 'f' as const, v }),
  ints: (v: number[]) => ({ kind: 'ints' as const, v }),
};
export type Attr = ReturnType<(typeof attr)[keyof typeof attr]>;

function toAttr(name: string, a: Attr): IAttr {
  const T = onnx.AttributeProto.AttributeType;
  if (a.kind === 'i') return { name, i: a.v, type: T.INT };
  if (a.kind === 'f') return { name, f: a.v, type: T.FLOAT };
  return { name, ints: a.v, type: T.INTS };
}

function valueInfo(name: string, elemType: number, dims: Dim[]): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class GraphBuilder {
  private readonly nodes: INode[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private readonly inits: ITensor[] = [];
  private counter = 0;
  private usesContrib = false;

  constructor(private readonly name: string) {}

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dims: Dim[], elemType: number = DT.FLOAT): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declare `value` a graph output named `name` (an Identity when the names differ). */
  output(name: string, value: string, dims: Dim[], elemType: number = DT.FLOAT): void {
    if (value !== name) this.nodes.push({ opType: 'Identity', input: [value], output: [name], name });
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, domain = ''): string {
    const out = this.fresh(opType);
    if (domain) this.usesContrib = true;
    this.nodes.push({
      opType, domain, input: inputs, output: [out], name: out,
      attribute: Object.entries(attrs).map(([k, v]) => toAttr(k, v)),
    });
    return out;
  }

  /** A float constant (scalar when dims is []). */
  constF(values: number[], dims: number[] = []): string {
    const name = this.fresh('cf');
    this.inits.push({ name, dims, dataType: DT.FLOAT, floatData: values });
    return name;
  }

  constI64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('ci');
    this.inits.push({ name, dims, dataType: DT.INT64, int64Data: values });
    return name;
  }

  build(): Uint8Array {
    const opsetImport = [{ domain: '', version: 17 }, ...(this.usesContrib ? [{ domain: 'com.microsoft', version: 1 }] : [])];
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'sublab',
      opsetImport,
      graph: { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.inits },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
