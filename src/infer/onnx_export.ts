// Export a Hugging Face BERT / DistilBERT directory (config.json + model.safetensors) to ONNX, in
// the layout transformers.js loads: `<dir>/onnx/model.onnx` (model_quantized.onnx for int8,
// model_bf16.onnx for bf16 weights), int64 inputs `input_ids`, `attention_mask`
// (+ `token_type_ids` for BERT) of shape (batch_size, sequence_length).
// The graph is the HF eager forward op by op (modeling_bert.py, modeling_distilbert.py; docs/method.md §2):
// post-LN layers, exact erf GELU, LayerNorm with the config eps (DistilBERT: 1e-12), scores / sqrt(D)
// plus (1 - mask) * finfo(float32).min. Tensors are read by their HF checkpoint names straight from
// the safetensors file, so task heads export without their TypeScript model classes.
// Legend: B batch, T sequence, C hidden, H heads, D head size, F FFN size, V vocab, L labels.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { readModelConfig } from '../io/config.js';
import { readSafetensors, type SafeFile } from '../io/safetensors.js';
import { familyOf, type LayerNames, type ModelFamily } from '../models/family.js';
import { GraphBuilder, Ops, type Dim, type OnnxPrecision } from './onnx_graph.js';

/** transformers.js pipeline names; each picks the graph outputs. */
export type OnnxTask = 'fill-mask' | 'text-classification' | 'token-classification' | 'question-answering' | 'feature-extraction';

export const ONNX_TASKS: readonly OnnxTask[] = ['fill-mask', 'text-classification', 'token-classification', 'question-answering', 'feature-extraction'];

export type { OnnxPrecision };

export const ONNX_PRECISIONS: readonly OnnxPrecision[] = ['fp32', 'int8', 'bf16'];

/**
 * Default file name in `<modelDir>/onnx/` per precision: the names transformers.js loads for
 * dtype fp32 and q8 (DEFAULT_DTYPE_SUFFIX_MAPPING); it has no bf16 dtype, so that name is ours.
 */
export const ONNX_FILES: Readonly<Record<OnnxPrecision, string>> = {
  fp32: 'model.onnx', int8: 'model_quantized.onnx', bf16: 'model_bf16.onnx',
};

export interface ExportOptions {
  /** Where to write; default `<modelDir>/onnx/` + ONNX_FILES[precision]. */
  outFile?: string;
  /** Which head to export; default from config.json `architectures[0]` (feature-extraction = encoder only). */
  task?: OnnxTask;
  /**
   * Weight storage (default fp32): int8 = dynamic quantization of every linear layer's MatMul
   * (onnxruntime quantize_dynamic's graph; embeddings, LayerNorm and attention stay fp32),
   * bf16 = bfloat16 weights cast to float32 in the graph (half the file, fp32 compute).
   */
  precision?: OnnxPrecision;
}

/** The task an HF architecture name stands for (`DistilBertForMaskedLM` -> fill-mask). */
export function taskOfArchitecture(arch: string): OnnxTask | undefined {
  if (arch.endsWith('ForMaskedLM') || arch.endsWith('ForPreTraining')) return 'fill-mask';
  if (arch.endsWith('ForSequenceClassification')) return 'text-classification';
  if (arch.endsWith('ForTokenClassification')) return 'token-classification';
  if (arch.endsWith('ForQuestionAnswering')) return 'question-answering';
  if (arch === 'BertModel' || arch === 'DistilBertModel') return 'feature-extraction';
  return undefined;
}

/** What differs between the two encoders (the family descriptor's view of config.json); everything else is the same graph. */
interface Encoder {
  family: ModelFamily<unknown>;
  base: 'bert' | 'distilbert';
  hidden: number;
  heads: number;
  layers: number;
  eps: number;
  tokenTypes: boolean;
  /** The MLM decoder weight is the word-embedding matrix (HF tie_word_embeddings, true unless config.json says false). */
  tiedDecoder: boolean;
  layer: (i: number) => string;
  names: LayerNames;
}

function encoderOf(dir: string): { enc: Encoder; raw: Record<string, unknown> } {
  const c = readModelConfig(dir);
  const { family: f, ...d } = familyOf(c);
  return {
    raw: c.raw,
    enc: {
      family: f, base: f.kind, hidden: d.hidden, heads: d.heads, layers: d.layers, eps: d.eps, tokenTypes: d.typeVocab > 0,
      tiedDecoder: d.tiedDecoder, layer: (i) => `${f.layerList}${i}.`, names: f.layer,
    },
  };
}

