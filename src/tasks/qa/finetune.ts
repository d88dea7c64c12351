// `distil finetune-qa` as library functions: fine-tune a BERT or DistilBERT with a span head
// (qa_outputs) on SQuAD v1.1 JSON, score it with the official EM / F1 after every epoch, and keep the
// best epoch as a Hugging Face directory with the tokenizer files (transformers run_qa.py's recipe:
// 384-token windows, stride 128, lr 3e-5, batch 12, 2 epochs).
import { withPrecision } from '../../tensor/precision.js';
import { defaultsOf, isNumber, option, resolveParams, withDefaults, type Schema } from '../../train/schema.js';
import { mapBatches } from '../../data/padding.js';
import { questionAnsweringLoss } from '../../models/qa.js';
import { loadForQuestionAnswering, type QuestionAnswerer } from '../../models/task_pretrained.js';
import { BertTokenizer } from '../../text/tokenizer.js';
import { tokenizerForModel } from '../../text/fit.js';
import { readSquad, type SquadExample } from '../readers/squad.js';
import {
  FINETUNE_SCHEMA, finetuneLoop, keptEpoch, runCheckpoints, type EpochReport, type FinetuneParams, type FinetuneRunOptions,
} from '../finetune_loop.js';
import { saveBestEpoch } from '../save_best.js';
import { evaluateSquad, type SquadMetrics } from '../metrics.js';
import { qaFeatures, type QaFeature } from './features.js';
import { bestAnswers, type FeatureLogits, type QaPostprocessOptions } from './postprocess.js';

export interface QaFinetuneParams extends FinetuneParams {
  /** Context tokens shared by consecutive windows of a long context. */
  doc_stride: number;
  /** Question tokens kept. */
  max_query_length: number;
  /** Start and end candidates per window when picking the answer. */
  n_best_size: number;
  /** Longest answer in tokens. */
  max_answer_length: number;
}

/** run_qa.py's README recipe for SQuAD v1.1 (max_length here is its max_seq_length). */
export const QA_FINETUNE_SCHEMA: Schema<QaFinetuneParams> = {
  ...withDefaults<FinetuneParams>(FINETUNE_SCHEMA, { learning_rate: 3e-5, batch_size: 12, n_epoch: 2, max_length: 384 }),
  doc_stride: option(128, isNumber(0, 1e5, true), 'context tokens shared by consecutive windows of a long context'),
  max_query_length: option(64, isNumber(1, 1e5, true), 'question tokens kept'),
  n_best_size: option(20, isNumber(1, 1e4, true), 'start and end candidates per window when picking an answer'),
  max_answer_length: option(30, isNumber(1, 1e5, true), 'longest answer in tokens'),
};

export const QA_FINETUNE_DEFAULTS: QaFinetuneParams = defaultsOf(QA_FINETUNE_SCHEMA);

/** Start and end logits of each feature (its own length, padding dropped), batched with dynamic padding. */
export function qaLogits(model: QuestionAnswerer, features: readonly QaFeature[], padId: number, batchSize: number): FeatureLogits[] {
  model.eval();
  return mapBatches([...features], batchSize, padId, (x) => {
    const { startLogits, endLogits } = model.forward(x); // (B, T) each
    const T = x.seqLen;
    return Array.from({ length: x.batch }, (_, b) => {
      const n = x.attentionMask.subarray(b * T, (b + 1) * T).reduce((a, v) => a + v, 0);
      return { start: startLogits.data.slice(b * T, b * T + n), end: endLogits.data.slice(b * T, b * T + n) };
    });
  });
}

export interface QaPredictOptions {
  maxLength?: number;
  docStride?: number;
  maxQueryLength?: number;
  batchSize?: number;
  postprocess?: QaPostprocessOptions;
}

/** Answer text per question id ("" when no span is valid, as run_qa writes it). */
export async function predictSquad(model: QuestionAnswerer, tok: BertTokenizer, examples: readonly SquadExample[], o: QaPredictOptions = {}):
  Promise<Map<string, string>> {
  return predictFromFeatures(model, examples, await qaFeatures(tok, examples, o), tok.padId, o);
}

