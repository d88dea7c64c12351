// A small ONNX graph builder over the `onnx-proto` protobuf classes (onnx.proto of ONNX 1.10).
// Each method adds one standard-domain node and returns its output name; weights become float32
// (or, for the reduced-precision exports, int8 / bfloat16) initializers stored as raw_data
// (little-endian, C order, as onnx.proto specifies). Nothing is fused: every op is the plain ONNX
// one, so the graph reads like the PyTorch forward it mirrors.
// Legend: B batch, T sequence, C hidden, H heads, D head size, K / N linear in / out features.
import onnxProto from 'onnx-proto';
import { quantizeWeightInt8, toBfloat16 } from './quantize.js';

// onnx-proto is CommonJS (`module.exports = { onnx }`): Node gives ESM only the default export.
const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/**
 * IR version 8 (ONNX 1.10-1.12): the newest the onnx-proto schema knows, enough for opset 14,
 * and within what onnxruntime 1.30 (IR <= 11) and onnxruntime-web load.
 */
export const IR_VERSION = 8;
/** Opset 14: Reshape with 0 = "copy this dim", Softmax over one axis, Unsqueeze/Squeeze axes as inputs. */
export const OPSET = 14;

/** float32 -3.4028234663852886e38 = torch.finfo(torch.float32).min, HF's additive mask value. */
export const FLOAT32_MIN = -3.4028234663852886e38;

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

/** A graph dimension: a fixed size or a named dynamic one (dim_param). */
export type Dim = number | string;

type Attr = { name: string; i?: number; f?: number; ints?: number[] };

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * How checkpoint tensors are stored: fp32 as they are; int8 = every linear layer dynamically
 * quantized (weights int8 per output channel, activations uint8 per tensor at run time), the rest
 * fp32; bf16 = every checkpoint tensor bfloat16, cast to float32 in the graph so compute is fp32.
 */
export type OnnxPrecision = 'fp32' | 'int8' | 'bf16';

export class GraphBuilder {
  private readonly nodes: INodeProto[] = [];
  private readonly initializers: ITensorProto[] = [];
  private readonly inputs: IValueInfoProto[] = [];
  private readonly outputs: IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  /** Constants already added, by hint and value, so repeated shape vectors and scalars are stored once. */
  private readonly constants = new Map<string, string>();
  private counter = 0;

