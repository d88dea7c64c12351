// Dynamic masking, redone for every batch (docs/method.md §5; distiller.py `prepare_batch_mlm`).
// Legend: B batch, T padded length.
import type { SpecialIds } from '../data/format.js';
import type { Rng } from '../data/rng.js';
import { defaultsOf, isNumber, option, type Schema } from './schema.js';

export type { SpecialIds };

export interface MaskingConfig {
  /** Share of real tokens that become targets (mlm_mask_prop 0.15). */
  mlm_mask_prop: number;
  /** Of the targets: replaced by [MASK] / kept / replaced by a random id (0.8 / 0.1 / 0.1). */
  word_mask: number;
  word_keep: number;
  word_rand: number;
  /** Exponent of the token weights: p(id) = max(count, 1)^-mlm_smoothing (0.7). */
  mlm_smoothing: number;
}

/** The masking options (the reference distiller's defaults). */
export const MASKING_SCHEMA: Schema<MaskingConfig> = {
  mlm_mask_prop: option(0.15, isNumber(0, 1), 'share of tokens chosen as MLM targets'),
  word_mask: option(0.8, isNumber(0, 1), 'share of targets replaced by [MASK]'),
  word_keep: option(0.1, isNumber(0, 1), 'share of targets kept unchanged'),
  word_rand: option(0.1, isNumber(0, 1), 'share of targets replaced by a random token'),
  mlm_smoothing: option(0.7, isNumber(0, 10), 'target sampling weight count^-mlm_smoothing (rarer tokens more often)'),
};

export const DEFAULT_MASKING: MaskingConfig = defaultsOf(MASKING_SCHEMA);

/** Per-id sampling weights; special tokens (and padding) get weight 0 (train.py `token_probs`). */
export function tokenWeights(counts: Float64Array, smoothing: number, special: SpecialIds): Float64Array {
  const w = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) w[i] = Math.max(counts[i]!, 1) ** -smoothing;
  for (const id of [special.cls, special.sep, special.pad, special.unk, special.mask]) if (id < w.length) w[id] = 0;
  return w;
}

export interface MaskedBatch {
  inputIds: Int32Array; // (B*T) after masking
  attentionMask: Int32Array; // (B*T) 1 = token
  mlmLabels: Int32Array; // (B*T) original id at targets, -100 elsewhere
  batch: number;
  seqLen: number;
}

/**
 * Choose ceil(mlm_mask_prop * sum(lengths)) targets by weighted sampling without replacement over
 * every position of the flattened batch (Efraimidis-Spirakis keys u^(1/w), the same distribution
 * as torch.multinomial without replacement), then apply the 80/10/10 replacement.
 * ids (B*T) padded with special.pad; lengths (B).
 */
export function prepareBatchMlm(ids: Int32Array, lengths: Int32Array, T: number, weights: Float64Array,
  special: SpecialIds, cfg: MaskingConfig, rng: Rng): MaskedBatch {
  const B = lengths.length, n = B * T, V = weights.length;
  let total = 0;
  for (const l of lengths) total += l;
  const attentionMask = new Int32Array(n);
  for (let b = 0; b < B; b++) attentionMask.fill(1, b * T, b * T + lengths[b]!);

  // Keys log(u) / w: the n_tgt largest are a weighted sample without replacement.
  const keys: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const w = weights[ids[i]!]!;
    if (w > 0) keys.push([Math.log(rng.next() || Number.MIN_VALUE) / w, i]);
  }
  const nTgt = Math.min(Math.ceil(cfg.mlm_mask_prop * total), keys.length);
  keys.sort((x, y) => y[0] - x[0]);

  const inputIds = ids.slice();
  const mlmLabels = new Int32Array(n).fill(-100);
  for (let k = 0; k < nTgt; k++) {
    const i = keys[k]![1];
    if (ids[i] === special.pad) continue; // as the reference: padding never becomes a target
    mlmLabels[i] = ids[i]!;
    const r = rng.next();
    if (r < cfg.word_mask) inputIds[i] = special.mask;
    else if (r >= cfg.word_mask + cfg.word_keep) inputIds[i] = rng.int(V);
  }
  return { inputIds, attentionMask, mlmLabels, batch: B, seqLen: T };
}

/** What each loss term averages over: counts of the whole batch when a pass sees some of its rows (trainer.ts). */
export interface LossCounts {
  tokens: number;
  targets: number;
}

/** Real tokens and MLM targets of a batch. */
export function lossCounts(b: { attentionMask: Int32Array; mlmLabels: Int32Array }): LossCounts {
  let tokens = 0, targets = 0;
  for (let i = 0; i < b.attentionMask.length; i++) {
    if (b.attentionMask[i] !== 0) tokens++;
    if (b.mlmLabels[i] !== -100) targets++;
  }
  return { tokens, targets };
}
