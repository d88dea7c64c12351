// The Distiller (distiller.py): a BERT teacher, a DistilBERT student and the triple loss, on the
// shared masked-LM loop (src/train/trainer.ts). Options keep the reference names and defaults.
import type { DistilBertConfig } from '../io/config.js';
import type { BertForMaskedLM } from '../models/bert.js';
import type { DistilBertForMaskedLM } from '../models/distilbert.js';
import type { Module } from '../models/module.js';
import { loadWeightsInto, saveDistilBert } from '../models/pretrained.js';
import { TRAIN_SCHEMA, type TrainParams } from '../train/params.js';
import { defaultsOf, type Schema } from '../train/schema.js';
import { Trainer, type StepLosses, type TrainingData } from '../train/trainer.js';
import { MASKING_SCHEMA, type LossCounts, type MaskedBatch, type MaskingConfig, type SpecialIds } from '../train/masking.js';
import { TRIPLE_LOSS_SCHEMA, tripleLoss, type TripleLossConfig } from './triple_loss.js';

export type DistillParams = TrainParams & TripleLossConfig & MaskingConfig;

/** Every option of `distil distill`: training, triple loss and masking. */
export const DISTILL_SCHEMA: Schema<DistillParams> = { ...TRAIN_SCHEMA, ...TRIPLE_LOSS_SCHEMA, ...MASKING_SCHEMA };

export const DISTILL_DEFAULTS: DistillParams = defaultsOf(DISTILL_SCHEMA);

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