/**
 * Checkpoint tensors by HF name, as float32. Base-model names (`embeddings.…`) get the `bert.` /
 * `distilbert.` prefix when the file has it (task models) and none when it does not (bare
 * BertModel saves); old TF conversions' LayerNorm.gamma/beta are accepted as weight/bias.
 */
class Weights {
  private readonly prefix: string;

  constructor(readonly file: SafeFile, base: string) {
    this.prefix = file.tensors.has(`${base}.embeddings.word_embeddings.weight`) ? `${base}.` : '';
  }

  has(name: string): boolean {
    return this.key(name) !== undefined;
  }

  private key(name: string): string | undefined {
    const alt = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    return [name, alt].find((k) => this.file.tensors.has(k));
  }

  /** A head tensor (full name) or, with `base`, an encoder tensor named without the model prefix. */
  get(name: string, base = false): { data: Float32Array; shape: number[] } {
    const key = this.existing(name, base);
    return { data: this.file.float32(key), shape: this.file.info(key).shape };
  }

  /** The shape of `get(name, base)` without reading the data. */
  shape(name: string, base = false): number[] {
    return this.file.info(this.existing(name, base)).shape;
  }

  private existing(name: string, base: boolean): string {
    const full = base ? this.prefix + name : name;
    const key = this.key(full);
    if (key === undefined) throw new Error(`${this.file.path}: no tensor "${full}"; is this the checkpoint config.json describes?`);
    return key;
  }
}

/** A graph plus the helpers every part of the export uses. */
interface Ctx { g: GraphBuilder; ops: Ops; w: Weights; enc: Encoder }

const linear = (c: Ctx, x: string, name: string, base = false): string => {
  const W = c.w.get(`${name}.weight`, base);
  return c.ops.linear(x, W.data, W.shape, c.w.get(`${name}.bias`, base).data, name);
};

const layerNorm = (c: Ctx, x: string, name: string, base = false): string =>
  c.ops.layerNorm(x, c.w.get(`${name}.weight`, base).data, c.w.get(`${name}.bias`, base).data, c.enc.eps, name);

/** word + position (+ token type) embeddings -> LayerNorm: (B, T, C). Also returns the word table's initializer. */
function embeddings(c: Ctx, ids: string, types: string | null): { h: string; wordTable: string } {
  const { g } = c;
  const table = (n: string): { name: string; shape: number[]; data: Float32Array } => {
    const t = c.w.get(`embeddings.${n}.weight`, true);
    return { ...t, name: c.ops.param(`embeddings.${n}.weight`, t.data, t.shape) };
  };
  const word = table('word_embeddings');
  let e = g.node('Gather', [word.name, ids], 'embeddings/word'); // (B, T, C)
  if (types !== null) e = g.node('Add', [e, g.node('Gather', [table('token_type_embeddings').name, types], 'embeddings/type')], 'embeddings/sum_type');
  // Position ids 0..T-1, T read from the input's shape at run time.
  const T = g.node('Gather', [g.node('Shape', [ids], 'embeddings/ids_shape'), g.ints('const_1', [1], true)], 'embeddings/T', [{ name: 'axis', i: 0 }]);
  const pos = g.node('Range', [g.ints('const_0', [0], true), T, g.ints('const_step_1', [1], true)], 'embeddings/position_ids'); // (T)
  e = g.node('Add', [e, g.node('Gather', [table('position_embeddings').name, pos], 'embeddings/position')], 'embeddings/sum'); // (B, T, C)
  return { h: layerNorm(c, e, 'embeddings.LayerNorm', true), wordTable: word.name };
}

/**
 * Attention heads of layer `i`, from its weights: rows of the q weight / head size, the head size
 * being hidden / num_heads of config.json. A layer with pruned heads (HF `prune_heads`) keeps the
 * head size and has fewer rows, so this is the one place a per-layer head count comes from.
 */
function headsOfLayer(c: Ctx, i: number): number {
  const D = c.enc.hidden / c.enc.heads;
  const rows = c.w.shape(`${c.enc.layer(i)}${c.enc.names.q}.weight`, true)[0]!;
  if (!Number.isInteger(D) || rows % D !== 0) throw new Error(`layer ${i}: q weight has ${rows} rows, not a multiple of the head size ${D}`);
  return rows / D;
}

