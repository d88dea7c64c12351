// Extractive question-answering heads with Hugging Face names and semantics (docs/method.md §2;
// modeling_distilbert.py DistilBertForQuestionAnswering, modeling_bert.py BertForQuestionAnswering):
// qa_outputs (C -> 2) on every position gives start and end logits. Padded positions are not masked,
// as in HF; callers restrict answer spans to the context.
// Legend: B batch, T sequence, C hidden (dim / hidden_size).
import type { BertConfig, DistilBertConfig } from '../io/config.js';
import { crossEntropy, linear, weightedSum } from '../tensor/ops.js';
import { selectColumn } from '../tensor/select.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EncoderInput } from './bert.js';
import { BertTaskModel, DistilBertTaskModel } from './classification.js';
import { linearSpecs, type Module } from './module.js';
import { drop } from './transformer.js';

export interface QuestionAnsweringOutput {
  /** (B, T) */
  startLogits: Tensor;
  /** (B, T) */
  endLogits: Tensor;
  /** hidden_states[0] = embeddings, [i + 1] = output of layer i; each (B, T, C). */
  hiddenStates: Tensor[];
}

/** qa_outputs on h (B, T, C) -> start and end logits, the two columns of the (B*T, 2) output. */
function spanLogits(m: Module, h: Tensor, B: number, T: number): { startLogits: Tensor; endLogits: Tensor } {
  const C = h.shape[h.shape.length - 1]!;
  const logits = linear(h.view([B * T, C]), m.p('qa_outputs.weight'), m.p('qa_outputs.bias')); // (B*T, 2)
  return { startLogits: selectColumn(logits, 0).view([B, T]), endLogits: selectColumn(logits, 1).view([B, T]) };
}

/** dropout(qa_dropout) on the last hidden state -> qa_outputs (dim -> 2). */
export class DistilBertForQuestionAnswering extends DistilBertTaskModel {
  readonly architecture = 'DistilBertForQuestionAnswering';

  constructor(config: DistilBertConfig) {
    super(config, linearSpecs('qa_outputs', 2, config.dim, config.initializer_range));
  }

  forward(x: EncoderInput): QuestionAnsweringOutput {
    const hiddenStates = this.encode(x);
    const h = drop(this, hiddenStates[hiddenStates.length - 1]!, this.config.qa_dropout); // (B, T, C)
    return { ...spanLogits(this, h, x.batch, x.seqLen), hiddenStates };
  }
}

/** qa_outputs (hidden_size -> 2) straight on the last hidden state; the encoder has no pooler. */
export class BertForQuestionAnswering extends BertTaskModel {
  readonly architecture = 'BertForQuestionAnswering';

  constructor(config: BertConfig) {
    super(config, false, linearSpecs('qa_outputs', 2, config.hidden_size, config.initializer_range));
  }

  forward(x: EncoderInput): QuestionAnsweringOutput {
    const hiddenStates = this.encode(x);
    return { ...spanLogits(this, hiddenStates[hiddenStates.length - 1]!, x.batch, x.seqLen), hiddenStates };
  }
}

/**
 * HF's span loss: (CE(start) + CE(end)) / 2 over the rows, with positions (B) clamped to [0, T]
 * and T ignored, so an answer outside the (truncated) sequence drops out of that side's mean.
 */
export function questionAnsweringLoss(start: Tensor, end: Tensor, startPositions: Int32Array, endPositions: Int32Array): Tensor {
  if (start.shape.length !== 2) throw new Error(`questionAnsweringLoss: start logits must be (B, T), got shape [${start.shape}]`);
  const [B, T] = start.shape as [number, number];
  if (end.shape[0] !== B || end.shape[1] !== T)
    throw new Error(`questionAnsweringLoss: end logits [${end.shape}] differ from start [${start.shape}]`);
  if (startPositions.length !== B || endPositions.length !== B)
    throw new Error(`questionAnsweringLoss: ${startPositions.length} start / ${endPositions.length} end positions for a batch of ${B}`);
  const clamp = (p: Int32Array): Int32Array => Int32Array.from(p, (v) => Math.min(Math.max(v, 0), T));
  return weightedSum([[crossEntropy(start, clamp(startPositions), T), 0.5], [crossEntropy(end, clamp(endPositions), T), 0.5]]);
}
