// Sequence-classification heads with Hugging Face names and semantics (docs/method.md §2; modeling_distilbert.py
// DistilBertForSequenceClassification, modeling_bert.py BertForSequenceClassification), and the two
// encoder bases every task head builds on (qa.ts too). Encoder (`distilbert.*` / `bert.*`) and head
// live in one flat ParamStore, so a fine-tuned model is one Hugging Face checkpoint. The encoder is
// the family's (encoder.ts over family.ts), as in the masked-LM models.
// Legend: B batch, T sequence, C hidden (dim / hidden_size), L num_labels.
import type { BertConfig, DistilBertConfig } from '../io/config.js';
import { crossEntropy, gatherRows, linear, mseSum, relu, tanh, weightedSum } from '../tensor/ops.js';
import type { ParamSpec } from '../tensor/param_store.js';
import { Tensor } from '../tensor/tensor.js';
import type { EncoderInput } from './bert.js';
import { encoderForward, encoderSpecs, layerDims } from './encoder.js';
import { BERT, DISTILBERT, type EncoderDims } from './family.js';
import { Module, linearSpecs } from './module.js';
import { drop, type LayerDims } from './transformer.js';

/** HF `problem_type`; multi_label_classification (BCE) is not implemented. */
export type ProblemType = 'single_label_classification' | 'regression';

/** The label side of a classification config (config.json id2label / label2id / problem_type). */
export interface LabelConfig {
  /** L, the classifier's output size (HF derives num_labels from id2label); 1 means regression. */
  numLabels: number;
  /** Label name of each class id 0..L-1 (config.json `id2label`, keys "0".."L-1"). */
  id2label: string[];
  label2id: Record<string, number>;
  problemType: ProblemType;
}

/** HF defaults for a label count: names LABEL_i; regression when L = 1 (modeling_*.py loss rule). */
export function defaultLabels(numLabels: number): LabelConfig {
  const id2label = Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  return {
    numLabels, id2label, label2id: Object.fromEntries(id2label.map((l, i) => [l, i])),
    problemType: numLabels === 1 ? 'regression' : 'single_label_classification',
  };
}

function checkLabels(l: LabelConfig): void {
  if (!Number.isSafeInteger(l.numLabels) || l.numLabels < 1) throw new Error(`num_labels must be an integer >= 1, got ${l.numLabels}`);
  if (l.id2label.length !== l.numLabels)
    throw new Error(`id2label has ${l.id2label.length} labels but num_labels is ${l.numLabels}; give one name per class`);
  if (l.problemType === 'single_label_classification' && l.numLabels < 2)
    throw new Error('single_label_classification needs num_labels >= 2; use problem_type "regression" for one output');
}

export interface SequenceClassifierOutput {
  /** (B, L) */
  logits: Tensor;
  /** hidden_states[0] = embeddings, [i + 1] = output of layer i; each (B, T, C). */
  hiddenStates: Tensor[];
}

/** Flat row indices (B) of position 0 ([CLS]) of each sequence in a (B*T, C) view. */
export const clsRows = (B: number, T: number): Int32Array => Int32Array.from({ length: B }, (_, b) => b * T);

/** The hidden state at [CLS] (B, C) of the last hidden state h (B, T, C). */
function clsVector(h: Tensor, B: number, T: number): Tensor {
  const C = h.shape[h.shape.length - 1]!;
  return gatherRows(h.view([B * T, C]), clsRows(B, T)); // (B, C)
}

const lin = (m: Module, x: Tensor, name: string): Tensor => linear(x, m.p(`${name}.weight`), m.p(`${name}.bias`));

/** A DistilBERT encoder (`distilbert.*`, as DistilBertForMaskedLM) under a task head. */
export abstract class DistilBertTaskModel extends Module {
  abstract readonly architecture: string;
  readonly dims: EncoderDims;
  readonly layerDims: LayerDims;
  /** Parameters the loader found no weights for and left at their initialisation (HF's "newly initialized" warning). */
  newlyInitialized: string[] = [];

  constructor(readonly config: DistilBertConfig, head: ParamSpec[]) {
    super([...encoderSpecs(DISTILBERT, DISTILBERT.dims(config)), ...head]);
    this.dims = DISTILBERT.dims(config);
    this.layerDims = layerDims(DISTILBERT, this.dims);
  }

  /** Every hidden state, each (B, T, C); token types are ignored (DistilBERT has none). */
  encode(x: EncoderInput): Tensor[] {
    return encoderForward(this, DISTILBERT, this.dims, this.layerDims, x);
  }
}

/** A BERT encoder (`bert.*`, as BertForMaskedLM, optionally with `bert.pooler.dense`) under a task head. */
export abstract class BertTaskModel extends Module {
  abstract readonly architecture: string;
  readonly dims: EncoderDims;
  readonly layerDims: LayerDims;
  newlyInitialized: string[] = [];