/** One post-LN encoder layer: x (B, T, C) -> (B, T, C); attention inner width H * D (C unless heads are pruned). */
function layer(c: Ctx, x: string, mask: string, i: number): string {
  const { g, enc } = c;
  const p = enc.layer(i), n = enc.names;
  const H = headsOfLayer(c, i), D = enc.hidden / enc.heads;
  const heads = g.ints(`const_shape_0_0_${H}_${D}`, [0, 0, H, D]);
  const split = (t: string, perm: number[], what: string): string =>
    g.node('Transpose', [g.node('Reshape', [t, heads], `${p}${what}/heads`)], `${p}${what}/t`, [{ name: 'perm', ints: perm }]);
  const q = split(linear(c, x, `${p}${n.q}`, true), [0, 2, 1, 3], 'q'); // (B, H, T, D)
  const kT = split(linear(c, x, `${p}${n.k}`, true), [0, 2, 3, 1], 'k'); // (B, H, D, T)
  const v = split(linear(c, x, `${p}${n.v}`, true), [0, 2, 1, 3], 'v'); // (B, H, T, D)
  const raw = g.node('MatMul', [q, kT], `${p}attn/qk`); // (B, H, T, T)
  const scores = g.node('Add', [g.node('Div', [raw, g.scalar(`${p}attn.sqrt_d`, Math.sqrt(D))], `${p}attn/scaled`), mask], `${p}attn/masked`);
  const probs = g.node('Softmax', [scores], `${p}attn/probs`, [{ name: 'axis', i: -1 }]);
  const ctx = g.node('Transpose', [g.node('MatMul', [probs, v], `${p}attn/ctx`)], `${p}attn/ctx_t`, [{ name: 'perm', ints: [0, 2, 1, 3] }]); // (B, T, H, D)
  const merged = g.node('Reshape', [ctx, g.ints(`const_shape_0_0_${H * D}`, [0, 0, H * D])], `${p}attn/merged`); // (B, T, H*D)
  const h = layerNorm(c, g.node('Add', [linear(c, merged, `${p}${n.o}`, true), x], `${p}attn/residual`), `${p}${n.ln1}`, true);
  const f = linear(c, c.ops.gelu(linear(c, h, `${p}${n.ffn1}`, true), `${p}${n.ffn1}.gelu`), `${p}${n.ffn2}`, true); // (B, T, C)
  return layerNorm(c, g.node('Add', [f, h], `${p}ffn/residual`), `${p}${n.ln2}`, true);
}

/** The [CLS] row of each sequence: (B, T, C) -> (B, C). */
const firstToken = (c: Ctx, h: string): string =>
  c.g.node('Gather', [h, c.g.ints('const_0', [0], true)], 'cls_token', [{ name: 'axis', i: 1 }]);

/** Adds the task head on the last hidden state `h` and declares the graph outputs. */
function head(c: Ctx, task: OnnxTask, h: string, wordTable: string): void {
  const { g, w, enc } = c;
  const B = 'batch_size', T = 'sequence_length';
  const bert = enc.base === 'bert';
  const labels = (): number => w.get('classifier.weight').shape[0]!;
  switch (task) {
    case 'feature-extraction':
      g.output(h, 'last_hidden_state', [B, T, enc.hidden]);
      return;
    case 'fill-mask': {
      // MLM transform (dense -> GELU -> LayerNorm), then the decoder tied to the word embeddings + bias.
      const m = enc.family.mlmHead;
      // Older BERT checkpoints keep the bias under the decoder (cls.predictions.decoder.bias).
      const [dense, ln, bias] = [m.dense, m.layerNorm, w.has(m.bias) ? m.bias : `${m.untiedDecoder}.bias`];
      const t = layerNorm(c, c.ops.gelu(linear(c, h, dense), `${dense}.gelu`), ln); // (B, T, C)
      const b = w.get(bias);
      const V = b.shape[0]!;
      let logits: string; // (B, T, V)
      if (enc.tiedDecoder && c.ops.precision !== 'int8') {
        // Tied: the graph shares the Gather table, transposed by a node rather than stored twice.
        const decoderT = g.node('Transpose', [wordTable], 'decoder/weight_t', [{ name: 'perm', ints: [1, 0] }]); // (C, V)
        logits = g.node('Add', [g.node('MatMul', [t, decoderT], 'decoder/matmul'), c.ops.param(bias, b.data, b.shape)], 'decoder/out');
      } else {
        // Untied, or int8: the decoder gets its own (quantized) copy, as the embedding Gather stays fp32.
        const decoder = enc.tiedDecoder ? w.get('embeddings.word_embeddings.weight', true) : w.get(`${m.untiedDecoder}.weight`); // [V, C]
        logits = c.ops.linear(t, decoder.data, decoder.shape, b.data, m.untiedDecoder);
      }
      g.output(logits, 'logits', [B, T, V]);
      return;
    }
    case 'text-classification': {
      const cls = firstToken(c, h); // (B, C)
      const pooled = bert
        ? g.node('Tanh', [linear(c, cls, 'pooler.dense', true)], 'pooler/tanh') // BertPooler
        : g.node('Relu', [linear(c, cls, 'pre_classifier')], 'pre_classifier/relu');
      g.output(linear(c, pooled, 'classifier'), 'logits', [B, labels()]); // (B, L)
      return;
    }
    case 'token-classification':
      g.output(linear(c, h, 'classifier'), 'logits', [B, T, labels()]); // (B, T, L)
      return;
    case 'question-answering': {
      const both = linear(c, h, 'qa_outputs'); // (B, T, 2)
      const pick = (i: number, name: string): void =>
        g.output(g.node('Gather', [both, g.ints(`const_${i}`, [i], true)], name, [{ name: 'axis', i: 2 }]), name, [B, T]);
      pick(0, 'start_logits');
      pick(1, 'end_logits');
      return;
    }
  }
}

