// DistilBertForMaskedLM, the student (docs/method.md §2), with Hugging Face names (modeling_distilbert.py):
// word + position embeddings only, no token types, no pooler; vocab_projector tied to the word
// embeddings (unless tie_word_embeddings is false). Legend: B batch, T sequence, C dim, V vocab_size.
import type { DistilBertConfig } from '../io/config.js';
import type { ParamSpec } from '../tensor/param_store.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EncoderInput, MaskedLMOutput } from './bert.js';
import { Module, embeddingSpec, layerNormSpecs, linearSpecs } from './module.js';
import {
  DISTILBERT_LAYER, embeddingsForward, headsKept, layerForward, layerSpecs, mlmHeadForward, type LayerDims,
} from './transformer.js';


/** The vocabulary projector, whose own `.weight` exists when tie_word_embeddings is false (HF key). */
export const DISTILBERT_UNTIED_PROJECTOR = 'vocab_projector';

/** DistilBERT hard-codes LayerNorm eps 1e-12 (it is not a config key). */
export const DISTILBERT_LN_EPS = 1e-12;

export class DistilBertForMaskedLM extends Module {
  readonly layerDims: LayerDims;

  constructor(readonly config: DistilBertConfig) {
    super(DistilBertForMaskedLM.specs(config));
    this.layerDims = {
      hidden: config.dim, heads: config.n_heads, ffn: config.hidden_dim, eps: DISTILBERT_LN_EPS,
      hiddenDropout: config.dropout, attentionDropout: config.attention_dropout, attnOutputDropout: false,
      initStd: config.initializer_range,
    };
  }

  static encoderSpecs(c: DistilBertConfig): ParamSpec[] {
    const C = c.dim, std = c.initializer_range;
    const dims = { hidden: C, heads: c.n_heads, ffn: c.hidden_dim, initStd: std } as LayerDims;
    const specs: ParamSpec[] = [
      embeddingSpec('distilbert.embeddings.word_embeddings', c.vocab_size, C, std),
      embeddingSpec('distilbert.embeddings.position_embeddings', c.max_position_embeddings, C, std),
      ...layerNormSpecs('distilbert.embeddings.LayerNorm', C),
    ];
    for (let i = 0; i < c.n_layers; i++)
      specs.push(...layerSpecs(`distilbert.transformer.layer.${i}.`, DISTILBERT_LAYER, dims, headsKept(c.pruned_heads, i, c.n_heads)));
    return specs;
  }

  static specs(c: DistilBertConfig): ParamSpec[] {
    return [
      ...DistilBertForMaskedLM.encoderSpecs(c),
      ...linearSpecs('vocab_transform', c.dim, c.dim, c.initializer_range),
      ...layerNormSpecs('vocab_layer_norm', c.dim),
      // Untied (tie_word_embeddings false), the projector has a weight of its own.
      ...(c.tie_word_embeddings ? [] : [embeddingSpec(DISTILBERT_UNTIED_PROJECTOR, c.vocab_size, c.dim, c.initializer_range)]),
      { name: 'vocab_projector.bias', shape: [c.vocab_size], init: { kind: 'const', value: 0 }, noDecay: true },
    ];
  }

  /** Embeddings -> (B, T, C): word + position -> LayerNorm -> dropout. */
  embed(x: EncoderInput): Tensor {
    const c = this.config;
    return embeddingsForward(this, x.inputIds, null, x.batch, x.seqLen, { prefix: 'distilbert.embeddings.', tokenTypes: false },
      { maxPositions: c.max_position_embeddings, padId: c.pad_token_id, eps: DISTILBERT_LN_EPS, dropout: c.dropout });
  }

  encode(x: EncoderInput): Tensor[] {
    const states = [this.embed(x)];
    for (let i = 0; i < this.config.n_layers; i++)
      states.push(layerForward(this, states[i]!, x.attentionMask, `distilbert.transformer.layer.${i}.`,
        DISTILBERT_LAYER, this.layerDims, x.headMask?.[i]));
    return states;
  }

  forward(x: EncoderInput): MaskedLMOutput {
    const hiddenStates = this.encode(x);
    const logits = mlmHeadForward(this, hiddenStates[hiddenStates.length - 1]!, x.mlmPositions ?? null, {
      dense: 'vocab_transform', layerNorm: 'vocab_layer_norm',
      decoderWeight: this.config.tie_word_embeddings ? 'distilbert.embeddings.word_embeddings.weight' : `${DISTILBERT_UNTIED_PROJECTOR}.weight`,
      decoderBias: 'vocab_projector.bias',
    }, DISTILBERT_LN_EPS);
    return { hiddenStates, logits: x.mlmPositions ? logits : logits.view([x.batch, x.seqLen, this.config.vocab_size]) };
  }
}