  /** A unique value name derived from `hint`. */
  private fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: 'int64' | 'float32', dims: Dim[]): string {
    const n = this.fresh(name);
    this.inputs.push(valueInfo(n, elemType, dims));
    return n;
  }

  /** Mark `value` as graph output `name` (an Identity renames it when needed). */
  output(value: string, name: string, dims: Dim[]): void {
    const out = value === name ? value : this.node('Identity', [value], name, [], true);
    this.outputs.push(valueInfo(out, 'float32', dims));
  }

  /** A float32 initializer of `shape` holding `data` (copied into raw_data). */
  floatTensor(hint: string, data: Float32Array, shape: number[]): string {
    return this.tensor(hint, DataType.FLOAT, bytesOf(data.slice()), shape);
  }

  /** An int8 initializer of `shape` (MatMulInteger weights and their zero points). */
  int8Tensor(hint: string, data: Int8Array, shape: number[]): string {
    return this.tensor(hint, DataType.INT8, bytesOf(data), shape);
  }

  /** A bfloat16 initializer of `shape`, `bits` as toBfloat16 gives them. */
  bf16Tensor(hint: string, bits: Uint16Array, shape: number[]): string {
    return this.tensor(hint, DataType.BFLOAT16, bytesOf(bits), shape);
  }

  private tensor(hint: string, dataType: number, rawData: Uint8Array, dims: number[]): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType, rawData });
    return name;
  }

  /** A float32 scalar (rank 0) initializer. */
  scalar(hint: string, value: number): string {
    return this.constant(`f|${hint}|${value}`, () => this.floatTensor(hint, Float32Array.of(value), []));
  }

  private constant(key: string, make: () => string): string {
    let name = this.constants.get(key);
    if (name === undefined) this.constants.set(key, (name = make()));
    return name;
  }

  /** An int64 initializer: a 1-D vector, or a scalar when `scalar` is set (one value). */
  ints(hint: string, values: number[], scalar = false): string {
    return this.constant(`i|${hint}|${scalar}|${values.join(',')}`, () => {
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      return this.tensor(hint, DataType.INT64, bytesOf(data), scalar ? [] : [values.length]);
    });
  }

  /** Add one node `op(inputs) -> out`; `exact` keeps `out` as given (graph outputs). */
  node(op: string, inputs: string[], out: string, attrs: Attr[] = [], exact = false): string {
    const name = exact ? out : this.fresh(out);
    if (exact) this.names.add(name);
    this.push(op, inputs, [name], attrs);
    return name;
  }

  /** A node with several outputs (DynamicQuantizeLinear); returns their names in order. */
  nodeN(op: string, inputs: string[], outs: string[], attrs: Attr[] = []): string[] {
    const names = outs.map((o) => this.fresh(o));
    this.push(op, inputs, names, attrs);
    return names;
  }

  private push(op: string, inputs: string[], outputs: string[], attrs: Attr[]): void {
    this.nodes.push({
      opType: op, input: inputs, output: outputs, name: `${op}_${this.nodes.length}`,
      attribute: attrs.map((a) =>
        a.ints !== undefined ? { name: a.name, type: AttributeType.INTS, ints: a.ints }
          : a.f !== undefined ? { name: a.name, type: AttributeType.FLOAT, f: a.f }
            : { name: a.name, type: AttributeType.INT, i: a.i ?? 0 }),
    });
  }

  /** Serialized ModelProto. */
  encode(meta: { producerVersion: string; docString: string; metadata?: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'distilbert-ts',
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      metadataProps: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: 'main_graph', node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: 'int64' | 'float32', dims: Dim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'int64' ? DataType.INT64 : DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The layer ops of BERT-style encoders on top of GraphBuilder; names follow the HF module they come from. */
export class Ops {
  private readonly half: string;
  private readonly one: string;
  private readonly sqrt2: string;
  /** DynamicQuantizeLinear outputs [x_q, x_scale, x_zero_point] by input, so q/k/v quantize their shared x once. */
  private readonly quantized = new Map<string, string[]>();

  /** Graph constants (0.5, eps, 1/sqrt(D) ...) stay float32 whatever `precision` is: they are not weights. */
  constructor(readonly g: GraphBuilder, readonly precision: OnnxPrecision = 'fp32') {
    this.half = g.scalar('const_half', 0.5);
    this.one = g.scalar('const_one', 1);
    this.sqrt2 = g.scalar('const_sqrt2', Math.SQRT2);
  }

  /**
   * A checkpoint tensor as a float32 value: the initializer itself, or with bf16 the bfloat16
   * initializer followed by a Cast to float (the file holds half the bytes, compute stays fp32).
   */
  param(hint: string, data: Float32Array, shape: number[]): string {
    if (this.precision !== 'bf16') return this.g.floatTensor(hint, data, shape);
    const bits = this.g.bf16Tensor(`${hint}_bf16`, toBfloat16(data), shape);
    return this.g.node('Cast', [bits], hint, [{ name: 'to', i: DataType.FLOAT }]);
  }

  /**
   * nn.Linear: x (..., K) @ W^T + b, with W given as PyTorch stores it, [N, K]. The transpose
   * is done here, once, so the graph holds W^T (K, N) for MatMul (MatMulInteger with int8).
   */
  linear(x: string, weight: Float32Array, wShape: number[], bias: Float32Array, name: string): string {
    const [N, K] = wShape as [number, number];
    const b = this.param(`${name}.bias`, bias, [N]);
    if (this.precision === 'int8') return this.g.node('Add', [this.matmulInt8(x, weight, wShape, name), b], `${name}/out`);
    const wt = new Float32Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wt[k * N + n] = weight[n * K + k]!;
    const w = this.param(`${name}.weight_t`, wt, [K, N]);
    return this.g.node('Add', [this.g.node('MatMul', [x, w], `${name}/matmul`), b], `${name}/out`);
  }

  /**
   * x (..., K) @ W^T (..., N) as onnxruntime's quantize_dynamic writes a MatMul: x quantized at run
   * time to uint8 per tensor (DynamicQuantizeLinear: scale, zero point), W^T stored int8 (K, N)
   * symmetric per output channel; the int32 MatMulInteger result is cast to float and scaled by
   * x_scale * w_scale[N]. onnxruntime fuses this pattern into DynamicQuantizeMatMul /
   * MatMulIntegerToFloat kernels.
   */
  private matmulInt8(x: string, weight: Float32Array, wShape: number[], name: string): string {
    const g = this.g;
    const [N, K] = wShape as [number, number];
    const { q, scale } = quantizeWeightInt8(weight, wShape);
    const wq = g.int8Tensor(`${name}.weight_t_quantized`, q, [K, N]);
    // A per-column zero-point vector (all 0, symmetric) tells MatMulInteger the quantization is per column.
    const wZero = g.int8Tensor(`${name}.weight_zero_point`, new Int8Array(N), [N]);
    const wScale = g.floatTensor(`${name}.weight_scale`, scale, [N]);
    let xQuant = this.quantized.get(x);
    if (xQuant === undefined) {
      xQuant = g.nodeN('DynamicQuantizeLinear', [x], [`${name}/x_quantized`, `${name}/x_scale`, `${name}/x_zero_point`]);
      this.quantized.set(x, xQuant);
    }
    const [xq, xScale, xZero] = xQuant;
    const acc = g.node('MatMulInteger', [xq!, wq, xZero!, wZero], `${name}/matmul_integer`); // (..., N) int32
    const accF = g.node('Cast', [acc], `${name}/matmul_integer_float`, [{ name: 'to', i: DataType.FLOAT }]);
    const s = g.node('Mul', [xScale!, wScale], `${name}/scale`); // (N)
    return g.node('Mul', [accF, s], `${name}/matmul`);
  }

  /** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * w + b, biased variance as torch. */
  layerNorm(x: string, weight: Float32Array, bias: Float32Array, eps: number, name: string): string {
    const g = this.g;
    const C = weight.length;
    const mean = g.node('ReduceMean', [x], `${name}/mean`, [{ name: 'axes', ints: [-1] }, { name: 'keepdims', i: 1 }]);
    const d = g.node('Sub', [x, mean], `${name}/centered`);
    const variance = g.node('ReduceMean', [g.node('Mul', [d, d], `${name}/sq`)], `${name}/var`,
      [{ name: 'axes', ints: [-1] }, { name: 'keepdims', i: 1 }]);
    const std = g.node('Sqrt', [g.node('Add', [variance, g.scalar(`${name}.eps`, eps)], `${name}/var_eps`)], `${name}/std`);
    const normed = g.node('Div', [d, std], `${name}/normed`);
    const scaled = g.node('Mul', [normed, this.param(`${name}.weight`, weight, [C])], `${name}/scaled`);
    return g.node('Add', [scaled, this.param(`${name}.bias`, bias, [C])], `${name}/out`);
  }

  /** Exact GELU as HF writes it: x * 0.5 * (1 + erf(x / sqrt(2))). */
  gelu(x: string, name: string): string {
    const g = this.g;
    const erf = g.node('Erf', [g.node('Div', [x, this.sqrt2], `${name}/div`)], `${name}/erf`);
    const halfX = g.node('Mul', [x, this.half], `${name}/half_x`);
    return g.node('Mul', [halfX, g.node('Add', [erf, this.one], `${name}/one_plus`)], `${name}/out`);
  }

  /**
   * HF's extended attention mask: (1 - mask) * finfo(float32).min as (B, 1, 1, T), added to every
   * score of a padded key, so its softmax weight is exactly 0.
   */
  additiveMask(mask: string): string {
    const g = this.g;
    const m = g.node('Cast', [mask], 'mask/float', [{ name: 'to', i: DataType.FLOAT }]); // (B, T)
    const inv = g.node('Sub', [this.one, m], 'mask/inverted');
    const add = g.node('Mul', [inv, g.scalar('const_float32_min', FLOAT32_MIN)], 'mask/additive');
    return g.node('Unsqueeze', [add, g.ints('const_axes_1_2', [1, 2])], 'mask/b11t'); // (B, 1, 1, T)
  }
}