/** The task named by config.json, or guessed from the head tensors when `architectures` is absent. */
function defaultTask(raw: Record<string, unknown>, w: Weights, file: string): OnnxTask {
  const archs = raw.architectures;
  const arch = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (arch !== undefined) {
    const t = taskOfArchitecture(arch);
    if (t === undefined) throw new Error(`${file}: architecture ${arch} has no ONNX export; pass a task (${ONNX_TASKS.join(', ')})`);
    return t;
  }
  if (w.has('qa_outputs.weight')) return 'question-answering';
  if (w.has('classifier.weight')) return 'text-classification';
  if (w.has('vocab_projector.bias') || w.has('cls.predictions.bias')) return 'fill-mask';
  return 'feature-extraction';
}

/** Build the ONNX model of `modelDir` in memory; `exportOnnx` writes it. */
export function buildOnnx(modelDir: string, task?: OnnxTask, precision: OnnxPrecision = 'fp32'): { bytes: Uint8Array; task: OnnxTask } {
  const { enc, raw } = encoderOf(modelDir);
  const weights = join(modelDir, 'model.safetensors');
  if (!existsSync(weights)) throw new Error(`${weights}: not found; export needs config.json and model.safetensors (save_pretrained(dir, safe_serialization=True) writes them)`);
  const w = new Weights(readSafetensors(weights), enc.base);
  const chosen = task ?? defaultTask(raw, w, join(modelDir, 'config.json'));
  const g = new GraphBuilder();
  const c: Ctx = { g, ops: new Ops(g, precision), w, enc };
  const dims: Dim[] = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', 'int64', dims);
  const mask = g.input('attention_mask', 'int64', dims);
  // transformers.js feeds token_type_ids (zeros when the tokenizer gives none) iff the graph has this input.
  const types = enc.tokenTypes ? g.input('token_type_ids', 'int64', dims) : null;
  const additive = c.ops.additiveMask(mask); // (B, 1, 1, T)
  let { h, wordTable } = embeddings(c, ids, types);
  for (let i = 0; i < enc.layers; i++) h = layer(c, h, additive, i);
  head(c, chosen, h, wordTable);
  const bytes = g.encode({
    producerVersion: packageVersion(),
    docString: `${enc.base} ${chosen} (${precision} weights) exported from ${modelDir}`,
    metadata: { task: chosen, model_type: enc.base, precision },
  });
  return { bytes, task: chosen };
}

/**
 * Write `modelDir` as ONNX (default `<modelDir>/onnx/model.onnx`, what transformers.js loads with
 * dtype fp32, or the precision's ONNX_FILES name) and return the path written.
 */
export function exportOnnx(modelDir: string, opts: ExportOptions = {}): string {
  const precision = opts.precision ?? 'fp32';
  const out = opts.outFile ?? join(modelDir, 'onnx', ONNX_FILES[precision]);
  const { bytes } = buildOnnx(modelDir, opts.task, precision);
  mkdirSync(dirname(out), { recursive: true });
  atomicWriteFile(out, bytes);
  return out;
}

function packageVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url); // dist/src/infer/ -> repository root
    return String((JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version ?? '0');
  } catch {
    return '0';
  }
}
