// DistilBertForMaskedLM, the student (docs/method.md §2), with Hugging Face names (modeling_distilbert.py):
// word + position embeddings only, no token types, no pooler; vocab_projector tied to the word
// embeddings (unless tie_word_embeddings is false). Legend: B batch, T sequence, C dim, V vocab_size.
import type { DistilBertConfig } from '../io/config.js';
import type { ParamSpec } from '../tensor/param_store.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EncoderInput, MaskedLMOutput } from './bert.js';
import { encoderForward, encoderSpecs, layerDims, mlmHeadSpecs, mlmLogits } from './encoder.js';
import { DISTILBERT, type EncoderDims } from './family.js';
import { Module } from './module.js';
import type { LayerDims } from './transformer.js';

export class DistilBertForMaskedLM extends Module {
  readonly dims: EncoderDims;
  readonly layerDims: LayerDims;

  constructor(readonly config: DistilBertConfig) {
    super(DistilBertForMaskedLM.specs(config));
    this.dims = DISTILBERT.dims(config);
    this.layerDims = layerDims(DISTILBERT, this.dims);
  }

  static specs(c: DistilBertConfig): ParamSpec[] {
    const d = DISTILBERT.dims(c);
    return [...encoderSpecs(DISTILBERT, d), ...mlmHeadSpecs(DISTILBERT, d)];
  }

  encode(x: EncoderInput): Tensor[] {
    return encoderForward(this, DISTILBERT, this.dims, this.layerDims, x);
  }

  forward(x: EncoderInput): MaskedLMOutput {
    const hiddenStates = this.encode(x);
    const logits = mlmLogits(this, DISTILBERT, this.dims, hiddenStates[hiddenStates.length - 1]!, x.mlmPositions ?? null);
    return { hiddenStates, logits: x.mlmPositions ? logits : logits.view([x.batch, x.seqLen, this.config.vocab_size]) };
  }
}
