// The fine-tuning loop for sequence classification and regression (HF Trainer defaults where the
// issue is silent): AdamW with linear warmup and decay, shuffled batches with dynamic padding,
// evaluation after every epoch, the best epoch kept.
import type { Precision } from '../tensor/precision.js';
import type { EncoderInput } from '../models/bert.js';
import type { Module } from '../models/module.js';
import { arena } from '../tensor/arena.js';
import { backward, type Tensor } from '../tensor/tensor.js';
import { AdamW } from '../train/adamw.js';
import { deriveSeed, Rng } from '../data/rng.js';
import { learningRate, warmupSteps } from '../train/schedule.js';
import { padSequences, type Sequence } from '../data/padding.js';

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
}

export const FINETUNE_DEFAULTS: FinetuneParams = {
  learning_rate: 5e-5, batch_size: 32, eval_batch_size: 64, n_epoch: 3, max_length: 128, warmup_prop: 0.1,
  weight_decay: 0.01, max_grad_norm: 1.0, seed: 42,
};


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
}

export function finetuneLoop(model: Module, train: Sequence[], padId: number, p: FinetuneParams, hooks: LoopHooks): EpochReport[] {
  if (train.length === 0) throw new Error('fine-tuning needs at least one training example');
  model.enableGrad();
  const opt = new AdamW(model.params, {
    lr: p.learning_rate, betas: [0.9, 0.999], eps: 1e-8, weight_decay: p.weight_decay, max_grad_norm: p.max_grad_norm,
  });
  const perEpoch = Math.ceil(train.length / p.batch_size);
  const total = perEpoch * p.n_epoch;
  const schedule = { lr: p.learning_rate, warmup: warmupSteps(total, p.warmup_prop), total };
  const reports: EpochReport[] = [];
  let best = -Infinity;
  for (let epoch = 0; epoch < p.n_epoch; epoch++) {
    const order = new Rng(deriveSeed(p.seed, 1, epoch)).permutation(train.length);
    let sum = 0;
    for (let b = 0; b < perEpoch; b++) {
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
      sum += loss;
      hooks.onStep?.(epoch * perEpoch + b + 1, total, loss);
    }
    model.eval();
    const metrics = hooks.evaluate?.() ?? {};
    const score = hooks.evaluate ? metrics[hooks.main ?? ''] : -Infinity;
    if (score === undefined) throw new Error(`evaluation has no metric "${hooks.main}" (has ${Object.keys(metrics).join(', ')})`);
    const report = { epoch: epoch + 1, train_loss: sum / perEpoch, metrics, improved: score > best };
    if (report.improved) {
      best = score;
      hooks.onBest?.(report);
    }
    reports.push(report);
    hooks.onEpoch?.(report);
  }
  return reports;
}
