// The fine-tuning loop for sequence classification and regression (HF Trainer defaults where the
// issue is silent): AdamW with linear warmup and decay, shuffled batches with dynamic padding,
// evaluation after every epoch, the best epoch kept. With checkpoints (checkpoints.ts) a run can be
// resumed exactly, and SIGINT / SIGTERM stop it after the current step with a checkpoint written.
import type { Precision } from '../tensor/precision.js';
import type { EncoderInput } from '../models/bert.js';
import { arena } from '../tensor/arena.js';
import { backward, type Tensor } from '../tensor/tensor.js';
import { AdamW } from '../train/adamw.js';
import { deriveSeed, Rng } from '../data/rng.js';
import { learningRate, warmupSteps } from '../train/schedule.js';
import { padSequences, type Sequence } from '../data/padding.js';
import { native } from '../tensor/native.js';
import { defaultsOf, isNumber, option, type Schema } from '../train/schema.js';
import { Interrupted } from '../train/trainer.js';
import type { TaskModel } from '../models/task_pretrained.js';
import { FinetuneCheckpoints, type CheckpointOptions, type LoopState } from './checkpoints.js';

export interface FinetuneParams {
  learning_rate: number;
  batch_size: number;
  eval_batch_size: number;
  n_epoch: number;
  max_length: number;
  /** Share of optimizer steps with linear warmup. */
  warmup_prop: number;
  weight_decay: number;
  max_grad_norm: number;
  seed: number;
  /** Optimizer steps between checkpoints (0: only at the end of each epoch). */
  checkpoint_interval: number;
  /** Checkpoints kept on disk. */
  keep_checkpoints: number;
}

/** Parameters that may change between a run and its resume (they do not change what is computed). */
export const RESUMABLE_CHANGES: readonly string[] = ['checkpoint_interval', 'keep_checkpoints', 'eval_batch_size'];

/** The fine-tuning options (HF Trainer's defaults where the reference is silent). */
export const FINETUNE_SCHEMA: Schema<FinetuneParams> = {
  learning_rate: option(5e-5, isNumber(0, 1), 'peak learning rate of AdamW'),
  batch_size: option(32, isNumber(1, 1e6, true), 'examples per optimizer step'),
  eval_batch_size: option(64, isNumber(1, 1e6, true), 'examples per forward pass when evaluating'),
  n_epoch: option(3, isNumber(1, 1e4, true), 'passes over the training examples'),
  max_length: option(128, isNumber(4, 1e5, true), 'tokens per example, [CLS] and [SEP] included (longer ones are cut)'),
  warmup_prop: option(0.1, isNumber(0, 1), 'share of optimizer steps with linear warmup (then linear decay to 0)'),
  weight_decay: option(0.01, isNumber(0, 1), 'AdamW weight decay (not on biases and LayerNorm weights)'),
  max_grad_norm: option(1.0, isNumber(0), 'clip the global gradient norm to this value'),
  seed: option(42, isNumber(0, 2 ** 32 - 1, true), 'seed of the head initialisation, data order and dropout'),
  checkpoint_interval: option(500, isNumber(0, 1e12, true), 'checkpoint every this many optimizer steps (0: per epoch only)'),
  keep_checkpoints: option(1, isNumber(1, 1e6, true), 'checkpoints kept on disk'),
};

export const FINETUNE_DEFAULTS: FinetuneParams = defaultsOf(FINETUNE_SCHEMA);

export interface EpochReport {
  epoch: number;
  train_loss: number;
  metrics: Record<string, number>;
  improved: boolean;
}

/** What every fine-tuning entry point takes (classification, regression, QA). */
export interface FinetuneRunOptions {
  /** A Hugging Face BERT/DistilBERT directory (masked-LM, base, or already fine-tuned). */
  model: string;
  train: string;
  /** Examples scored after every epoch (the best epoch is kept); without them the last epoch is kept. */
  eval?: string;
  /** The best epoch, as a Hugging Face directory with the tokenizer files. */
  out: string;
  onStep?: (step: number, total: number, loss: number) => void;
  onEpoch?: (r: EpochReport) => void;
  /** Matmul precision while training (fp32, or bf16 mixed precision); evaluation runs in it too. */
  precision?: Precision;
  /** Continue from the newest checkpoint in `out` (true) or from this checkpoint directory. */
  resume?: boolean | string;
  /** Told of a resume, removed leftovers and the like (default: stderr). */
  warn?: (line: string) => void;
  /** Called once training starts: `step` > 0 after a resume from checkpoint `from`. */
  onStart?: (step: number, from: string | null) => void;
}

export interface LoopHooks {
  /** Forward of the padded batch `x` (rows `rows` of the training set) and its loss. */
  loss(x: EncoderInput, rows: ArrayLike<number>): Tensor;
  /**
   * Metrics on the evaluation set after every epoch; `main` decides which epoch is best (higher is
   * better). Without it no epoch is scored (cross-validation scores the last one itself).
   */
  evaluate?(): Record<string, number>;
  main?: string;
  /** Called when an epoch improves the main metric (save the model here). */
  onBest?(report: EpochReport): void;
  onStep?(step: number, total: number, loss: number): void;
  onEpoch?(report: EpochReport): void;
  /** Write checkpoints (and watch for SIGINT / SIGTERM); without them a run cannot resume. */
  checkpoints?: Omit<CheckpointOptions, 'interval' | 'keep'>;
  /** Called once the state is known: `step` > 0 after a resume. */
  onStart?(step: number, from: string | null): void;
}

