// BertForMaskedLM, the teacher (docs/method.md §2), with Hugging Face parameter names (modeling_bert.py).
// Legend: B batch, T sequence, C hidden_size, V vocab_size.
import { gatherRows, linear, tanh } from '../tensor/ops.js';
import type { BertConfig } from '../io/config.js';
import type { ParamSpec } from '../tensor/param_store.js';
import type { Tensor } from '../tensor/tensor.js';
import { encoderForward, encoderSpecs, layerDims, mlmHeadSpecs, mlmLogits } from './encoder.js';
import { BERT, type EncoderDims } from './family.js';
import { Module, linearSpecs } from './module.js';
import type { LayerDims } from './transformer.js';

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

export class BertForMaskedLM extends Module {
  readonly dims: EncoderDims;
  readonly layerDims: LayerDims;

  constructor(readonly config: BertConfig, readonly withPooler = false) {
    super(BertForMaskedLM.specs(config, withPooler));
    this.dims = BERT.dims(config);
    this.layerDims = layerDims(BERT, this.dims);
  }

  static specs(c: BertConfig, withPooler: boolean): ParamSpec[] {
    const d = BERT.dims(c);
    return [
      ...encoderSpecs(BERT, d),
      ...(withPooler ? linearSpecs('bert.pooler.dense', d.hidden, d.hidden, d.initStd) : []),
      ...mlmHeadSpecs(BERT, d),
    ];
  }

  /** The encoder alone: all hidden states. */
  encode(x: EncoderInput): Tensor[] {
    return encoderForward(this, BERT, this.dims, this.layerDims, x);
  }

  forward(x: EncoderInput): MaskedLMOutput {
    const hiddenStates = this.encode(x);
    const h = hiddenStates[hiddenStates.length - 1]!;
    const logits = mlmLogits(this, BERT, this.dims, h, x.mlmPositions ?? null);
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
