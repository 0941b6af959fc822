import protobuf from 'onnx-proto';

const { onnx } = protobuf;
const DT = onnx.TensorProto.DataType;

export type Dim = number | string;
export type ElemType = 'float' | 'int64' | 'bool' | 'int8' | 'uint8';
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { graph: GraphBuilder };

/** ONNX Runtime's contrib operators (DynamicQuantizeMatMul, MatMulNBits, …). */
export const MS_DOMAIN = 'com.microsoft';

/** Initializers at least this large go to the external data file instead of the protobuf. */
const EXTERNAL_MIN_BYTES = 1024;

function elemTypeCode(t: ElemType): number {
  switch (t) {
    case 'float':
      return DT.FLOAT;
    case 'int64':
      return DT.INT64;
    case 'bool':
      return DT.BOOL;
    case 'int8':
      return DT.INT8;
    case 'uint8':
      return DT.UINT8;
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elemTypeCode(type),
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}

function attribute(name: string, v: AttrValue) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use {float: x} for float attributes`);
    return onnx.AttributeProto.create({ name, type: A.INT, i: v });
  }
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if ('float' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.float });
  if ('graph' in v) return onnx.AttributeProto.create({ name, type: A.GRAPH, g: v.graph.subgraph() });
  return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
}

interface PendingInitializer {
  name: string;
  dims: number[];
  type: ElemType;
  bytes: Uint8Array;
}

function inlineInitializer(init: PendingInitializer) {
  return onnx.TensorProto.create({ name: init.name, dims: init.dims, dataType: elemTypeCode(init.type), rawData: init.bytes });
}

/** What `GraphBuilder.serialize` produces: the model protobuf and, when any, the external weights. */
export interface SerializedModel {
  model: Uint8Array;
  /** Concatenated large initializers, to be written as `externalDataName` next to the model file. */
  externalData: Uint8Array[];
  externalDataName: string;
}

/**
 * A small builder over the ONNX protobuf: named values, nodes, initializers. Graphs are
 * written once per checkpoint and cached, so clarity beats cleverness here.
 */
export class GraphBuilder {
  private readonly nodes: unknown[] = [];
  private readonly inputs: unknown[] = [];
  private readonly outputs: unknown[] = [];
  private readonly inits: PendingInitializer[] = [];
  private readonly domains = new Set<string>();
  private counter = 0;

  /** `prefix` keeps a subgraph's value names apart from its enclosing graph's. */
  constructor(
    readonly name: string,
    private readonly prefix = '',
  ) {}

  private fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.counter++}`;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, type, dims));
    return name;
  }

  output(value: string, name: string, type: ElemType, dims: Dim[]): void {
    if (value !== name) this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, type, dims));
  }

  /** A float32 initializer (weights). */
  weight(name: string, data: Float32Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: size does not match ${dims}`);
    this.inits.push({ name, dims, type: 'float', bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An 8-bit integer initializer (quantized weights, zero points). */
  bytes(name: string, type: 'int8' | 'uint8', data: Int8Array | Uint8Array, dims: number[]): string {
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: size does not match ${dims}`);
    this.inits.push({ name, dims, type, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  int64s(values: number[], dims: number[] = [values.length], hint = 'c'): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    const name = this.fresh(hint);
    this.inits.push({ name, dims, type: 'int64', bytes: new Uint8Array(data.buffer) });
    return name;
  }

  floats(values: number[], dims: number[] = [values.length], hint = 'f'): string {
    const data = Float32Array.from(values);
    const name = this.fresh(hint);
    this.inits.push({ name, dims, type: 'float', bytes: new Uint8Array(data.buffer) });
    return name;
  }

  scalar(v: number): string {
    return this.floats([v], []);
  }

  scalarInt(v: number): string {
    return this.int64s([v], []);
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.opMulti(opType, inputs, 1, attrs, '', outName ? [outName] : undefined)[0];
  }

  /** An operator of the com.microsoft domain with one output. */
  msOp(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.opMulti(opType, inputs, 1, attrs, MS_DOMAIN)[0];
  }

  /** An operator with `outputs` outputs (an input named '' is an omitted optional input). */
  opMulti(opType: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}, domain = '', outNames?: string[]): string[] {
    const outs = outNames ?? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    if (domain) this.domains.add(domain);
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        domain,
        input: inputs,
        output: outs,
        name: this.fresh(`n_${opType}`),
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outs;
  }

  // Shorthands for the ops the T5 graphs use.
  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.int64s(shape, [shape.length], 'shape')]);
  }
  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }
  unsqueeze(x: string, axes: number[]): string {
    return this.op('Unsqueeze', [x, this.int64s(axes, [axes.length], 'axes')]);
  }

  /**
   * The graph as the body of a control-flow operator (Scan, Loop): its initializers stay inline,
   * and it may read values of the enclosing graph by name.
   */
  subgraph() {
    if (this.domains.size) throw new Error(`subgraph ${this.name}: contrib operators belong in the enclosing graph`);
    const initializer = this.inits.map(inlineInitializer);
    return onnx.GraphProto.create({ name: this.name, node: this.nodes as never[], input: this.inputs as never[], output: this.outputs as never[], initializer });
  }

  /**
   * Encodes the model. Initializers of at least 1 KiB are stored as external data (so that
   * checkpoints over protobuf's 2 GB limit work and the .onnx stays small); the caller writes
   * `externalData` as one file named `externalDataName` beside the model.
   */
  serialize(externalDataName: string): SerializedModel {
    const externalData: Uint8Array[] = [];
    let offset = 0;
    const initializer = this.inits.map((init) => {
      if (init.bytes.byteLength < EXTERNAL_MIN_BYTES) return inlineInitializer(init);
      const base = { name: init.name, dims: init.dims, dataType: elemTypeCode(init.type) };
      // External data offsets must be aligned for memory mapping; 64 bytes suits every platform.
      const pad = (64 - (offset % 64)) % 64;
      if (pad) externalData.push(new Uint8Array(pad));
      offset += pad;
      externalData.push(init.bytes);
      const entry = onnx.TensorProto.create({
        ...base,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: externalDataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(init.bytes.byteLength) },
        ],
      });
      offset += init.bytes.byteLength;
      return entry;
    });
    const graph = onnx.GraphProto.create({
      name: this.name,
      node: this.nodes as never[],
      input: this.inputs as never[],
      output: this.outputs as never[],
      initializer,
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      producerName: 'longread',
      graph,
    });
    return { model: onnx.ModelProto.encode(model).finish(), externalData, externalDataName };
  }
}
