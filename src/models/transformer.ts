// The post-LN transformer layer shared by BERT and DistilBERT (docs/method.md §2), and the MLM head.
// The two models compute the same thing under different checkpoint names; `LayerNames` (family.ts)
// maps the roles to each model's Hugging Face keys. A layer may keep fewer heads than the config's count after
// head pruning (src/prune/): its q/k/v weights are (H' * D, C) and its output weight (C, H' * D).
// Legend: B batch, T sequence, C hidden, F FFN size, V vocab, D head size, H' heads the layer keeps.
import type { PrunedHeads } from '../io/config.js';
import type { ParamSpec } from '../tensor/param_store.js';
import { arena } from '../tensor/arena.js';
import { addLayerNorm, ffn, linearGelu } from '../tensor/fused.js';
import { headMask as maskHeads } from '../tensor/head_mask.js';
import { add, attention, dropout, gatherRows, layerNorm, linear } from '../tensor/ops.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LayerNames } from './family.js';
import { layerNormSpecs, linearSpecs, type Module } from './module.js';

export interface LayerDims {
  hidden: number;
  /** The config's head count before pruning: it fixes the head size D = hidden / heads. */
  heads: number;
  ffn: number;
  eps: number;
  hiddenDropout: number;
  attentionDropout: number;
  /** BERT drops out the attention output projection; DistilBERT does not (modeling_distilbert.py). */
  attnOutputDropout: boolean;
  initStd: number;
}

/** Heads layer `layer` keeps: the config's count less its pruned_heads entry. */
export const headsKept = (pruned: PrunedHeads, layer: number, heads: number): number =>
  heads - (pruned[String(layer)]?.length ?? 0);

/** Parameters of one layer that keeps `heads` of its attention heads (default: all). */
export function layerSpecs(prefix: string, n: LayerNames, d: LayerDims, heads = d.heads): ParamSpec[] {
  const C = d.hidden, A = heads * (C / d.heads); // A = H' * D, the attention width
  return [
    ...linearSpecs(`${prefix}${n.q}`, A, C, d.initStd),
    ...linearSpecs(`${prefix}${n.k}`, A, C, d.initStd),
    ...linearSpecs(`${prefix}${n.v}`, A, C, d.initStd),
    ...linearSpecs(`${prefix}${n.o}`, C, A, d.initStd),
    ...layerNormSpecs(`${prefix}${n.ln1}`, C),
    ...linearSpecs(`${prefix}${n.ffn1}`, d.ffn, C, d.initStd),
    ...linearSpecs(`${prefix}${n.ffn2}`, C, d.ffn, d.initStd),
    ...layerNormSpecs(`${prefix}${n.ln2}`, C),
  ];
}

const lin = (m: Module, x: Tensor, name: string): Tensor => linear(x, m.p(`${name}.weight`), m.p(`${name}.bias`));
const ln = (m: Module, x: Tensor, name: string, eps: number): Tensor =>
  layerNorm(x, m.p(`${name}.weight`), m.p(`${name}.bias`), eps);
/** LayerNorm(x + residual): the post-LN residual block, fused. */
const addLn = (m: Module, x: Tensor, residual: Tensor, name: string, eps: number): Tensor =>
  addLayerNorm(x, residual, m.p(`${name}.weight`), m.p(`${name}.bias`), eps);

/** Dropout in training mode only, seeded from the module's stream. */
export const drop = (m: Module, x: Tensor, p: number): Tensor => (m.training && p > 0 ? dropout(x, p, m.nextSeed()) : x);

/**
 * Self-attention of one layer -> (B, T, C), before the residual. heads (H'), the layer's own count, is
 * read off its query weight. headMask (H') scales each head's context (HF head_mask).
 */
function selfAttention(m: Module, x: Tensor, mask: Int32Array | null, prefix: string, n: LayerNames, d: LayerDims,
  headMask: Tensor | null): Tensor {
  const [B, T, C] = x.shape as [number, number, number];
  const heads = m.p(`${prefix}${n.q}.weight`).shape[0]! / (d.hidden / d.heads);
  if (headMask && headMask.size !== heads)
    throw new Error(`${prefix}: head mask has ${headMask.size} entries but the layer has ${heads} heads`);
  if (heads === 0) {
    // Every head pruned: the context is empty and out_lin yields its bias alone, as in HF BERT with
    // all heads of a layer pruned (HF DistilBERT 4.x divides by its head count and fails there).
    // Broadcast as a gather of row 0, so the bias still gets its gradient (a linear over 0 input
    // features would not add the bias).
    const bias = m.p(`${prefix}${n.o}.bias`);
    return gatherRows(bias.view([1, C]), new Int32Array(B * T), [B, T]); // (B, T, C)
  }
  const q = lin(m, x, `${prefix}${n.q}`); // (B, T, H' * D)
  const k = lin(m, x, `${prefix}${n.k}`);
  const v = lin(m, x, `${prefix}${n.v}`);
  const pAttn = m.training ? d.attentionDropout : 0;
  let ctx = attention(q, k, v, mask, heads, pAttn, pAttn > 0 ? m.nextSeed() : 0); // (B, T, H' * D)
  // Without a backward (inference) the projections and the context are spent once used.
  if (!ctx.requiresGrad) releaseData(q, k, v);
  if (headMask) ctx = maskHeads(ctx, headMask);
  const out = lin(m, ctx, `${prefix}${n.o}`); // (B, T, C)
  if (!out.requiresGrad) releaseData(ctx);
  return out;
}

