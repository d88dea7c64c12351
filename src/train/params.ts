// Training options with the reference defaults (docs/method.md §7; train.py), as an option schema
// (schema.ts): read from flags, an options file or a library call's params, each checked.
import { defaultsOf, isBool, isNumber, option, type Schema } from './schema.js';

export interface TrainParams {
  /** Sequences per micro-batch (reference: 5 per GPU). */
  batch_size: number;
  /** Micro-batches per optimizer step (reference: 50). */
  gradient_accumulation_steps: number;
  n_epoch: number;
  /** Stop after this many optimizer steps (0: run n_epoch epochs). */
  max_steps: number;
  learning_rate: number;
  /** Share of optimizer steps with linear warmup. */
  warmup_prop: number;
  adam_epsilon: number;
  weight_decay: number;
  max_grad_norm: number;
  seed: number;
  /** Write a metrics line every this many optimizer steps. */
  log_interval: number;
  /** Checkpoint every this many optimizer steps (0: only per epoch and at the end). */
  checkpoint_interval: number;
  /** Checkpoints kept on disk (older ones are deleted). */
  keep_checkpoints: number;
  /** Length bins of 4 tokens per batch (grouped_batch_sampler.py). */
  group_by_size: boolean;
}

/** The training options: default (the reference's), check and doc of each. */
export const TRAIN_SCHEMA: Schema<TrainParams> = {
  batch_size: option(5, isNumber(1, 1e6, true), 'sequences per micro-batch'),
  gradient_accumulation_steps: option(50, isNumber(1, 1e6, true), 'micro-batches per optimizer step'),
  n_epoch: option(3, isNumber(1, 1e6, true), 'passes over the data'),
  max_steps: option(0, isNumber(0, 1e12, true), 'stop after this many optimizer steps (0: run n_epoch epochs)'),
  learning_rate: option(5e-4, isNumber(0, 1), 'peak learning rate of AdamW'),
  warmup_prop: option(0.05, isNumber(0, 1), 'share of optimizer steps with linear warmup (then linear decay to 0)'),
  adam_epsilon: option(1e-6, isNumber(0, 1), 'AdamW epsilon'),
  weight_decay: option(0.0, isNumber(0, 1), 'AdamW weight decay (not on biases and LayerNorm weights)'),
  max_grad_norm: option(5.0, isNumber(0), 'clip the global gradient norm to this value'),
  seed: option(56, isNumber(0, 2 ** 32 - 1, true), 'seed of data order, masking and dropout'),
  log_interval: option(1, isNumber(1, 1e9, true), 'append a metrics.jsonl line every this many optimizer steps'),
  checkpoint_interval: option(500, isNumber(0, 1e12, true), 'checkpoint every this many optimizer steps (0: per epoch only)'),
  keep_checkpoints: option(3, isNumber(1, 1e6, true), 'checkpoints kept on disk'),
  group_by_size: option(true, isBool, 'batch sequences of similar length (bins of 4 tokens)'),
};

export const TRAIN_DEFAULTS: TrainParams = defaultsOf(TRAIN_SCHEMA);
