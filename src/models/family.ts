// One descriptor per model family (BERT, DistilBERT): its Hugging Face key names and how its
// config.json maps to the sizes the shared code works with. The models and their task heads, the
// config-against-weights check, student initialisation, head pruning and the ONNX export all read
// it, so a key name, an eps or a config-to-size mapping is written once.
import type { BertConfig, DistilBertConfig, PrunedHeads } from '../io/config.js';

/** The roles of a post-LN transformer layer, each with the family's key below the layer prefix. */
export interface LayerNames {
  q: string; k: string; v: string; o: string; ln1: string; ffn1: string; ffn2: string; ln2: string;
}

/** An encoder's sizes and settings, whatever its family calls them. */
export interface EncoderDims {
  vocab: number;
  hidden: number;
  /** The config's head count before pruning: it fixes the head size hidden / heads. */
  heads: number;
  ffn: number;
  layers: number;
  maxPositions: number;
  /** Rows of the token-type table (0: the family has none). */
  typeVocab: number;
  eps: number;
  padId: number;
  hiddenDropout: number;
  attentionDropout: number;
  initStd: number;
  prunedHeads: PrunedHeads;
  /** The MLM decoder is the word-embedding matrix (tie_word_embeddings, true unless config.json says false). */
  tiedDecoder: boolean;
}

export interface ModelFamily<C> {
  kind: 'bert' | 'distilbert';
  /** Prefix of the encoder's keys in a masked-LM or task model: 'bert.' or 'distilbert.'. */
  base: string;
  /** Key of the layer list below `base`: 'encoder.layer.' or 'transformer.layer.'. */
  layerList: string;
  layer: LayerNames;
  /** BERT drops out the attention output projection; DistilBERT does not (modeling_distilbert.py). */
  attnOutputDropout: boolean;
  /** The masked-LM head: transform dense, its LayerNorm, the untied decoder (its own `.weight`) and the bias. */
  mlmHead: { dense: string; layerNorm: string; untiedDecoder: string; bias: string };
  /** config.json's key for each size, for messages. */
  keys: { hidden: string; heads: string; ffn: string; layers: string };
  dims(c: C): EncoderDims;
}

export const BERT: ModelFamily<BertConfig> = {
  kind: 'bert',
  base: 'bert.',
  layerList: 'encoder.layer.',
  layer: {
    q: 'attention.self.query', k: 'attention.self.key', v: 'attention.self.value', o: 'attention.output.dense',
    ln1: 'attention.output.LayerNorm', ffn1: 'intermediate.dense', ffn2: 'output.dense', ln2: 'output.LayerNorm',
  },
  attnOutputDropout: true,
  mlmHead: {
    dense: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm',
    untiedDecoder: 'cls.predictions.decoder', bias: 'cls.predictions.bias',
  },
  keys: { hidden: 'hidden_size', heads: 'num_attention_heads', ffn: 'intermediate_size', layers: 'num_hidden_layers' },
  dims: (c) => ({
    vocab: c.vocab_size, hidden: c.hidden_size, heads: c.num_attention_heads, ffn: c.intermediate_size, layers: c.num_hidden_layers,
    maxPositions: c.max_position_embeddings, typeVocab: c.type_vocab_size, eps: c.layer_norm_eps, padId: c.pad_token_id,
    hiddenDropout: c.hidden_dropout_prob, attentionDropout: c.attention_probs_dropout_prob, initStd: c.initializer_range,
    prunedHeads: c.pruned_heads, tiedDecoder: c.tie_word_embeddings,
  }),
};

/** DistilBERT hard-codes LayerNorm eps 1e-12 (modeling_distilbert.py); it is no config key. */
const DISTILBERT_LN_EPS = 1e-12;

export const DISTILBERT: ModelFamily<DistilBertConfig> = {
  kind: 'distilbert',
  base: 'distilbert.',
  layerList: 'transformer.layer.',
  layer: {
    q: 'attention.q_lin', k: 'attention.k_lin', v: 'attention.v_lin', o: 'attention.out_lin',
    ln1: 'sa_layer_norm', ffn1: 'ffn.lin1', ffn2: 'ffn.lin2', ln2: 'output_layer_norm',
  },
  attnOutputDropout: false,
  mlmHead: { dense: 'vocab_transform', layerNorm: 'vocab_layer_norm', untiedDecoder: 'vocab_projector', bias: 'vocab_projector.bias' },
  keys: { hidden: 'dim', heads: 'n_heads', ffn: 'hidden_dim', layers: 'n_layers' },
  dims: (c) => ({
    vocab: c.vocab_size, hidden: c.dim, heads: c.n_heads, ffn: c.hidden_dim, layers: c.n_layers, maxPositions: c.max_position_embeddings,
    typeVocab: 0, eps: DISTILBERT_LN_EPS, padId: c.pad_token_id, hiddenDropout: c.dropout, attentionDropout: c.attention_dropout,
    initStd: c.initializer_range, prunedHeads: c.pruned_heads, tiedDecoder: c.tie_word_embeddings,
  }),
};

/** Key prefix of layer `i`: 'bert.encoder.layer.3.' or 'distilbert.transformer.layer.3.'. */
export const layerPrefix = (f: ModelFamily<unknown>, i: number): string => `${f.base}${f.layerList}${i}.`;

/** Key prefix of the embeddings: 'bert.embeddings.' or 'distilbert.embeddings.'. */
export const embeddingsPrefix = (f: ModelFamily<unknown>): string => `${f.base}embeddings.`;

/** The family of a parsed config.json (io/config.ts readModelConfig). */
export function familyOf(c: { kind: 'bert'; config: BertConfig } | { kind: 'distilbert'; config: DistilBertConfig }): EncoderDims & { family: ModelFamily<unknown> } {
  return c.kind === 'bert' ? { family: BERT as ModelFamily<unknown>, ...BERT.dims(c.config) } : { family: DISTILBERT as ModelFamily<unknown>, ...DISTILBERT.dims(c.config) };
}
