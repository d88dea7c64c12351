// Inference batching: sequences are sorted by length, cut into batches, padded to each batch's
// longest (dynamic padding), run, and the results put back in input order.
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
 * Run `fn` over length-sorted batches of at most `batchSize` sequences; `fn` returns one result per
 * sequence of its batch (row order), computed inside the activation arena and without gradients,
 * so results must be copied out of tensors before returning.
 */
export function mapBatches<R>(seqs: Sequence[], batchSize: number, padId: number, fn: (x: PaddedInputs) => R[]): R[] {
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[a]!.ids.length - seqs[b]!.ids.length);
  const out = new Array<R>(seqs.length);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const rows = arena.reuse(() => noGrad(() => fn(padSequences(idx.map((j) => seqs[j]!), padId))));
    idx.forEach((j, r) => (out[j] = rows[r]!));
  }
  return out;
}
