/**
 * The subset of ONNX's protobuf schema (onnx/onnx.proto, IR version 8) needed to write a model:
 * field numbers and types as in the official file, loaded into protobufjs. Node-only.
 */
import protobuf from 'protobufjs';

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            docString: { type: 'string', id: 10 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'TypeProtoTensor', id: 1 } },
        },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } } },
        Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    },
  },
};

/** AttributeProto.AttributeType values used here. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;
/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;
export const BOOL = 9;

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: Readonly<Record<string, number | readonly number[]>>;
}

export interface OnnxInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  /** float32 values, or int64 ones (shape constants). */
  readonly data: Float32Array | BigInt64Array;
}

/** A graph input or output: a fixed or symbolic (`'seq'`) size per dimension; float32 unless `elemType` says otherwise. */
export interface OnnxValue {
  readonly name: string;
  readonly dims: ReadonlyArray<number | string>;
  readonly elemType?: number;
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxInitializer[];
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
  readonly opset: number;
  readonly producer: string;
}

const root = protobuf.Root.fromJSON(SCHEMA);
const Model = root.lookupType('onnx.ModelProto');

const valueInfo = (v: OnnxValue) => ({
  name: v.name,
  type: { tensorType: { elemType: v.elemType ?? FLOAT, shape: { dim: v.dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
});

/** Serialises a graph (float32 weights, int64 shape constants) as an ONNX ModelProto (IR version 8). */
export function encodeOnnx(g: OnnxGraph): Uint8Array {
  const msg = {
    irVersion: 8,
    producerName: g.producer,
    producerVersion: '1',
    opsetImport: [{ domain: '', version: g.opset }],
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs ?? {}).map(([name, v]) =>
          typeof v === 'number' ? (Number.isInteger(v) ? { name, type: ATTR.INT, i: v } : { name, type: ATTR.FLOAT, f: v }) : { name, type: ATTR.INTS, ints: [...v] },
        ),
      })),
      initializer: g.initializers.map((t) => ({
        name: t.name,
        dims: [...t.dims],
        dataType: t.data instanceof BigInt64Array ? INT64 : FLOAT,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
    },
  };
  const err = Model.verify(msg);
  if (err) throw new Error(`invalid ONNX model: ${err}`);
  return Model.encode(Model.fromObject(msg)).finish();
}
