// Head importance scores (Michel et al. 2019 §4.1; HF bertology run_bertology.py
// compute_heads_importance): I_h = E_x |d L(x) / d m_h|, the sensitivity of the task loss to a gate
// m_h on each head's context, taken at m = 1. Accumulated over batches of labelled data with the
// model in eval mode (no dropout, as bertology runs it), divided by the number of tokens seen, then
// normalised per layer by the L2 norm (§4.2, "important for good results") and min-max over all
// heads to [0, 1], as bertology does unless told not to.
// Legend: L layers, H heads per layer in the config, H' heads a layer keeps.
import type { Sequence } from '../data/padding.js';
import { padSequences } from '../data/padding.js';
import type { SequenceClassifier } from '../models/task_pretrained.js';
import { arena } from '../tensor/arena.js';
import { backward, Tensor } from '../tensor/tensor.js';
import { encoderLayout, headCounts, remainingHeads } from './prune_heads.js';

export interface ImportanceOptions {
  /** Sequences per batch (default 32). */
  batchSize?: number;
  /** Divide each layer's scores by their L2 norm (default true; bertology --dont_normalize_importance_by_layer). */
  normalizeByLayer?: boolean;
  /** Rescale all scores to [0, 1] (default true; bertology --dont_normalize_global_importance). */
  normalizeGlobal?: boolean;
  onBatch?: (done: number, total: number) => void;
}

/**
 * Importance (L x H, each layer's heads in their original numbering; NaN for heads pruned already)
 * of every head of `model` for its loss on `seqs` with `labels` (class ids, or values for regression).
 * Each batch's |gradient| is added, as the paper's expectation over examples; bertology instead adds
 * a head mask gradient it never zeroes, i.e. |running sum|.
 */
export function headImportance(model: SequenceClassifier, seqs: Sequence[], labels: Int32Array | Float32Array, padId: number,
  o: ImportanceOptions = {}): number[][] {
  if (seqs.length === 0) throw new Error('head importance needs at least one labelled example');
  if (labels.length !== seqs.length) throw new Error(`head importance: ${labels.length} labels for ${seqs.length} sequences`);
  const layout = encoderLayout(model), counts = headCounts(layout);
  const bs = o.batchSize ?? 32, batches = Math.ceil(seqs.length / bs);
  const sum = counts.map((h) => new Float64Array(h)); // (L, H')
  let tokens = 0;
  model.eval();
  for (let b = 0; b < batches; b++) {
    const rows = Array.from({ length: Math.min(bs, seqs.length - b * bs) }, (_, i) => b * bs + i);
    arena.reuse(() => {
      const x = padSequences(rows.map((r) => seqs[r]!), padId);
      const masks = counts.map((h) => new Tensor(new Float32Array(h).fill(1), [h], true)); // (H') per layer
      const batchLabels = labels instanceof Int32Array ? Int32Array.from(rows, (r) => labels[r]!) : Float32Array.from(rows, (r) => labels[r]!);
      backward(model.loss(model.forward({ ...x, headMask: masks }).logits, batchLabels));
      masks.forEach((m, l) => m.grad?.forEach((g, h) => (sum[l]![h] += Math.abs(g))));
      for (const t of x.attentionMask) tokens += t;
    });
    o.onBatch?.(b + 1, batches);
  }
  // Parameters with gradients enabled received some too; they are no result of this pass.
  model.params.zeroGrad();
  const scores = sum.map((row) => Array.from(row, (v) => v / tokens));
  if (o.normalizeByLayer ?? true)
    for (const row of scores) {
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      row.forEach((v, h) => (row[h] = v / (norm + 1e-20)));
    }
  if (o.normalizeGlobal ?? true) {
    const all = scores.flat();
    const lo = Math.min(...all), range = Math.max(...all) - lo;
    // One head left, or all equal: bertology would divide 0 by 0; every head is then as important.
    for (const row of scores) row.forEach((v, h) => (row[h] = range > 0 ? (v - lo) / range : 1));
  }
  return scores.map((row, l) => {
    const full = new Array<number>(layout.heads).fill(NaN);
    remainingHeads(layout, l).forEach((orig, h) => (full[orig] = row[h]!));
    return full;
  });
}