export function finetuneLoop(model: TaskModel, train: Sequence[], padId: number, p: FinetuneParams, hooks: LoopHooks): EpochReport[] {
  if (train.length === 0) throw new Error('fine-tuning needs at least one training example');
  model.enableGrad();
  const opt = new AdamW(model.params, {
    lr: p.learning_rate, betas: [0.9, 0.999], eps: 1e-8, weight_decay: p.weight_decay, max_grad_norm: p.max_grad_norm,
  });
  const ck = hooks.checkpoints
    ? new FinetuneCheckpoints({ ...hooks.checkpoints, interval: p.checkpoint_interval, keep: p.keep_checkpoints }, model, opt) : null;
  const s: LoopState = ck ? ck.start() : { step: 0, epoch: 0, batchInEpoch: 0, lossSum: 0, best: -Infinity, reports: [] };
  hooks.onStart?.(s.step, ck?.last ?? null);
  if (!ck) return runEpochs(model, train, padId, p, hooks, opt, s, null);
  native.watchSignals();
  try {
    return runEpochs(model, train, padId, p, hooks, opt, s, ck);
  } finally {
    native.unwatchSignals();
  }
}

/** The epochs from state `s` on; with checkpoints, saved as configured and on SIGINT / SIGTERM. */
function runEpochs(model: TaskModel, train: Sequence[], padId: number, p: FinetuneParams, hooks: LoopHooks, opt: AdamW, s: LoopState,
  ck: FinetuneCheckpoints | null): EpochReport[] {
  const perEpoch = Math.ceil(train.length / p.batch_size);
  const total = perEpoch * p.n_epoch;
  const schedule = { lr: p.learning_rate, warmup: warmupSteps(total, p.warmup_prop), total };
  // After a step: a pending SIGINT / SIGTERM writes a checkpoint (unless this step has one) and stops.
  const stopIfSignalled = () => {
    const signal = ck ? native.pendingSignal() : 0;
    if (signal === 0) return;
    if (ck!.savedStep !== s.step) ck!.save(s);
    throw new Interrupted(signal, s.step, ck!.last!);
  };
  while (s.epoch < p.n_epoch) {
    const epoch = s.epoch;
    const order = new Rng(deriveSeed(p.seed, 1, epoch)).permutation(train.length);
    while (s.batchInEpoch < perEpoch) {
      const b = s.batchInEpoch;
      const rows = order.subarray(b * p.batch_size, (b + 1) * p.batch_size);
      model.train();
      model.dropoutSeed = deriveSeed(p.seed, 2, epoch * perEpoch + b);
      model.dropoutCounter = 0;
      const loss = arena.reuse(() => {
        const x = padSequences(Array.from(rows, (r) => train[r]!), padId);
        const l = hooks.loss(x, rows);
        backward(l);
        return l.item();
      });
      if (!Number.isFinite(loss)) throw new Error(`fine-tuning loss is ${loss} at epoch ${epoch + 1}, batch ${b + 1}; lower --learning-rate`);
      const norm = opt.update(learningRate(schedule, opt.step));
      if (!Number.isFinite(norm)) {
        const at = model.params.firstNonFinite('grad');
        throw new Error(`fine-tuning gradient norm is ${norm} at epoch ${epoch + 1}, batch ${b + 1}` +
          `${at ? ` (first in ${at.name}, element ${at.index} = ${at.value})` : ''}; no update was applied; lower --learning-rate`);
      }
      model.params.zeroGrad();
      s.lossSum += loss;
      s.step++;
      s.batchInEpoch++;
      hooks.onStep?.(s.step, total, loss);
      // The epoch's last step is checkpointed after its evaluation, below (unless a signal stops the run first).
      if (ck && s.batchInEpoch < perEpoch && p.checkpoint_interval > 0 && s.step % p.checkpoint_interval === 0) ck.save(s);
      stopIfSignalled();
    }
    model.eval();
    const metrics = hooks.evaluate?.() ?? {};
    const score = hooks.evaluate ? metrics[hooks.main ?? ''] : -Infinity;
    if (score === undefined) throw new Error(`evaluation has no metric "${hooks.main}" (has ${Object.keys(metrics).join(', ')})`);
    const report = { epoch: epoch + 1, train_loss: s.lossSum / perEpoch, metrics, improved: score > s.best };
    if (report.improved) {
      s.best = score;
      hooks.onBest?.(report);
    }
    s.reports.push(report);
    s.epoch++;
    s.batchInEpoch = 0;
    s.lossSum = 0;
    ck?.save(s);
    hooks.onEpoch?.(report);
    stopIfSignalled();
  }
  return s.reports;
}

/** Checkpointing of a run writing `o.out`: every parameter but RESUMABLE_CHANGES (and `extra`) must match on resume. */
export function runCheckpoints(o: FinetuneRunOptions, p: FinetuneParams, extra: Record<string, unknown>): NonNullable<LoopHooks['checkpoints']> {
  const recorded = Object.fromEntries(Object.entries({ ...p, ...extra }).filter(([k]) => !RESUMABLE_CHANGES.includes(k)));
  return { out: o.out, resume: o.resume, recorded, train: o.train, ...(o.warn ? { warn: o.warn } : {}) };
}

/**
 * The epoch kept: the last that improved the main metric, or the last one when no epoch was scored
 * or none improved (every score NaN, e.g. Pearson of constant predictions).
 */
export function keptEpoch(reports: readonly EpochReport[], scored: boolean): EpochReport {
  return (scored ? reports.filter((r) => r.improved).at(-1) : undefined) ?? reports.at(-1)!;
}
