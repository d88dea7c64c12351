// SQuAD features as transformers' run_qa.py builds them (prepare_train_features /
// prepare_validation_features with truncation="only_second", return_overflowing_tokens,
// return_offsets_mapping): [CLS] question [SEP] context-window [SEP], token types 0 / 1; a context
// longer than the window is cut into windows that overlap by doc_stride tokens; the question is cut
// to max_query_length tokens first (run_squad.py's max_query_length, 64), so it never crowds the
// context out. Each feature keeps its example index and the context character range of each token.
import type { Sequence } from '../../data/padding.js';
import type { BertTokenizer } from '../../text/tokenizer.js';
import type { SquadAnswer } from '../readers/squad.js';

export interface QaFeatureOptions {
  /** Tokens per feature, special tokens included (run_qa max_seq_length). Default 384. */
  maxLength?: number;
  /** Context tokens shared by consecutive windows (run_qa doc_stride). Default 128. */
  docStride?: number;
  /** Question tokens kept (the rest are cut). Default 64. */
  maxQueryLength?: number;
}

export const QA_FEATURE_DEFAULTS: Required<QaFeatureOptions> = { maxLength: 384, docStride: 128, maxQueryLength: 64 };

/** A question on a context: a SquadExample, or a pipeline input (no answers). */
export interface QaInput {
  question: string;
  context: string;
  answers?: ReadonlyArray<SquadAnswer>;
}

export interface QaFeature extends Sequence {
  ids: number[];
  typeIds: number[];
  /** Index of the example (question) in the list the features were built from. */
  exampleIndex: number;
  /** [start, end) characters of the context for context tokens; null for the question and [CLS]/[SEP] (run_qa sets those to None). */
  offsets: Array<[number, number] | null>;
  /** Token of the first answer's first / last character; 0 ([CLS]) when the answer is not wholly inside this window. */
  startPosition: number;
  endPosition: number;
}

interface Tokenized {
  ids: number[];
  offsets: Array<[number, number]>;
}

/** Content tokens of `text` (without [CLS]/[SEP]) and their character ranges. */
async function tokenize(tok: BertTokenizer, text: string): Promise<Tokenized> {
  const e = await tok.encode(text);
  return { ids: e.ids.slice(1, -1), offsets: e.offsets.slice(1, -1) };
}

/**
 * The answer's token span in a feature, run_qa.py's rule: [CLS] unless the context tokens of the
 * window cover [startChar, endChar); else the last token starting at or before startChar and the
 * first token ending at or after endChar.
 */
export function answerTokens(offsets: ReadonlyArray<[number, number] | null>, startChar: number, endChar: number): [number, number] {
  let first = offsets.findIndex((o) => o !== null);
  let last = offsets.length - 1;
  while (last >= 0 && offsets[last] === null) last--;
  if (first < 0 || offsets[first]![0] > startChar || offsets[last]![1] < endChar) return [0, 0];
  while (first + 1 <= last && offsets[first + 1]![0] <= startChar) first++;
  while (last - 1 >= first && offsets[last - 1]![1] >= endChar) last--;
  return [first, last];
}

/** Start token of each window over n context tokens, `room` tokens a window, `stride` shared (HF tokenizers' overflow). */
export function windowStarts(n: number, room: number, stride: number): number[] {
  const starts = [0];
  while (starts[starts.length - 1]! + room < n) starts.push(starts[starts.length - 1]! + room - stride);
  return starts;
}

/**
 * Features of `examples` (one or more per example, in example order). Answer positions come from
 * each example's first answer, as run_qa.py labels training features; evaluation ignores them.
 */
export async function qaFeatures(tok: BertTokenizer, examples: ReadonlyArray<QaInput>, opts: QaFeatureOptions = {}): Promise<QaFeature[]> {
  const o = {
    maxLength: opts.maxLength ?? QA_FEATURE_DEFAULTS.maxLength, docStride: opts.docStride ?? QA_FEATURE_DEFAULTS.docStride,
    maxQueryLength: opts.maxQueryLength ?? QA_FEATURE_DEFAULTS.maxQueryLength,
  };
  if (!(o.maxQueryLength >= 1)) throw new Error(`max_query_length must be >= 1, got ${o.maxQueryLength}`);
  const contexts = new Map<string, Tokenized>(); // SQuAD asks several questions per paragraph
  const out: QaFeature[] = [];
  for (let ex = 0; ex < examples.length; ex++) {
    const e = examples[ex]!;
    // run_qa.py strips leading spaces: some SQuAD questions have many, and they would only waste the window.
    const q = (await tokenize(tok, e.question.trimStart())).ids.slice(0, o.maxQueryLength);
    let c = contexts.get(e.context);
    if (!c) contexts.set(e.context, (c = await tokenize(tok, e.context)));
    const room = o.maxLength - q.length - 3;
    if (room <= o.docStride)
      throw new Error(`max_length ${o.maxLength} leaves ${room} context tokens after a ${q.length}-token question; ` +
        `it must exceed doc_stride ${o.docStride} (raise max_length or lower doc_stride / max_query_length)`);
    const answer = e.answers?.[0];
    for (const s of windowStarts(c.ids.length, room, o.docStride)) {
      const n = Math.min(room, c.ids.length - s);
      const ids = [tok.clsId, ...q, tok.sepId, ...c.ids.slice(s, s + n), tok.sepId];
      const typeIds = ids.map((_, i) => (i < q.length + 2 ? 0 : 1));
      const offsets: Array<[number, number] | null> = ids.map(() => null);
      for (let i = 0; i < n; i++) offsets[q.length + 2 + i] = c.offsets[s + i]!;
      const [startPosition, endPosition] = answer ? answerTokens(offsets, answer.answer_start, answer.answer_start + answer.text.length) : [0, 0];
      out.push({ ids, typeIds, exampleIndex: ex, offsets, startPosition, endPosition });
    }
  }
  return out;
}
