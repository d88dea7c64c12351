// Cutting and filtering of encoded lines (docs/method.md §4), after the reference LmSeqsDataset
// (examples/research_projects/distillation/lm_seqs_dataset.py): `remove_long_sequences`, then
// `remove_empty_sequences`, then `remove_unknown_sequences`, each applied to the pieces that
// splitting produced.

/** Why a piece was dropped, or null when it is kept. */
export type DropReason = 'too_short' | 'too_unknown' | null;

/**
 * Cut a `[CLS] t1 ... tn [SEP]` sequence longer than `maxLen` into pieces of at most `maxLen`:
 * the inner tokens t1..tn go in chunks of `maxLen - 2`, and each chunk gets [CLS] in front and
 * [SEP] behind, so every piece but the last is exactly `maxLen` long. Sequences that fit are
 * returned as they are (one piece).
 *
 * The reference `divide_chunks(seq_, max_len - 2)` chunks the whole sequence, [CLS]/[SEP]
 * included, and inserts [CLS]/[SEP] only where a chunk does not already start/end with them: its
 * first piece is then `maxLen - 1` long and the boundaries sit one token earlier than here. The
 * pieces carry the same inner tokens in the same order; we chunk the inner tokens so that every
 * full piece uses the model's whole context and an inner token that happens to equal [SEP] (a
 * literal "[SEP]" in the text) cannot suppress the closing [SEP].
 */
export function splitLong(ids: ArrayLike<number>, maxLen: number, clsId: number, sepId: number): Int32Array[] {
  if (ids.length <= maxLen) return [Int32Array.from(ids)];
  const inner = maxLen - 2;
  const pieces: Int32Array[] = [];
  for (let start = 1; start < ids.length - 1; start += inner) {
    const end = Math.min(start + inner, ids.length - 1);
    const p = new Int32Array(end - start + 2);
    p[0] = clsId;
    for (let i = start; i < end; i++) p[i - start + 1] = ids[i]!;
    p[p.length - 1] = sepId;
    pieces.push(p);
  }
  return pieces;
}

/**
 * Keep a piece of length >= `minLen` (the reference keeps `lengths > 11`, i.e. minLen 12) whose
 * share of [UNK] is below `maxUnkRatio`. As the reference `remove_unknown_sequences`
 * (`np.count_nonzero(a == unk_token_id) / lengths < 0.5`), the share is the number of [UNK] ids
 * over the whole piece length, [CLS] and [SEP] included in the denominator, so a piece is dropped
 * when unk >= maxUnkRatio * length. The short check runs first: a piece that is both short and
 * unknown-heavy counts as too_short, as in the reference order.
 */
export function dropReason(piece: ArrayLike<number>, minLen: number, maxUnkRatio: number, unkId: number): DropReason {
  if (piece.length < minLen) return 'too_short';
  let unk = 0;
  for (let i = 0; i < piece.length; i++) if (piece[i] === unkId) unk++;
  return unk / piece.length >= maxUnkRatio ? 'too_unknown' : null;
}
