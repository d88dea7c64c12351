// `distil finetune` / `distil evaluate` as library functions: fine-tune a BERT or DistilBERT with a
// sequence-classification (or regression) head on labelled CSV/TSV/JSONL data, evaluate it, and keep
// the best epoch as a Hugging Face directory with the tokenizer files.
import { withPrecision } from '../../tensor/precision.js';
import { resolveParams } from '../../train/schema.js';
import { mapBatches, type Sequence } from '../../data/padding.js';
import { loadForSequenceClassification, type SequenceClassifier } from '../../models/task_pretrained.js';
import { BertTokenizer } from '../../text/tokenizer.js';
import { tokenizerForModel } from '../../text/fit.js';
import { encodeLabels, labelIndex } from '../readers/labels.js';
import { readExamples, type LabelledData, type ReadOptions } from '../readers/table.js';
import { encodePairs } from './encode.js';
import {
  FINETUNE_SCHEMA, finetuneLoop, keptEpoch, runCheckpoints, type EpochReport, type FinetuneParams, type FinetuneRunOptions,
} from '../finetune_loop.js';
import { saveBestEpoch } from '../save_best.js';
import { evaluateClassification, evaluateRegression } from '../metrics.js';

/** Logits (one row per sequence, num_labels wide) of a classifier, batched with dynamic padding. */
export function classifierLogits(model: SequenceClassifier, seqs: Sequence[], padId: number, batchSize: number): Float32Array[] {
  model.eval();
  const L = model.labels.numLabels;
  return mapBatches(seqs, batchSize, padId, (x) => {
    const logits = model.forward(x).logits.data;
    return Array.from({ length: x.batch }, (_, b) => logits.slice(b * L, (b + 1) * L));
  });
}

const argmax = (r: Float32Array): number => r.indexOf(Math.max(...r));

export async function encodeData(tok: BertTokenizer, d: LabelledData, maxLength: number): Promise<Sequence[]> {
  const hasPairs = d.examples.some((e) => e.textPair !== undefined);
  return encodePairs(tok, d.examples.map((e) => e.text), hasPairs ? d.examples.map((e) => e.textPair) : null, maxLength);
}

/** `--max-length` must fit the model's positions (checked before any encoding or training). */
export function checkMaxLength(model: SequenceClassifier, maxLength: number, dir: string): void {
  const positions = model.config.max_position_embeddings;
  if (maxLength > positions)
    throw new Error(`--max-length ${maxLength} is longer than ${dir}'s max_position_embeddings ${positions} (config.json): pass --max-length ${positions} or less`);
}

/** Metrics of `model` on labelled data (accuracy, F1, Matthews; or Pearson, Spearman, MSE). */
export function scoreModel(model: SequenceClassifier, seqs: Sequence[], d: LabelledData, padId: number, batchSize: number):
  Record<string, number> {
  const rows = classifierLogits(model, seqs, padId, batchSize);
  if (model.labels.problemType === 'regression')
    return evaluateRegression(rows.map((r) => r[0]!), d.examples.map((e) => Number(e.label)));
  const index = labelIndex(model.labels.id2label);
  return evaluateClassification(rows.map(argmax), encodeLabels(d.examples, index), model.labels.id2label);
}

export interface FinetuneOptions extends FinetuneRunOptions {
  read?: ReadOptions;
  params?: Partial<FinetuneParams>;
}

export interface FinetuneResult {
  epochs: EpochReport[];
  best: EpochReport;
  labels: string[] | null;
}


export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const p: FinetuneParams = resolveParams(FINETUNE_SCHEMA, o.params);
  const train = await readExamples(o.train, o.read);
  const evalData = o.eval ? await readExamples(o.eval, { ...o.read, task: train.labels ? 'classification' : 'regression' }) : null;
  if (o.eval && train.labels && evalData?.labels) {
    const unknown = evalData.labels.filter((l) => !train.labels!.includes(l));
    if (unknown.length) throw new Error(`${o.eval}: labels ${unknown.join(', ')} do not occur in ${o.train}`);
  }
  const model = loadForSequenceClassification(o.model, train.labels
    ? { id2label: train.labels, problemType: 'single_label_classification', seed: p.seed }
    : { numLabels: 1, problemType: 'regression', seed: p.seed });
  checkMaxLength(model, p.max_length, o.model);
  const tok = tokenizerForModel(o.model);
  const trainSeqs = await encodeData(tok, train, p.max_length);
  const evalSeqs = evalData ? await encodeData(tok, evalData, p.max_length) : [];
  const labels = train.labels
    ? encodeLabels(train.examples, labelIndex(train.labels))
    : Float32Array.from(train.examples, (e) => Number(e.label));
  const args = { ...p, ...o.read, precision: o.precision ?? 'fp32' };
  const epochs = withPrecision(o.precision ?? 'fp32', () => finetuneLoop(model, trainSeqs, tok.padId, p, {
    loss: (x, rows) => model.loss(model.forward(x).logits,
      labels instanceof Int32Array ? Int32Array.from(rows, (r) => labels[r]!) : Float32Array.from(rows, (r) => labels[r]!)),
    ...(evalData ? {
      evaluate: () => scoreModel(model, evalSeqs, evalData, tok.padId, p.eval_batch_size),
      main: train.labels ? 'accuracy' : 'pearson',
      onBest: (r: EpochReport) => saveBestEpoch(o, model, r, args),
    } : {}),
    onStep: o.onStep,
    onEpoch: o.onEpoch,
    onStart: o.onStart,
    checkpoints: runCheckpoints(o, p, { ...o.read, precision: o.precision ?? 'fp32' }),
  }));
  // Without an evaluation set there is no best epoch to pick: the last one is kept.
  const best = keptEpoch(epochs, evalData !== null);
  if (!evalData) saveBestEpoch(o, model, best, args);
  return { epochs, best, labels: train.labels };
}

/** Evaluate a fine-tuned directory on labelled data; the metrics fit the head (classification or regression). */
export async function evaluate(o: { model: string; data: string; read?: ReadOptions; maxLength?: number; batchSize?: number }):
  Promise<Record<string, number>> {
  const model = loadForSequenceClassification(o.model);
  const maxLength = o.maxLength ?? Math.min(128, model.config.max_position_embeddings);
  checkMaxLength(model, maxLength, o.model);
  const tok = tokenizerForModel(o.model);
  const d = await readExamples(o.data, { ...o.read, task: model.labels.problemType === 'regression' ? 'regression' : 'classification' });
  const seqs = await encodeData(tok, d, maxLength);
  return scoreModel(model, seqs, d, tok.padId, o.batchSize ?? 64);
}
