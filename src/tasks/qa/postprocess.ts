// Answers from start/end logits, as transformers' run_qa.py (utils_qa.postprocess_qa_predictions)
// and the question-answering pipeline pick them: per feature the n_best highest start and end
// tokens, spans kept only inside the context, end >= start and at most max_answer_length tokens;
// the best span over all features of an example gives the answer's character range in the context.
import type { QaFeature, QaInput } from './features.js';

export interface QaPostprocessOptions {
  /** Start and end candidates per feature (run_qa n_best_size). Default 20. */
  nBest?: number;
  /** Longest answer in tokens (run_qa 30; the HF pipeline's max_answer_len is 15). Default 30. */
  maxAnswerLength?: number;
  /**
   * 'logit': start + end logit (run_qa); 'probability': softmax(start) * softmax(end) over the
   * feature's context tokens and [CLS] (the HF pipeline), which differs only across windows. Default 'logit'.
   */
  rankBy?: 'logit' | 'probability';
}

/** Start and end logits of one feature, one entry per token of `feature.ids` (padding dropped). */
export interface FeatureLogits {
  start: ArrayLike<number>;
  end: ArrayLike<number>;
}

export interface QaSpan {
  text: string;
  /** [start, end) characters of the answer in the context. */
  start: number;
  end: number;
  /** start + end logit. */
  logit: number;
  /** softmax(start)[i] * softmax(end)[j] within the feature, as the HF pipeline's score. */
  probability: number;
  /** Index of the feature (in the list given) the span comes from, and its tokens there. */
  feature: number;
  startToken: number;
  endToken: number;
}

/** Indices of the k largest values, largest first (ties: lower index first, like a stable argsort). */
function topIndices(x: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: x.length }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b).slice(0, k);
}

/** Softmax over the tokens where `keep` is true (others get 0), in float64. */
function maskedSoftmax(x: ArrayLike<number>, keep: (i: number) => boolean): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < x.length; i++) if (keep(i)) mx = Math.max(mx, x[i]!);
  const p = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) if (keep(i)) sum += p[i] = Math.exp(x[i]! - mx);
  for (let i = 0; i < x.length; i++) p[i]! /= sum;
  return p;
}

/**
 * Valid spans of the features of one example, best first (by `rankBy`). `features[i].offsets` map
 * tokens to `context` characters; `logits[i]` are that feature's logits. Empty when no span is valid.
 */
export function answerSpans(context: string, features: ReadonlyArray<Pick<QaFeature, 'offsets'>>, logits: ReadonlyArray<FeatureLogits>,
  o: QaPostprocessOptions = {}): QaSpan[] {
  const nBest = o.nBest ?? 20, maxLen = o.maxAnswerLength ?? 30;
  if (features.length !== logits.length) throw new Error(`answerSpans: ${features.length} features but ${logits.length} logit rows`);
  const spans: QaSpan[] = [];
  features.forEach((f, fi) => {
    const { start, end } = logits[fi]!;
    const T = f.offsets.length;
    if (start.length < T || end.length < T) throw new Error(`answerSpans: feature ${fi} has ${T} tokens but ${start.length} start / ${end.length} end logits`);
    const s = Array.prototype.slice.call(start, 0, T) as number[], e = Array.prototype.slice.call(end, 0, T) as number[];
    // The pipeline's softmax covers the context tokens and [CLS] (p_mask 0), then drops [CLS] from the spans.
    const keep = (i: number): boolean => i === 0 || f.offsets[i] != null;
    const ps = maskedSoftmax(s, keep), pe = maskedSoftmax(e, keep);
    for (const i of topIndices(s, nBest))
      for (const j of topIndices(e, nBest)) {
        const a = f.offsets[i], b = f.offsets[j];
        if (a == null || b == null || j < i || j - i + 1 > maxLen) continue;
        spans.push({ text: context.slice(a[0], b[1]), start: a[0], end: b[1], logit: s[i]! + e[j]!, probability: ps[i]! * pe[j]!, feature: fi, startToken: i, endToken: j });
      }
  });
  const key = o.rankBy === 'probability' ? (x: QaSpan) => x.probability : (x: QaSpan) => x.logit;
  return spans.sort((x, y) => key(y) - key(x));
}

/**
 * The best span of each example (by example index; null when no span is valid, which run_qa scores
 * as the empty answer). `features` and `logits` are parallel; features of an example may be anywhere.
 */
export function bestAnswers(examples: ReadonlyArray<QaInput>, features: readonly QaFeature[], logits: ReadonlyArray<FeatureLogits>,
  o: QaPostprocessOptions = {}): Array<QaSpan | null> {
  if (features.length !== logits.length) throw new Error(`bestAnswers: ${features.length} features but ${logits.length} logit rows`);
  const byExample = examples.map((): number[] => []);
  features.forEach((f, i) => {
    if (!byExample[f.exampleIndex]) throw new Error(`bestAnswers: feature ${i} refers to example ${f.exampleIndex} of ${examples.length}`);
    byExample[f.exampleIndex]!.push(i);
  });
  return examples.map((ex, k) => {
    const idx = byExample[k]!;
    const spans = answerSpans(ex.context, idx.map((i) => features[i]!), idx.map((i) => logits[i]!), o);
    if (!spans[0]) return null;
    return { ...spans[0], feature: idx[spans[0].feature]! };
  });
}
