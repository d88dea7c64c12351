// The Distiller (distiller.py): a BERT teacher, a DistilBERT student and the triple loss, on the
// shared masked-LM loop (src/train/trainer.ts). Options keep the reference names and defaults.
import type { DistilBertConfig } from '../io/config.js';
import type { BertForMaskedLM } from '../models/bert.js';
import type { DistilBertForMaskedLM } from '../models/distilbert.js';
import type { Module } from '../models/module.js';
import { loadWeightsInto, saveDistilBert } from '../models/pretrained.js';
import { isBool, isNumber, TRAIN_CHECKS, TRAIN_DEFAULTS, type TrainParams } from '../train/params.js';
import { Trainer, type StepLosses, type TrainingData } from '../train/trainer.js';
import { DEFAULT_MASKING, type LossCounts, type MaskedBatch, type MaskingConfig, type SpecialIds } from '../train/masking.js';
import { DEFAULT_TRIPLE_LOSS, tripleLoss, type TripleLossConfig } from './triple_loss.js';

export type DistillParams = TrainParams & TripleLossConfig & MaskingConfig;

export const DISTILL_DEFAULTS: DistillParams = { ...TRAIN_DEFAULTS, ...DEFAULT_TRIPLE_LOSS, ...DEFAULT_MASKING };

export const DISTILL_CHECKS = {
  ...TRAIN_CHECKS,
  alpha_ce: isNumber(0), alpha_mlm: isNumber(0), alpha_cos: isNumber(0), alpha_mse: isNumber(0),
  temperature: isNumber(1e-6), restrict_ce_to_mask: isBool,
  mlm_mask_prop: isNumber(0, 1), word_mask: isNumber(0, 1), word_keep: isNumber(0, 1), word_rand: isNumber(0, 1),
  mlm_smoothing: isNumber(0, 10),
};

export class Distiller extends Trainer {
  constructor(
    readonly teacher: BertForMaskedLM,
    readonly student: DistilBertForMaskedLM,
    readonly studentConfig: DistilBertConfig,
    data: TrainingData,
    readonly dparams: DistillParams,
    special: SpecialIds,
    out: string,
  ) {
    checkPair(teacher, student, dparams);
    super(student, data, dparams, dparams, special, out, student.config.max_position_embeddings, { ...dparams });
    teacher.eval();
  }

  loss(batch: MaskedBatch, whole: LossCounts): StepLosses {
    const out = tripleLoss(this.student, this.teacher, batch, this.dparams, whole);
    // Terms with weight 0 are not computed (null) and not logged.
    const terms: Record<string, number> = { loss: out.loss.item() };
    for (const k of ['loss_ce', 'loss_mlm', 'loss_cos', 'loss_mse'] as const) if (out[k] !== null) terms[k] = out[k];
    return { loss: out.loss, terms };
  }

  protected override frozenModules(): Array<[string, Module]> {
    return [['teacher', this.teacher]];
  }

  saveModel(dir: string): void {
    saveDistilBert(dir, this.student, this.studentConfig);
  }

  loadModel(dir: string): void {
    loadWeightsInto(this.student, dir);
  }
}

/** The triple loss compares logits over one vocabulary and hidden states of one width. */
function checkPair(t: BertForMaskedLM, s: DistilBertForMaskedLM, p: DistillParams): void {
  if (t.config.vocab_size !== s.config.vocab_size)
    throw new Error(`teacher vocab_size ${t.config.vocab_size} != student vocab_size ${s.config.vocab_size}: they must share the tokenizer`);
  if (p.alpha_cos > 0 && t.config.hidden_size !== s.config.dim)
    throw new Error(`teacher hidden_size ${t.config.hidden_size} != student dim ${s.config.dim}: the cosine loss needs equal widths (or --alpha-cos 0)`);
  const sum = p.word_mask + p.word_keep + p.word_rand;
  if (Math.abs(sum - 1) > 1e-9) throw new Error(`word_mask + word_keep + word_rand must be 1, got ${sum}`);
}
