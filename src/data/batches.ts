// Length-grouped batches (docs/method.md §4; the reference's grouped_batch_sampler.py): sequences fall into
// length bins every 4 tokens (bin edges 3, 7, 11, ... below the model maximum); a random order of
// the dataset is walked and each bin's buffer is emitted when it holds batch_size sequences; the
// leftovers at the end are merged in bin order, so every sequence is used once per epoch.
import { Rng } from './rng.js';

/** Bin of each length: bisect_right over the edges 3, 7, 11, ... < maxLen. */
export function lengthGroups(lengths: Int32Array, maxLen: number): Int32Array {
  const edges: number[] = [];
  for (let e = 3; e < maxLen; e += 4) edges.push(e);
  return lengths.map((l) => {
    let lo = 0, hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! <= l) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/** The batches (lists of sequence indices) of one epoch, from a permutation seeded by `seed`. */
export function epochBatches(groups: Int32Array, batchSize: number, seed: number): Int32Array[] {
  const order = new Rng(seed).permutation(groups.length);
  const buffers = new Map<number, number[]>();
  const batches: Int32Array[] = [];
  for (const idx of order) {
    const g = groups[idx]!;
    let buf = buffers.get(g);
    if (!buf) buffers.set(g, (buf = []));
    buf.push(idx);
    if (buf.length === batchSize) {
      batches.push(Int32Array.from(buf));
      buffers.delete(g);
    }
  }
  let rest: number[] = [];
  for (const g of [...buffers.keys()].sort((a, b) => a - b)) {
    rest.push(...buffers.get(g)!);
    while (rest.length >= batchSize) {
      batches.push(Int32Array.from(rest.slice(0, batchSize)));
      rest = rest.slice(batchSize);
    }
  }
  if (rest.length > 0) batches.push(Int32Array.from(rest));
  return batches;
}

export interface PaddedBatch {
  ids: Int32Array; // (B*T), padded with padId
  lengths: Int32Array; // (B)
  seqLen: number; // T = longest sequence of the batch
}

/** Pad the sequences of one batch to its longest (lm_seqs_dataset.py `batch_sequences`). */
export function collate(seqs: ArrayLike<number>[], padId: number): PaddedBatch {
  const T = Math.max(...seqs.map((s) => s.length));
  const ids = new Int32Array(seqs.length * T).fill(padId);
  seqs.forEach((s, b) => ids.set(s as ArrayLike<number>, b * T));
  return { ids, lengths: Int32Array.from(seqs, (s) => s.length), seqLen: T };
}
