// The distillation loss of one forward pass (docs/method.md §6; distiller.py `step`):
//   L = alpha_ce * L_ce + alpha_mlm * L_mlm + alpha_cos * L_cos (+ alpha_mse * L_mse)
// The reference projects every position onto the vocabulary and then selects rows; we project only
// the rows a term reads (non-pad positions, or the MLM targets with restrict_ce_to_mask), which gives
// the same values and gradients with less work. A term with weight 0 that would cost work is skipped
// (reported as null): without L_ce and L_mse only the MLM targets are projected, and without any
// teacher term (MLM alone, the paper's no-teacher baseline) the teacher does not run at all.
import type { BertForMaskedLM } from '../models/bert.js';
import type { DistilBertForMaskedLM } from '../models/distilbert.js';
import { cosineEmbedding, crossEntropy, gatherRows, klDivTemperature, mseSum, weightedSum } from '../tensor/ops.js';
import { noGrad, type Tensor } from '../tensor/tensor.js';
import { lossCounts, type LossCounts } from '../train/masking.js';
import { defaultsOf, isBool, isNumber, option, type Schema } from '../train/schema.js';

export interface TripleLossConfig {
  alpha_ce: number;
  alpha_mlm: number;
  alpha_cos: number;
  alpha_mse: number;
  temperature: number;
  /** KL (and MSE) only at the MLM targets instead of every non-pad token. */
  restrict_ce_to_mask: boolean;
}

/** The triple-loss options (the reference's defaults). */
export const TRIPLE_LOSS_SCHEMA: Schema<TripleLossConfig> = {
  alpha_ce: option(5.0, isNumber(0), 'weight of the soft-target KL loss L_ce'),
  alpha_mlm: option(2.0, isNumber(0), 'weight of the masked-LM loss L_mlm'),
  alpha_cos: option(1.0, isNumber(0), 'weight of the hidden-state cosine loss L_cos'),
  alpha_mse: option(0.0, isNumber(0), 'weight of the logit MSE loss L_mse'),
  temperature: option(2.0, isNumber(1e-6), 'softmax temperature of L_ce'),
  restrict_ce_to_mask: option(false, isBool, 'compute L_ce on the MLM targets only (default: every token)'),
};

export const DEFAULT_TRIPLE_LOSS: TripleLossConfig = defaultsOf(TRIPLE_LOSS_SCHEMA);

export interface MlmBatch {
  /** Input ids after masking (B*T). */
  inputIds: Int32Array;
  /** 1 = token, 0 = padding (B*T). */
  attentionMask: Int32Array;
  /** Original id at MLM targets, -100 elsewhere (B*T). */
  mlmLabels: Int32Array;
  batch: number;
  seqLen: number;
}

export interface TripleLossOutput {
  loss: Tensor;
  /** null when alpha_ce is 0 (not computed). */
  loss_ce: number | null;
  loss_mlm: number;
  /** null when alpha_cos is 0 (not computed). */
  loss_cos: number | null;
  /** null when alpha_mse is 0 (not computed). */
  loss_mse: number | null;
}

/** Flat indices i with pred(i), as Int32Array. */
function where(n: number, pred: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (pred(i)) out.push(i);
  return Int32Array.from(out);
}

/**
 * The triple loss of batch `b`. When `b` is some rows of a larger batch (one pass of a micro-batch
 * split to bound memory), `whole` holds that batch's counts: each term is then this part's share of
 * the whole batch's mean, and the parts' losses and gradients add up to the whole batch's.
 */
export function tripleLoss(student: DistilBertForMaskedLM, teacher: BertForMaskedLM, b: MlmBatch,
  cfg: TripleLossConfig, whole: LossCounts = lossCounts(b)): TripleLossOutput {
  const n = b.batch * b.seqLen;
  const tokens = where(n, (i) => b.attentionMask[i] !== 0);
  const targets = where(n, (i) => b.mlmLabels[i] !== -100);
  const logitTerms = cfg.alpha_ce > 0 || cfg.alpha_mse > 0;
  const projected = cfg.restrict_ce_to_mask || !logitTerms ? targets : tokens;
  const share = { tokens: tokens.length / Math.max(whole.tokens, 1), targets: targets.length / Math.max(whole.targets, 1) };
  const projectedShare = projected === targets ? share.targets : share.tokens;
  const projectedWhole = projected === targets ? whole.targets : whole.tokens;
  const input = { inputIds: b.inputIds, attentionMask: b.attentionMask, batch: b.batch, seqLen: b.seqLen, mlmPositions: projected };

  const t = logitTerms || cfg.alpha_cos > 0 ? noGrad(() => {
    const wasTraining = teacher.training;
    teacher.eval();
    try {
      return teacher.forward(input);
    } finally {
      teacher.train(wasTraining);
    }
  }) : null;
  const s = student.forward(input);
  const terms: Array<[Tensor, number]> = [];

  // L_mlm: hard targets; rows that are not MLM targets carry -100 and are ignored.
  const labels = projected.map((i) => b.mlmLabels[i]!);
  const lossMlm = crossEntropy(s.logits, labels, -100);
  terms.push([lossMlm, cfg.alpha_mlm * share.targets]);
  // L_ce: soft targets on the projected rows, batchmean over rows, times T^2.
  let ce: number | null = null;
  if (t && cfg.alpha_ce > 0) {
    const lossCe = klDivTemperature(s.logits, t.logits, cfg.temperature);
    ce = lossCe.item() * projectedShare;
    terms.push([lossCe, cfg.alpha_ce * projectedShare]);
  }
  // L_cos: 1 - cos between last hidden states at every non-pad position.
  let cos: number | null = null;
  if (t && cfg.alpha_cos > 0) {
    const C = s.hiddenStates[0]!.shape[2]!;
    const hs = s.hiddenStates[s.hiddenStates.length - 1]!.view([n, C]);
    const ht = t.hiddenStates[t.hiddenStates.length - 1]!.view([n, C]);
    const lossCos = cosineEmbedding(gatherRows(hs, tokens), noGrad(() => gatherRows(ht, tokens)));
    cos = lossCos.item() * share.tokens;
    terms.push([lossCos, cfg.alpha_cos * share.tokens]);
  }
  // L_mse: summed squared error of the selected logits / number of selected rows.
  let mse: number | null = null;
  if (t && cfg.alpha_mse > 0) {
    const lossMse = mseSum(s.logits, t.logits);
    mse = lossMse.item() / projectedWhole;
    terms.push([lossMse, cfg.alpha_mse / projectedWhole]);
  }
  return { loss: weightedSum(terms), loss_ce: ce, loss_mlm: lossMlm.item() * share.targets, loss_cos: cos, loss_mse: mse };
}
