// `distil pretrain`: masked-LM pretraining of a BERT teacher from scratch (no pretrained teacher
// can be downloaded here) on the same loop as distillation; the loss is the MLM cross-entropy,
// the MLM head projecting only the masked positions.
import type { BertConfig } from '../io/config.js';
import type { BertForMaskedLM } from '../models/bert.js';
import { loadWeightsInto, saveBert } from '../models/pretrained.js';
import type { LossCounts, MaskedBatch, MaskingConfig, SpecialIds } from './masking.js';
import { crossEntropy, weightedSum } from '../tensor/ops.js';
import type { TrainParams } from './params.js';
import { Trainer, type StepLosses, type TrainingData } from './trainer.js';

export class MlmPretrainer extends Trainer {
  constructor(readonly bert: BertForMaskedLM, readonly bertConfig: BertConfig, data: TrainingData, params: TrainParams,
    masking: MaskingConfig, special: SpecialIds, out: string) {
    super(bert, data, params, masking, special, out, bert.config.max_position_embeddings, { ...params, ...masking });
  }

  loss(b: MaskedBatch, whole: LossCounts): StepLosses {
    const targets: number[] = [];
    for (let i = 0; i < b.mlmLabels.length; i++) if (b.mlmLabels[i] !== -100) targets.push(i);
    const positions = Int32Array.from(targets);
    const out = this.bert.forward({ inputIds: b.inputIds, attentionMask: b.attentionMask, batch: b.batch, seqLen: b.seqLen, mlmPositions: positions });
    // The logits feed this loss alone: their gradient may take their memory.
    const ce = crossEntropy(out.logits, positions.map((i) => b.mlmLabels[i]!), -100, { consume: true });
    // This pass's share of the micro-batch's mean over all its targets.
    const loss = weightedSum([[ce, positions.length / Math.max(whole.targets, 1)]]);
    return { loss, terms: { loss: loss.item(), loss_mlm: loss.item() } };
  }

  saveModel(dir: string): void {
    saveBert(dir, this.bert, this.bertConfig);
  }

  loadModel(dir: string): void {
    loadWeightsInto(this.bert, dir);
  }
}