  constructor(readonly config: BertConfig, readonly withPooler: boolean, head: ParamSpec[]) {
    const d = BERT.dims(config);
    super([...encoderSpecs(BERT, d), ...(withPooler ? linearSpecs('bert.pooler.dense', d.hidden, d.hidden, d.initStd) : []), ...head]);
    this.dims = d;
    this.layerDims = layerDims(BERT, d);
  }

  encode(x: EncoderInput): Tensor[] {
    return encoderForward(this, BERT, this.dims, this.layerDims, x);
  }
}

/** h[CLS] -> pre_classifier (C -> C) -> ReLU -> dropout(seq_classif_dropout) -> classifier (C -> L). */
export class DistilBertForSequenceClassification extends DistilBertTaskModel {
  readonly architecture = 'DistilBertForSequenceClassification';

  constructor(config: DistilBertConfig, readonly labels: LabelConfig) {
    checkLabels(labels);
    super(config, [
      ...linearSpecs('pre_classifier', config.dim, config.dim, config.initializer_range),
      ...linearSpecs('classifier', labels.numLabels, config.dim, config.initializer_range),
    ]);
  }

  forward(x: EncoderInput): SequenceClassifierOutput {
    const hiddenStates = this.encode(x);
    const cls = clsVector(hiddenStates[hiddenStates.length - 1]!, x.batch, x.seqLen); // (B, C)
    const pooled = drop(this, relu(lin(this, cls, 'pre_classifier')), this.config.seq_classif_dropout); // (B, C)
    return { logits: lin(this, pooled, 'classifier'), hiddenStates }; // (B, L)
  }

  loss(logits: Tensor, labels: Int32Array | Float32Array): Tensor {
    return sequenceClassificationLoss(logits, labels, this.labels.problemType);
  }
}

/**
 * Pooler tanh(dense(h[CLS])) -> dropout -> classifier (C -> L). The dropout is `classifier_dropout`
 * when config.json sets it, else hidden_dropout_prob (modeling_bert.py).
 */
export class BertForSequenceClassification extends BertTaskModel {
  readonly architecture = 'BertForSequenceClassification';

  constructor(config: BertConfig, readonly labels: LabelConfig, readonly classifierDropout: number | null = null) {
    checkLabels(labels);
    super(config, true, linearSpecs('classifier', labels.numLabels, config.hidden_size, config.initializer_range));
  }

  forward(x: EncoderInput): SequenceClassifierOutput {
    const hiddenStates = this.encode(x);
    const cls = clsVector(hiddenStates[hiddenStates.length - 1]!, x.batch, x.seqLen); // (B, C)
    const pooled = tanh(lin(this, cls, 'bert.pooler.dense')); // (B, C)
    const p = this.classifierDropout ?? this.config.hidden_dropout_prob;
    return { logits: lin(this, drop(this, pooled, p), 'classifier'), hiddenStates }; // (B, L)
  }

  loss(logits: Tensor, labels: Int32Array | Float32Array): Tensor {
    return sequenceClassificationLoss(logits, labels, this.labels.problemType);
  }
}

/**
 * HF's sequence-classification loss on logits (B, L): single_label_classification = mean
 * cross-entropy over labels (B) (class ids; -100 rows are skipped as in CrossEntropyLoss);
 * regression = MSELoss(reduction mean) over labels (B*L) (for L = 1, one target per row).
 */
export function sequenceClassificationLoss(logits: Tensor, labels: Int32Array | Float32Array, problemType: ProblemType): Tensor {
  if (logits.shape.length !== 2) throw new Error(`sequenceClassificationLoss: logits must be (B, L), got shape [${logits.shape}]`);
  const [B, L] = logits.shape as [number, number];
  if (problemType === 'regression') {
    const n = logits.size;
    if (labels.length !== n) throw new Error(`regression loss: ${labels.length} targets for ${B} x ${L} logits; give B * num_labels values`);
    const target = new Tensor(labels instanceof Float32Array ? labels : Float32Array.from(labels), [n]);
    return weightedSum([[mseSum(logits.view([n]), target), 1 / n]]);
  }
  if (labels.length !== B) throw new Error(`classification loss: ${labels.length} labels for a batch of ${B}`);
  const targets = new Int32Array(B);
  labels.forEach((v, i) => {
    if (!Number.isInteger(v) || ((v < 0 || v >= L) && v !== -100))
      throw new Error(`classification loss: label ${v} of row ${i} is not a class id in [0, ${L}) (or -100 to skip the row)`);
    targets[i] = v;
  });
  return crossEntropy(logits, targets);
}