/** One encoder layer: x (B, T, C), mask (B, T) 1 = token, optional head mask (H') -> (B, T, C). */
export function layerForward(m: Module, x: Tensor, mask: Int32Array | null, prefix: string, n: LayerNames,
  d: LayerDims, headMask: Tensor | null = null): Tensor {
  const a0 = selfAttention(m, x, mask, prefix, n, d, headMask);
  const a = d.attnOutputDropout ? drop(m, a0, d.hiddenDropout) : a0;
  const h = addLn(m, a, x, `${prefix}${n.ln1}`, d.eps); // (B, T, C)
  // The residual branches' outputs are spent once summed: addLayerNorm keeps the sum, and linear
  // and dropout backward never read their outputs. Handing them back keeps a layer's training
  // memory to q, k, v, the context, the FFN pre-activation, two sums and two LayerNorm outputs.
  releaseData(a0, a);
  const f0 = ffn(h, m.p(`${prefix}${n.ffn1}.weight`), m.p(`${prefix}${n.ffn1}.bias`), m.p(`${prefix}${n.ffn2}.weight`),
    m.p(`${prefix}${n.ffn2}.bias`)); // (B, T, C)
  const f = drop(m, f0, d.hiddenDropout);
  const out = addLn(m, f, h, `${prefix}${n.ln2}`, d.eps);
  releaseData(f0, f);
  return out;
}

/** Hand the values of spent intermediates back to the arena (their gradients are separate buffers). */
function releaseData(...ts: Tensor[]): void {
  for (const t of ts) arena.release(t.data);
}

export interface MlmHeadNames {
  dense: string; layerNorm: string; decoderWeight: string; decoderBias: string;
}

/**
 * MLM head on the rows of `hidden` (B*T, C) at `positions` (flat indices; null = all rows):
 * dense -> GELU -> LayerNorm -> decoder tied to the word embeddings + bias -> logits (n, V).
 */
export function mlmHeadForward(m: Module, hidden: Tensor, positions: Int32Array | null, names: MlmHeadNames,
  eps: number): Tensor {
  const C = hidden.shape[hidden.shape.length - 1]!;
  const flat = hidden.view([hidden.size / C, C]);
  const h = positions ? gatherRows(flat, positions) : flat; // (n, C)
  const t = ln(m, linearGelu(h, m.p(`${names.dense}.weight`), m.p(`${names.dense}.bias`)), names.layerNorm, eps);
  return linear(t, m.p(names.decoderWeight), m.p(names.decoderBias)); // (n, V)
}

export interface EmbeddingNames {
  /** e.g. 'bert.embeddings.' or 'distilbert.embeddings.' */
  prefix: string;
  tokenTypes: boolean;
}

/**
 * Embeddings -> (B, T, C): word + position (+ token type) -> LayerNorm -> dropout. ids, types (B*T);
 * the padding row of the word table gets no gradient (HF padding_idx).
 */
export function embeddingsForward(m: Module, ids: Int32Array, types: Int32Array | null, B: number, T: number,
  n: EmbeddingNames, o: { maxPositions: number; padId: number; eps: number; dropout: number }): Tensor {
  if (T > o.maxPositions) throw new Error(tooLong(T, o.maxPositions));
  const shape = [B, T];
  const word = gatherRows(m.p(`${n.prefix}word_embeddings.weight`), ids, shape, o.padId);
  const pos = gatherRows(m.p(`${n.prefix}position_embeddings.weight`), positionIds(B, T), shape);
  let out: Tensor;
  if (n.tokenTypes) {
    const wp = add(word, pos);
    releaseData(word, pos);
    const type = gatherRows(m.p(`${n.prefix}token_type_embeddings.weight`), types ?? new Int32Array(B * T), shape);
    out = addLn(m, wp, type, `${n.prefix}LayerNorm`, o.eps);
    releaseData(wp, type);
  } else {
    out = addLn(m, word, pos, `${n.prefix}LayerNorm`, o.eps);
    releaseData(word, pos);
  }
  return drop(m, out, o.dropout);
}

/** The error for inputs longer than the model's positions, with the fix. */
export function tooLong(length: number, maxPositions: number): string {
  return `a sequence of ${length} tokens is longer than the model's max_position_embeddings ${maxPositions} (config.json): ` +
    `cut the inputs to ${maxPositions} tokens (training data: distil prepare --max-len ${maxPositions}; fine-tuning and ` +
    `evaluation: --max-length ${maxPositions})`;
}

/** Flat position ids (B*T): 0..T-1 for each row. */
export function positionIds(B: number, T: number): Int32Array {
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ids[b * T + t] = t;
  return ids;
}
