// Held-out masked-LM accuracy and perplexity of a BERT or DistilBERT (HF run_mlm's evaluation):
// the same masking as training (15% targets; 80% [MASK], 10% random, 10% kept) but uniform over
// tokens (no smoothing) and from a fixed seed, so every model is scored on the very same targets.
// Legend: B batch, T padded length, n masked targets, V vocabulary.
import type { Dataset } from '../data/dataset.js';
import type { BertForMaskedLM } from '../models/bert.js';
import type { DistilBertForMaskedLM } from '../models/distilbert.js';
import { arena } from '../tensor/arena.js';
import { noGrad } from '../tensor/tensor.js';
import { checkTokenizerFits } from '../text/fit.js';
import { Rng } from '../data/rng.js';
import { DEFAULT_MASKING, prepareBatchMlm, tokenWeights, type MaskedBatch } from '../train/masking.js';

export interface MlmEval {
  /** Share of masked targets whose arg-max prediction is the original token. */
  mlm_accuracy: number;
  /** exp(mean cross-entropy over the targets). */
  perplexity: number;
  loss: number;
  targets: number;
  sequences: number;
}

export interface MlmEvalOptions {
  /** Score the first this many sequences of the (shuffled) dataset; default all. */
  maxSequences?: number;
  batchSize?: number;
  seed?: number;
  onBatch?: (done: number, total: number) => void;
}

/** Cross-entropy and arg-max hit of one row of logits (V) against `target`. */
function scoreRow(row: Float32Array, target: number): { nll: number; hit: boolean } {
  let max = -Infinity, arg = 0;
  for (let v = 0; v < row.length; v++) if (row[v]! > max) (max = row[v]!), (arg = v);
  let sum = 0;
  for (let v = 0; v < row.length; v++) sum += Math.exp(row[v]! - max);
  return { nll: Math.log(sum) + max - row[target]!, hit: arg === target };
}

/** The fixed-seed masked batches of the first N sequences: (batch, flat indices of its targets). */
export function* evalBatches(ds: Dataset, N: number, batchSize: number, seed: number): Generator<{ batch: MaskedBatch; positions: Int32Array }> {
  const special = ds.meta.special_ids;
  const weights = tokenWeights(new Float64Array(ds.meta.vocab_size).fill(1), 0, special);
  const rng = new Rng(seed);
  for (let start = 0; start < N; start += batchSize) {
    const seqs = Array.from({ length: Math.min(batchSize, N - start) }, (_, i) => ds.get(start + i));
    const T = Math.max(...seqs.map((s) => s.length));
    const ids = new Int32Array(seqs.length * T).fill(special.pad);
    seqs.forEach((s, b) => ids.set(s, b * T));
    const batch = prepareBatchMlm(ids, Int32Array.from(seqs, (s) => s.length), T, weights, special, DEFAULT_MASKING, rng);
    const positions = Int32Array.from(Array.from(batch.mlmLabels).flatMap((l, i) => (l === -100 ? [] : [i])));
    yield { batch, positions };
  }
}

export function evaluateMlm(model: BertForMaskedLM | DistilBertForMaskedLM, ds: Dataset, o: MlmEvalOptions = {}): MlmEval {
  const V = model.config.vocab_size;
  checkTokenizerFits(ds.meta.vocab_size, `${ds.dir}/meta.json`, V, 'the model');
  const N = Math.min(ds.size, o.maxSequences ?? ds.size), batchSize = o.batchSize ?? 32;
  if (N === 0) throw new Error(`${ds.dir}: no sequences to evaluate`);
  const wasTraining = model.training;
  model.eval();
  let nll = 0, hits = 0, targets = 0, done = 0;
  try {
    for (const { batch: b, positions } of evalBatches(ds, N, batchSize, o.seed ?? 12345)) {
      done += b.batch;
      o.onBatch?.(done, N);
      if (positions.length === 0) continue;
      arena.reuse(() => noGrad(() => {
        const logits = model.forward({ ...b, mlmPositions: positions }).logits.data; // (n, V)
        positions.forEach((p, r) => {
          const s = scoreRow(logits.subarray(r * V, (r + 1) * V), b.mlmLabels[p]!);
          nll += s.nll;
          if (s.hit) hits++;
        });
      }));
      targets += positions.length;
    }
  } finally {
    if (wasTraining) model.train();
  }
  const loss = nll / Math.max(targets, 1);
  return { mlm_accuracy: hits / Math.max(targets, 1), perplexity: Math.exp(loss), loss, targets, sequences: N };
}
