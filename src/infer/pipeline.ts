// Inference pipelines named as transformers.js names them: `pipeline(task, modelDir)` returns a
// function over one input or a list, batching with dynamic padding and length sorting.
import { loadMaskedLM, type MaskedLM } from '../models/pretrained.js';
import { loadForQuestionAnswering, loadForSequenceClassification, type SequenceClassifier } from '../models/task_pretrained.js';
import { classifierLogits } from '../tasks/classification/finetune.js';
import { BertTokenizer } from '../text/tokenizer.js';
import { tokenizerForModel } from '../text/fit.js';
import type { QaInput } from '../tasks/qa/features.js';
import { mapBatches, type Sequence } from '../data/padding.js';
import { answerQuestions, type QaPipelineOptions, type QaResult } from './qa_pipeline.js';

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

export interface PipelineOptions {
  batchSize?: number;
  /** Longest input in tokens (longer inputs are cut, keeping [CLS] ... [SEP]). */
  maxLength?: number;
}

function softmaxRow(x: Float32Array): Float64Array {
  let mx = -Infinity;
  for (const v of x) mx = Math.max(mx, v);
  const e = Float64Array.from(x, (v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function topK(p: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b]! - p[a]!).slice(0, k);
}

async function encodeAll(tok: BertTokenizer, texts: string[], maxLength: number): Promise<Sequence[]> {
  const ids = await tok.encodeBatch(texts);
  return ids.map((s) => ({ ids: s.length > maxLength ? [...s.slice(0, maxLength - 1), tok.sepId] : s }));
}

/** fill-mask: the top-k fillers of the first [MASK] of each text. */
export async function fillMask(model: MaskedLM, tok: BertTokenizer, texts: string[], topk = 5, o: PipelineOptions = {}):
  Promise<FillMaskResult[][]> {
  const maxLength = o.maxLength ?? model.config.max_position_embeddings;
  const seqs = await encodeAll(tok, texts, maxLength);
  seqs.forEach((s, i) => {
    if (!Array.prototype.includes.call(s.ids, tok.maskId)) {
      const t = texts[i]!;
      throw new Error(`fill-mask: input ${i} has no [MASK] token within its first ${maxLength} tokens: ` +
        `${JSON.stringify(t.length > 80 ? `${t.slice(0, 80)}...` : t)}`);
    }
  });
  model.eval();
  const V = model.config.vocab_size;
  const scored = mapBatches(seqs, o.batchSize ?? 32, tok.padId, (x) => {
    const positions = Int32Array.from({ length: x.batch }, (_, b) => {
      const row = x.inputIds.subarray(b * x.seqLen, (b + 1) * x.seqLen);
      return b * x.seqLen + row.indexOf(tok.maskId);
    });
    const logits = model.forward({ ...x, mlmPositions: positions }).logits.data; // (B, V)
    return Array.from({ length: x.batch }, (_, b) => softmaxRow(logits.slice(b * V, (b + 1) * V)));
  });
  return scored.map((p, i) => {
    const ids = Array.from(seqs[i]!.ids);
    const at = ids.indexOf(tok.maskId);
    return topK(p, topk).map((token) => {
      const filled = ids.slice();
      filled[at] = token;
      return { score: p[token]!, token, token_str: tok.decode([token]), sequence: tok.decode(filled, { skipSpecialTokens: true }) };
    });
  });
}

export interface FeatureOptions extends PipelineOptions {
  pooling?: 'none' | 'mean' | 'cls';
  normalize?: boolean;
}

/** feature-extraction: pooled (or per-token) last hidden states, optionally L2-normalised. */
export async function extractFeatures(model: MaskedLM, tok: BertTokenizer, texts: string[], o: FeatureOptions = {}):
  Promise<Float32Array[]> {
  const seqs = await encodeAll(tok, texts, o.maxLength ?? model.config.max_position_embeddings);
  const pooling = o.pooling ?? 'none';
  model.eval();
  return mapBatches(seqs, o.batchSize ?? 32, tok.padId, (x) => {
    const states = model.encode(x);
    const h = states[states.length - 1]!; // (B, T, C)
    const C = h.shape[2]!, T = x.seqLen;
    return Array.from({ length: x.batch }, (_, b) => {
      const len = seqs.length ? x.attentionMask.subarray(b * T, (b + 1) * T).reduce((a, v) => a + v, 0) : 0;
      let v: Float32Array;
      if (pooling === 'cls') v = h.data.slice(b * T * C, b * T * C + C);
      else if (pooling === 'mean') {
        v = new Float32Array(C);
        for (let t = 0; t < len; t++) for (let c = 0; c < C; c++) v[c]! += h.data[(b * T + t) * C + c]! / len;
      } else v = h.data.slice(b * T * C, (b * T + len) * C);
      if (o.normalize) {
        const rows = v.length / C;
        for (let r = 0; r < rows; r++) {
          let n = 0;
          for (let c = 0; c < C; c++) n += v[r * C + c]! ** 2;
          const s = 1 / Math.max(Math.sqrt(n), 1e-12);
          for (let c = 0; c < C; c++) v[r * C + c]! *= s;
        }
      }
      return v;
    });
  });
}

export interface ClassificationResult {
  label: string;
  score: number;
}

/** text-classification: the top-k labels with softmax scores (regression: the value as score). */
export async function classifyTexts(model: SequenceClassifier, tok: BertTokenizer, texts: string[], topk = 1,
  o: PipelineOptions = {}): Promise<ClassificationResult[][]> {
  // Capped by the model's positions: a longer input has no position embedding (BERT's 512, a small model's fewer).
  const seqs = await encodeAll(tok, texts, Math.min(o.maxLength ?? 512, model.config.max_position_embeddings));
  const rows = classifierLogits(model, seqs, tok.padId, o.batchSize ?? 32);
  const names = model.labels.id2label;
  if (model.labels.problemType === 'regression') return rows.map((r) => [{ label: names[0] ?? 'LABEL_0', score: r[0]! }]);
  return rows.map((r) => {
    const p = softmaxRow(r);
    return topK(p, topk).map((i) => ({ label: names[i]!, score: p[i]! }));
  });
}

export type Task = 'fill-mask' | 'feature-extraction' | 'text-classification' | 'question-answering';

export type TextPipeline = (texts: string | string[], opts?: Record<string, unknown>) => Promise<unknown>;

/** question-answering: one {question, context} -> one result; a list -> a list. */
export type QaPipeline = {
  (input: QaInput, opts?: QaPipelineOptions): Promise<QaResult>;
  (inputs: QaInput[], opts?: QaPipelineOptions): Promise<QaResult[]>;
};

/**
 * transformers.js-style factory: `const unmasker = await pipeline('fill-mask', dir); await unmasker('Paris is the [MASK] of France.')`;
 * `const qa = await pipeline('question-answering', dir); await qa({ question, context })` -> {answer, score, start, end}.
 */
export async function pipeline(task: 'question-answering', modelDir: string): Promise<QaPipeline>;
export async function pipeline(task: Task, modelDir: string): Promise<TextPipeline>;
export async function pipeline(task: Task, modelDir: string): Promise<TextPipeline | QaPipeline> {
  const tok = tokenizerForModel(modelDir);
  if (task === 'question-answering') {
    const qa = loadForQuestionAnswering(modelDir);
    const run = async (input: QaInput | QaInput[], opts: QaPipelineOptions = {}): Promise<QaResult | QaResult[]> => {
      const out = await answerQuestions(qa, tok, Array.isArray(input) ? input : [input], opts);
      return Array.isArray(input) ? out : out[0]!;
    };
    return run as QaPipeline;
  }
  return textPipeline(task, modelDir, tok);
}

async function textPipeline(task: Exclude<Task, 'question-answering'>, modelDir: string, tok: BertTokenizer): Promise<TextPipeline> {
  const list = (t: string | string[]): string[] => (Array.isArray(t) ? t : [t]);
  if (task === 'text-classification') {
    const classifier = loadForSequenceClassification(modelDir);
    return async (texts, opts = {}) => {
      const out = await classifyTexts(classifier, tok, list(texts), (opts.topk as number | undefined) ?? 1, opts);
      return Array.isArray(texts) ? out : out[0];
    };
  }
  const model = loadMaskedLM(modelDir);
  switch (task) {
    case 'fill-mask':
      return async (texts, opts = {}) => {
        const out = await fillMask(model, tok, list(texts), (opts.topk as number | undefined) ?? 5, opts);
        return Array.isArray(texts) ? out : out[0];
      };
    case 'feature-extraction':
      return async (texts, opts = {}) => extractFeatures(model, tok, list(texts), opts as FeatureOptions);
    default:
      throw new Error(`pipeline: unknown task "${task as string}"; tasks: fill-mask, feature-extraction, text-classification, question-answering`);
  }
}
