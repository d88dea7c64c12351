// Inference batching: sequences are sorted by length, cut into batches under a row count and a
// token budget, padded to each batch's longest (dynamic padding), run, and the results put back in
// input order.
import { arena } from '../tensor/arena.js';
import { noGrad } from '../tensor/tensor.js';

export interface PaddedInputs {
  inputIds: Int32Array; // (B*T)
  attentionMask: Int32Array; // (B*T) 1 = token
  tokenTypeIds: Int32Array; // (B*T)
  batch: number;
  seqLen: number;
}

export interface Sequence {
  ids: ArrayLike<number>;
  typeIds?: ArrayLike<number>;
}

export function padSequences(seqs: Sequence[], padId: number): PaddedInputs {
  const B = seqs.length, T = Math.max(...seqs.map((s) => s.ids.length));
  const inputIds = new Int32Array(B * T).fill(padId);
  const attentionMask = new Int32Array(B * T);
  const tokenTypeIds = new Int32Array(B * T);
  seqs.forEach((s, b) => {
    inputIds.set(s.ids, b * T);
    attentionMask.fill(1, b * T, b * T + s.ids.length);
    if (s.typeIds) tokenTypeIds.set(s.typeIds, b * T);
  });
  return { inputIds, attentionMask, tokenTypeIds, batch: B, seqLen: T };
}

/**
 * Most padded tokens (rows x longest) in one inference batch: activation memory grows with it, not
 * with the row count, so a batch of long inputs takes fewer rows than one of short ones.
 */
export const INFER_BATCH_TOKENS = 8192;

/**
 * Length-sorted batches (index lists into `seqs`) of at most `batchSize` sequences and at most
 * `maxTokens` padded tokens each; a single sequence longer than the budget goes alone.
 */
export function tokenBudgetBatches(lengths: readonly number[], batchSize: number, maxTokens = INFER_BATCH_TOKENS): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be an integer >= 1, got ${batchSize}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const batches: number[][] = [];
  let cur: number[] = [];
  for (const i of order) {
    // Sorted ascending: the newcomer is the longest of its batch, so it sets the padded length.
    if (cur.length > 0 && (cur.length === batchSize || (cur.length + 1) * lengths[i]! > maxTokens)) {
      batches.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

/**
 * Run `fn` over length-sorted batches of at most `batchSize` sequences and INFER_BATCH_TOKENS padded
 * tokens; `fn` returns one result per sequence of its batch (row order), computed inside the
 * activation arena and without gradients, so results must be copied out of tensors before returning.
 */
export function mapBatches<R>(seqs: Sequence[], batchSize: number, padId: number, fn: (x: PaddedInputs) => R[]): R[] {
  const out = new Array<R>(seqs.length);
  for (const idx of tokenBudgetBatches(seqs.map((s) => s.ids.length), batchSize)) {
    const rows = arena.reuse(() => noGrad(() => fn(padSequences(idx.map((j) => seqs[j]!), padId))));
    idx.forEach((j, r) => (out[j] = rows[r]!));
  }
  return out;
}
