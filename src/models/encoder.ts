// A family's whole encoder (embeddings and layers) and its masked-LM head, as parameter specs and
// forward functions over the family descriptor (family.ts): BERT and DistilBERT models, masked-LM
// or under a task head, are built from these. Legend: B batch, T sequence, C hidden, V vocab.
import type { ParamSpec } from '../tensor/param_store.js';
import type { Tensor } from '../tensor/tensor.js';
import { embeddingsPrefix, layerPrefix, type EncoderDims, type ModelFamily } from './family.js';
import { embeddingSpec, layerNormSpecs, linearSpecs, type Module } from './module.js';
import { embeddingsForward, headsKept, layerForward, layerSpecs, mlmHeadForward, type LayerDims } from './transformer.js';

/** What the encoder reads of a batch (bert.ts EncoderInput). */
export interface EncoderBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array | null;
  batch: number;
  seqLen: number;
  tokenTypeIds?: Int32Array | null;
  headMask?: Tensor[] | null;
}

/** The shared layer's settings for a family's encoder. */
export function layerDims(f: ModelFamily<unknown>, d: EncoderDims): LayerDims {
  return {
    hidden: d.hidden, heads: d.heads, ffn: d.ffn, eps: d.eps, hiddenDropout: d.hiddenDropout, attentionDropout: d.attentionDropout,
    attnOutputDropout: f.attnOutputDropout, initStd: d.initStd,
  };
}

/** Embeddings (word, position, token type when the family has them, LayerNorm), then each layer. */
export function encoderSpecs(f: ModelFamily<unknown>, d: EncoderDims): ParamSpec[] {
  const p = embeddingsPrefix(f), C = d.hidden, std = d.initStd;
  const specs: ParamSpec[] = [
    embeddingSpec(`${p}word_embeddings`, d.vocab, C, std),
    embeddingSpec(`${p}position_embeddings`, d.maxPositions, C, std),
    ...(d.typeVocab > 0 ? [embeddingSpec(`${p}token_type_embeddings`, d.typeVocab, C, std)] : []),
    ...layerNormSpecs(`${p}LayerNorm`, C),
  ];
  const ld = layerDims(f, d);
  for (let i = 0; i < d.layers; i++) specs.push(...layerSpecs(layerPrefix(f, i), f.layer, ld, headsKept(d.prunedHeads, i, d.heads)));
  return specs;
}

/** Every hidden state, each (B, T, C): [0] the embeddings, [i + 1] the output of layer i. */
export function encoderForward(m: Module, f: ModelFamily<unknown>, d: EncoderDims, ld: LayerDims, x: EncoderBatch): Tensor[] {
  const types = d.typeVocab > 0;
  const states = [embeddingsForward(m, x.inputIds, types ? x.tokenTypeIds ?? null : null, x.batch, x.seqLen,
    { prefix: embeddingsPrefix(f), tokenTypes: types }, { maxPositions: d.maxPositions, padId: d.padId, eps: d.eps, dropout: d.hiddenDropout })];
  for (let i = 0; i < d.layers; i++) states.push(layerForward(m, states[i]!, x.attentionMask, layerPrefix(f, i), f.layer, ld, x.headMask?.[i]));
  return states;
}

/** The masked-LM head: transform dense, LayerNorm, the decoder when untied (tied, it is the word embeddings), bias. */
export function mlmHeadSpecs(f: ModelFamily<unknown>, d: EncoderDims): ParamSpec[] {
  const h = f.mlmHead;
  return [
    ...linearSpecs(h.dense, d.hidden, d.hidden, d.initStd),
    ...layerNormSpecs(h.layerNorm, d.hidden),
    ...(d.tiedDecoder ? [] : [embeddingSpec(h.untiedDecoder, d.vocab, d.hidden, d.initStd)]),
    { name: h.bias, shape: [d.vocab], init: { kind: 'const', value: 0 }, noDecay: true },
  ];
}

/** Logits (n, V) of the masked-LM head on the rows of `hidden` at `positions` (null: every row). */
export function mlmLogits(m: Module, f: ModelFamily<unknown>, d: EncoderDims, hidden: Tensor, positions: Int32Array | null): Tensor {
  const h = f.mlmHead;
  return mlmHeadForward(m, hidden, positions, {
    dense: h.dense, layerNorm: h.layerNorm, decoderBias: h.bias,
    decoderWeight: d.tiedDecoder ? `${embeddingsPrefix(f)}word_embeddings.weight` : `${h.untiedDecoder}.weight`,
  }, d.eps);
}