function predictFromFeatures(model: QuestionAnswerer, examples: readonly SquadExample[], features: readonly QaFeature[], padId: number,
  o: QaPredictOptions): Map<string, string> {
  const best = bestAnswers(examples, features, qaLogits(model, features, padId, o.batchSize ?? 64), o.postprocess);
  return new Map(examples.map((e, i) => [e.id, best[i]?.text ?? '']));
}

/** `train` and `eval` are SQuAD v1.1 JSON files. */
export interface QaFinetuneOptions extends FinetuneRunOptions {
  /** SQuAD questions scored after every epoch; the epoch with the best F1 is kept. */
  eval: string;
  params?: Partial<QaFinetuneParams>;
}

export interface QaFinetuneResult {
  epochs: EpochReport[];
  best: EpochReport;
  /** Training features (windows) and evaluation questions. */
  trainFeatures: number;
  evalQuestions: number;
}


function predictOptions(p: QaFinetuneParams): QaPredictOptions {
  return {
    maxLength: p.max_length, docStride: p.doc_stride, maxQueryLength: p.max_query_length, batchSize: p.eval_batch_size,
    postprocess: { nBest: p.n_best_size, maxAnswerLength: p.max_answer_length },
  };
}

/**
 * Fine-tune on `train`, evaluate EM / F1 on `eval` after each epoch, and keep the epoch with the best
 * F1 in `out` (model, tokenizer, eval_results.json, predictions.json, finetune_args.json).
 */
export async function finetuneQa(o: QaFinetuneOptions): Promise<QaFinetuneResult> {
  const p: QaFinetuneParams = resolveParams(QA_FINETUNE_SCHEMA, o.params);
  const train = readSquad(o.train).examples, evalSet = readSquad(o.eval).examples;
  if (evalSet.length === 0) throw new Error(`${o.eval}: no questions to evaluate`);
  const model = loadForQuestionAnswering(o.model, { seed: p.seed });
  const tok = tokenizerForModel(o.model);
  const po = predictOptions(p);
  const features = await qaFeatures(tok, train, po);
  const evalFeatures = await qaFeatures(tok, evalSet, po);
  const starts = Int32Array.from(features, (f) => f.startPosition), ends = Int32Array.from(features, (f) => f.endPosition);
  let predictions = new Map<string, string>();
  const epochs = withPrecision(o.precision ?? 'fp32', () => finetuneLoop(model, features, tok.padId, p, {
    loss: (x, rows) => {
      const out = model.forward(x);
      return questionAnsweringLoss(out.startLogits, out.endLogits, Int32Array.from(rows, (r) => starts[r]!), Int32Array.from(rows, (r) => ends[r]!));
    },
    // finetuneLoop's evaluate is synchronous: the evaluation features are tokenized once, above.
    evaluate: () => {
      predictions = predictFromFeatures(model, evalSet, evalFeatures, tok.padId, po);
      const m: SquadMetrics = evaluateSquad(evalSet, predictions);
      return { exact_match: m.exact_match, f1: m.f1 };
    },
    main: 'f1',
    onBest: (r) => saveBestEpoch(o, model, r, { ...p, precision: o.precision ?? 'fp32' }, { 'predictions.json': Object.fromEntries(predictions) }),
    onStep: o.onStep,
    onEpoch: o.onEpoch,
    onStart: o.onStart,
    checkpoints: runCheckpoints(o, p, { precision: o.precision ?? 'fp32' }),
  }));
  return { epochs, best: keptEpoch(epochs, true), trainFeatures: features.length, evalQuestions: evalSet.length };
}

/** EM / F1 (percent) of a fine-tuned directory on a SQuAD v1.1 file, with the answers it gave. */
export async function evaluateQa(o: { model: string; data: string } & QaPredictOptions): Promise<SquadMetrics & { predictions: Map<string, string> }> {
  const model = loadForQuestionAnswering(o.model);
  const tok = tokenizerForModel(o.model);
  const examples = readSquad(o.data).examples;
  const predictions = await predictSquad(model, tok, examples, o);
  return { ...evaluateSquad(examples, predictions), predictions };
}
