// question-answering pipeline (transformers QuestionAnsweringPipeline / transformers.js): each
// {question, context} is cut into windows like the training features, the span with the highest
// softmax(start) * softmax(end) over all windows is the answer, and its character range in the
// context is returned with it.
import type { QuestionAnswerer } from '../models/task_pretrained.js';
import { qaLogits } from '../tasks/qa/finetune.js';
import { qaFeatures, type QaInput } from '../tasks/qa/features.js';
import { bestAnswers } from '../tasks/qa/postprocess.js';
import type { BertTokenizer } from '../text/tokenizer.js';

export interface QaPipelineOptions {
  /** Tokens per window (default 384, HF's max_seq_len). */
  maxLength?: number;
  /** Tokens shared by consecutive windows (default min(128, maxLength / 2), as HF's doc_stride). */
  docStride?: number;
  /** Question tokens kept (default 64). */
  maxQueryLength?: number;
  /** Longest answer in tokens (default 15, HF's max_answer_len). */
  maxAnswerLength?: number;
  batchSize?: number;
}

export interface QaResult {
  answer: string;
  /** softmax(start) * softmax(end) within the answer's window. */
  score: number;
  /** [start, end) characters of the answer in the context. */
  start: number;
  end: number;
}

/** The answer to each question in its context; answer "" with score 0 when no span is valid (an empty context). */
export async function answerQuestions(model: QuestionAnswerer, tok: BertTokenizer, inputs: ReadonlyArray<QaInput>, o: QaPipelineOptions = {}):
  Promise<QaResult[]> {
  inputs.forEach((x, i) => {
    if (typeof x !== 'object' || x === null || typeof x.question !== 'string' || typeof x.context !== 'string')
      throw new TypeError(`question-answering: input ${i} must be {question: string, context: string}, got ${JSON.stringify(x)}`);
  });
  const maxLength = Math.min(o.maxLength ?? 384, model.config.max_position_embeddings);
  const docStride = o.docStride ?? Math.min(128, Math.floor(maxLength / 2));
  // HF's 64 question tokens (a sixth of its 384), a sixth of a smaller window: a long question then
  // still leaves the context more room than the stride (qaFeatures' rule) and windows advance by a
  // third of it, so a long question cannot fail, nor crawl through a long context, on a small model.
  const maxQueryLength = o.maxQueryLength ?? Math.max(1, Math.min(64, Math.floor(maxLength / 6)));
  const features = await qaFeatures(tok, inputs, { maxLength, docStride, maxQueryLength });
  const logits = qaLogits(model, features, tok.padId, o.batchSize ?? 32);
  const best = bestAnswers(inputs, features, logits, { nBest: 20, maxAnswerLength: o.maxAnswerLength ?? 15, rankBy: 'probability' });
  return best.map((s) => (s ? { answer: s.text, score: s.probability, start: s.start, end: s.end } : { answer: '', score: 0, start: 0, end: 0 }));
}
