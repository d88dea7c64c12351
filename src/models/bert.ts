// BertForMaskedLM, the teacher (docs/method.md §2), with Hugging Face parameter names (modeling_bert.py).
// Legend: B batch, T sequence, C hidden_size, V vocab_size.
import { gatherRows, linear, tanh } from '../tensor/ops.js';
import type { BertConfig } from '../io/config.js';
import type { ParamSpec } from '../tensor/param_store.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module, embeddingSpec, layerNormSpecs, linearSpecs } from './module.js';
import {
  BERT_LAYER, embeddingsForward, headsKept, layerForward, layerSpecs, mlmHeadForward, type LayerDims,
} from './transformer.js';


export interface EncoderInput {
  /** Token ids (B*T), row-major. */
  inputIds: Int32Array;
  /** 1 for tokens, 0 for padding (B*T); null when nothing is padded. */
  attentionMask: Int32Array | null;
  batch: number;
  seqLen: number;
  /** Segment ids (B*T) for BERT; zeros when absent. */
  tokenTypeIds?: Int32Array | null;
  /** Flat indices into B*T where the MLM head projects; all positions when absent. */
  mlmPositions?: Int32Array | null;
  /**
   * Per layer, a gate (H') on each head's context (HF head_mask; 0 masks the head out). A mask that
   * requires grad receives d loss / d gate, the head importance of src/prune/importance.ts.
   */
  headMask?: Tensor[] | null;
}

export interface MaskedLMOutput {
  /** hidden_states[0] = embeddings, [i + 1] = output of layer i; each (B, T, C). */
  hiddenStates: Tensor[];
  /** (n, V) with n = mlmPositions.length, or (B, T, V) over all positions. */
  logits: Tensor;
  /** tanh(dense(h[CLS])) (B, C) when the model has a pooler. */
  pooled?: Tensor;
}

export const BERT_PREFIX = 'bert.';
/** The MLM decoder, whose own `.weight` exists when tie_word_embeddings is false (HF key). */
export const BERT_UNTIED_DECODER = 'cls.predictions.decoder';

export class BertForMaskedLM extends Module {
  readonly layerDims: LayerDims;

  constructor(readonly config: BertConfig, readonly withPooler = false) {
    super(BertForMaskedLM.specs(config, withPooler));
    this.layerDims = {
      hidden: config.hidden_size, heads: config.num_attention_heads, ffn: config.intermediate_size,
      eps: config.layer_norm_eps, hiddenDropout: config.hidden_dropout_prob,
      attentionDropout: config.attention_probs_dropout_prob, attnOutputDropout: true, initStd: config.initializer_range,
    };
  }

  static specs(c: BertConfig, withPooler: boolean): ParamSpec[] {
    const C = c.hidden_size, std = c.initializer_range;
    const dims = { hidden: C, heads: c.num_attention_heads, ffn: c.intermediate_size, initStd: std } as LayerDims;
    const specs: ParamSpec[] = [
      embeddingSpec('bert.embeddings.word_embeddings', c.vocab_size, C, std),
      embeddingSpec('bert.embeddings.position_embeddings', c.max_position_embeddings, C, std),
      embeddingSpec('bert.embeddings.token_type_embeddings', c.type_vocab_size, C, std),
      ...layerNormSpecs('bert.embeddings.LayerNorm', C),
    ];
    for (let i = 0; i < c.num_hidden_layers; i++)
      specs.push(...layerSpecs(`bert.encoder.layer.${i}.`, BERT_LAYER, dims, headsKept(c.pruned_heads, i, c.num_attention_heads)));
    if (withPooler) specs.push(...linearSpecs('bert.pooler.dense', C, C, std));
    specs.push(
      ...linearSpecs('cls.predictions.transform.dense', C, C, std),
      ...layerNormSpecs('cls.predictions.transform.LayerNorm', C),
      // An untied decoder (tie_word_embeddings false) is a matrix of its own; tied, it is the word embeddings.
      ...(c.tie_word_embeddings ? [] : [embeddingSpec(BERT_UNTIED_DECODER, c.vocab_size, C, std)]),
      { name: 'cls.predictions.bias', shape: [c.vocab_size], init: { kind: 'const', value: 0 }, noDecay: true },
    );
    return specs;
  }

  /** Embeddings -> (B, T, C): word + position + token type -> LayerNorm -> dropout. */
  embed(x: EncoderInput): Tensor {
    const c = this.config;
    return embeddingsForward(this, x.inputIds, x.tokenTypeIds ?? null, x.batch, x.seqLen,
      { prefix: 'bert.embeddings.', tokenTypes: true },
      { maxPositions: c.max_position_embeddings, padId: c.pad_token_id, eps: c.layer_norm_eps, dropout: c.hidden_dropout_prob });
  }

  /** The encoder alone: all hidden states. */
  encode(x: EncoderInput): Tensor[] {
    const states = [this.embed(x)];
    for (let i = 0; i < this.config.num_hidden_layers; i++)
      states.push(layerForward(this, states[i]!, x.attentionMask, `bert.encoder.layer.${i}.`, BERT_LAYER, this.layerDims,
        x.headMask?.[i]));
    return states;
  }

  forward(x: EncoderInput): MaskedLMOutput {
    const hiddenStates = this.encode(x);
    const h = hiddenStates[hiddenStates.length - 1]!;
    const logits = mlmHeadForward(this, h, x.mlmPositions ?? null, {
      dense: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm',
      decoderWeight: this.config.tie_word_embeddings ? 'bert.embeddings.word_embeddings.weight' : `${BERT_UNTIED_DECODER}.weight`,
      decoderBias: 'cls.predictions.bias',
    }, this.config.layer_norm_eps);
    const out: MaskedLMOutput = {
      hiddenStates,
      logits: x.mlmPositions ? logits : logits.view([x.batch, x.seqLen, this.config.vocab_size]),
    };
    if (this.withPooler) out.pooled = this.pool(h, x.batch, x.seqLen);
    return out;
  }

  /** Pooler: tanh(dense(h[:, 0])) (B, C). */
  pool(h: Tensor, B: number, T: number): Tensor {
    const C = this.config.hidden_size;
    const cls = new Int32Array(B).map((_, b) => b * T);
    const first = gatherRows(h.view([B * T, C]), cls);
    return tanh(linear(first, this.p('bert.pooler.dense.weight'), this.p('bert.pooler.dense.bias')));
  }
}
