// The masked-LM training loop shared by distillation and teacher pretraining (distiller.py's
// train / step / optimize / iter / end_epoch): length-grouped batches, dynamic masking, gradient
// accumulation, AdamW with clipping and the linear schedule, metrics, atomic checkpoints, exact
// resume and the NaN guard. Subclasses only say what the loss is and how the model is saved.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { writing } from '../io/disk_errors.js';
import { epochBatches, collate, lengthGroups } from '../data/batches.js';
import { lossCounts, prepareBatchMlm, tokenWeights, type LossCounts, type MaskedBatch, type MaskingConfig, type SpecialIds } from './masking.js';
import type { Module } from '../models/module.js';
import { arena } from '../tensor/arena.js';
import { native } from '../tensor/native.js';
import { weightedSum } from '../tensor/ops.js';
import { backward, type Tensor } from '../tensor/tensor.js';
import { AdamW } from './adamw.js';
import {
  checkpointToResume, loadOptimizer, removeStaleTemporaries, saveCheckpoint, type TrainerState,
} from './checkpoint.js';
import type { TrainParams } from './params.js';
import { deriveSeed, Rng } from '../data/rng.js';
import { learningRate, warmupSteps, type LinearSchedule } from './schedule.js';

/** What the loop needs from a prepared dataset (src/data/dataset.ts). */
export interface TrainingData {
  size: number;
  lengths: Int32Array;
  get(i: number): ArrayLike<number>;
  tokenCounts: Float64Array;
  /** Identity recorded in checkpoints (tokenizer hash, counts). */
  identity: Record<string, unknown>;
}

export interface StepLosses {
  loss: Tensor;
  /** Each loss term as a number, for the logs (loss, loss_ce, loss_mlm, ...). */
  terms: Record<string, number>;
}

export interface StepLog {
  step: number;
  total_steps: number;
  epoch: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  /** Real tokens trained on since step 0. */
  tokens_seen: number;
  rss_mb: number;
  elapsed_s: number;
  [term: string]: number;
}

/** SIGINT or SIGTERM stopped a run after `step`, with the checkpoint written there; the CLI exits with 128 + signal. */
export class Interrupted extends Error {
  constructor(readonly signal: number, readonly step: number, readonly checkpoint: string) {
    super(`stopped by ${signal === 2 ? 'SIGINT' : signal === 15 ? 'SIGTERM' : `signal ${signal}`} after optimizer step ${step}; ` +
      `checkpoint ${checkpoint} written: rerun the same command with --resume to continue`);
  }
}

/** 64 sequences of 128 tokens: a 6-layer, 256-wide BERT keeps ~0.6 GB of activations for it. */
export const DEFAULT_PASS_TOKENS = 8192;

/** Rows [start, start + rows) of a masked batch, as views (no copy). */
function rowsOf(b: MaskedBatch, start: number, rows: number): MaskedBatch {
  const T = b.seqLen, [s, e] = [start * T, (start + rows) * T];
  return { inputIds: b.inputIds.subarray(s, e), attentionMask: b.attentionMask.subarray(s, e), mlmLabels: b.mlmLabels.subarray(s, e), batch: rows, seqLen: T };
}

/** `b` cut into parts of at most `rows` rows (the batch itself when it fits). */
function splitRows(b: MaskedBatch, rows: number): MaskedBatch[] {
  if (b.batch <= rows) return [b];
  const parts: MaskedBatch[] = [];
  for (let start = 0; start < b.batch; start += rows) parts.push(rowsOf(b, start, Math.min(rows, b.batch - start)));
  return parts;
}

/** Random streams derived from the seed (rng.ts): one per use, so each is reproducible alone. */
const STREAM_EPOCH = 1, STREAM_DROPOUT = 2, STREAM_MASK = 3;

export abstract class Trainer {
  readonly opt: AdamW;
  readonly schedule: LinearSchedule;
  readonly batchesPerEpoch: number;
  /** Optimizer steps this run will take in total. */
  readonly totalSteps: number;
  state: TrainerState;
  lastCheckpoint: string | null = null;
  /**
   * Held-out evaluation every `interval` optimizer steps and at the last step: its numbers (e.g.
   * eval_mlm_accuracy) join that step's log line. The model is in eval mode while `run` runs.
   */
  evaluation: { interval: number; run: () => Record<string, number> } | null = null;
  /**
   * Most (padded) tokens in one forward/backward pass: a larger micro-batch runs as several passes
   * over its rows, with the same summed gradient, so activation memory stays bounded whatever the
   * batch size. Not recorded in checkpoints: like the thread count, it changes only the order of
   * float sums (and which elements dropout draws for), not the training itself.
   */
  maxPassTokens = DEFAULT_PASS_TOKENS;
  /** Receives notes that do not stop the run (damaged checkpoints passed over, leftovers removed); stderr by default. */
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`);
  private checkpointStep = -1;
  private readonly groups: Int32Array;
  private readonly weights: Float64Array;

  constructor(
    readonly model: Module,
    readonly data: TrainingData,
    readonly params: TrainParams,
    readonly masking: MaskingConfig,
    readonly special: SpecialIds,
    readonly out: string,
    maxLen: number,
    /** Options recorded with each checkpoint and compared on resume. */
    readonly recorded: Record<string, unknown>,
  ) {
    if (data.size === 0) throw new Error('the training data holds no sequences; run distil prepare on a non-empty corpus');
    model.enableGrad();
    this.opt = new AdamW(model.params, {
      lr: params.learning_rate, betas: [0.9, 0.98], eps: params.adam_epsilon, weight_decay: params.weight_decay,
      max_grad_norm: params.max_grad_norm,
    });
    this.groups = params.group_by_size ? lengthGroups(data.lengths, maxLen) : new Int32Array(data.size);
    this.batchesPerEpoch = Math.ceil(data.size / params.batch_size);
    const accum = params.gradient_accumulation_steps;
    const fullRun = Math.floor((this.batchesPerEpoch * params.n_epoch) / accum);
    this.totalSteps = params.max_steps > 0 ? Math.min(params.max_steps, fullRun) : fullRun;
    if (this.totalSteps === 0)
      throw new Error(`${data.size} sequences in batches of ${params.batch_size} x ${accum} accumulation steps make no optimizer step; ` +
        'lower --batch-size or --gradient-accumulation-steps, or add data');
    // distiller.py: int(batches / accum * n_epoch) + 1 steps for the schedule.
    const schedTotal = params.max_steps > 0 ? params.max_steps : Math.floor((this.batchesPerEpoch / accum) * params.n_epoch) + 1;
    this.schedule = { lr: params.learning_rate, warmup: warmupSteps(schedTotal, params.warmup_prop), total: schedTotal };
    this.weights = tokenWeights(data.tokenCounts, masking.mlm_smoothing, special);
    this.state = { step: 0, micro_step: 0, epoch: 0, batch_in_epoch: 0, params: recorded, data: data.identity, saved_at: '' };
  }

  /**
   * The loss of one masked batch (and its terms for the logs). `batch` may be some rows of a larger
   * micro-batch (one pass, see maxPassTokens) whose counts are `whole`: the loss is then this part's
   * share of the whole micro-batch's, so the parts' gradients add up to the whole one's.
   */
  abstract loss(batch: MaskedBatch, whole: LossCounts): StepLosses;

  /** Write the trained model as a Hugging Face directory. */
  abstract saveModel(dir: string): void;

  /** Masked batch for micro-step k from the sequences `indices` (masks depend on (seed, k) only). */
  prepareBatchMlm(indices: Int32Array, k: number): MaskedBatch {
    const padded = collate(Array.from(indices, (i) => this.data.get(i)), this.special.pad);
    const rng = new Rng(deriveSeed(this.params.seed, STREAM_MASK, k));
    return prepareBatchMlm(padded.ids, padded.lengths, padded.seqLen, this.weights, this.special, this.masking, rng);
  }

  /**
   * Forward and backward of one micro-batch, in passes of at most maxPassTokens (padded) tokens;
   * returns its loss terms. Throws on a NaN/Inf term.
   */
  step(batch: MaskedBatch): Record<string, number> {
    this.model.dropoutSeed = deriveSeed(this.params.seed, STREAM_DROPOUT, this.state.micro_step);
    this.model.dropoutCounter = 0;
    this.model.train();
    const whole = lossCounts(batch);
    const total: Record<string, number> = {};
    for (const part of splitRows(batch, Math.max(1, Math.floor(this.maxPassTokens / batch.seqLen))))
      for (const [k, v] of Object.entries(this.pass(part, whole))) total[k] = (total[k] ?? 0) + v;
    return total;
  }

  /** Forward and backward of one pass. */
  private pass(batch: MaskedBatch, whole: LossCounts): Record<string, number> {
    return arena.reuse(() => {
      const { loss, terms } = this.loss(batch, whole);
      // The total `loss` goes last: the term that diverged (loss_ce, loss_cos, ...) is what to name.
      const bad = Object.entries(terms).filter(([, v]) => !Number.isFinite(v)).sort(([a], [b]) => Number(a === 'loss') - Number(b === 'loss'));
      if (bad.length > 0) {
        const [[name, v], ...also] = bad as [[string, number], ...Array<[string, number]>];
        const param = this.nonFiniteParameter();
        throw new Error(`${name} is ${v} at optimizer step ${this.state.step + 1} (micro-batch ${this.state.micro_step + 1})` +
          `${also.length ? ` (so is ${also.map(([k]) => k).join(', ')})` : ''}${param ? `; ${param}` : ''}; no update was applied. ` +
          `${this.resumePoint()} Lower --learning-rate or check the data and the teacher.`);
      }
      backward(weightedSum([[loss, 1 / this.params.gradient_accumulation_steps]]));
      return terms;
    });
  }

  /** Clip, AdamW update at the scheduled learning rate, zero the gradients; returns [lr, grad norm]. */
  optimize(terms: Record<string, number> = {}): [number, number] {
    const lr = learningRate(this.schedule, this.state.step);
    const norm = this.opt.update(lr);
    if (!Number.isFinite(norm)) {
      // Finite loss terms with a non-finite gradient: an overflow inside backward. Name where it starts.
      const bad = this.model.params.firstNonFinite('grad');
      const logged = Object.entries(terms).map(([k, v]) => `${k} ${v}`).join(', ');
      throw new Error(`gradient norm is ${norm} at optimizer step ${this.state.step + 1}` +
        `${bad ? `: the gradient of parameter ${bad.name} holds ${bad.value} (element ${bad.index}), the first non-finite one` : ''}` +
        `${logged ? `; the loss terms were finite (${logged})` : ''}; parameters were not updated. ${this.resumePoint()}`);
    }
    this.model.params.zeroGrad();
    this.state.step++;
    return [lr, norm];
  }

  /** Run `fn` with the model in eval mode (no dropout), back in train mode after. */
  private evaluate(fn: () => Record<string, number>): Record<string, number> {
    this.model.eval();
    try {
      return fn();
    } finally {
      this.model.train();
    }
  }

  /** Modules the loss reads but training does not update (the teacher), by role, for NaN reports. */
  protected frozenModules(): Array<[string, Module]> {
    return [];
  }

  /** "parameter X holds NaN (element i)" for the first non-finite weight of the model or a frozen module, or null. */
  private nonFiniteParameter(): string | null {
    for (const [role, m] of [['', this.model], ...this.frozenModules()] as Array<[string, Module]>) {
      const bad = m.params.firstNonFinite('data');
      if (bad) return `${role ? `${role} ` : ''}parameter ${bad.name} holds ${bad.value} (element ${bad.index})`;
    }
    return null;
  }

  private resumePoint(): string {
    return this.lastCheckpoint ? `Last good checkpoint (resume point): ${this.lastCheckpoint}.` : 'No checkpoint was written yet.';
  }

  saveCheckpoint(): string {
    this.state.saved_at = new Date().toISOString();
    this.checkpointStep = this.state.step;
    this.lastCheckpoint = saveCheckpoint(this.out, this.state, this.opt, (d) => this.saveModel(d), this.params.keep_checkpoints);
    return this.lastCheckpoint;
  }

  /**
   * Continue from a checkpoint directory, or (`true`) from the newest usable one under
   * OUT/checkpoints: a damaged newer one (torn, corrupted, incomplete) is reported through `warn`
   * and the previous one used. With `true` and no checkpoint at all, the run starts from step 0
   * (a crash before the first checkpoint) and null is returned, so "always --resume" restarts work.
   */
  resume(from: string | true): string | null {
    const point = checkpointToResume(this.out, from, this.recorded, this.data.identity, '--data', this.warn);
    if (!point) return null;
    const { dir, state } = point;
    this.loadModel(dir);
    loadOptimizer(dir, this.opt);
    this.state = state;
    this.lastCheckpoint = dir;
    this.checkpointStep = state.step;
    this.trimMetrics(state.step);
    return dir;
  }

  /**
   * Keep the metrics.jsonl lines of steps up to `step`: later ones were logged after the checkpoint
   * resumed from and are logged again; a line torn by a kill mid-append goes too.
   */
  private trimMetrics(step: number): void {
    const file = join(this.out, 'metrics.jsonl');
    if (!existsSync(file)) return;
    const kept = readFileSync(file, 'utf8').split('\n').filter((line) => {
      try {
        return (JSON.parse(line) as StepLog).step <= step;
      } catch {
        return false;
      }
    });
    atomicWriteFile(file, kept.map((l) => `${l}\n`).join(''));
  }

  /** Load model weights from a checkpoint directory written by saveModel. */
  abstract loadModel(dir: string): void;

  /**
   * Run to the end (n_epoch epochs or max_steps optimizer steps). `onStep` receives every optimizer
   * step's log line; lines are also appended to OUT/metrics.jsonl every log_interval steps.
   */
  train(onStep: (log: StepLog) => void = () => {}): void {
    writing(this.out, () => mkdirSync(this.out, { recursive: true }));
    for (const p of removeStaleTemporaries(this.out)) this.warn(`removed ${p}, left by an interrupted run`);
    // SIGINT / SIGTERM finish the step, write a checkpoint and stop (Interrupted), so a preempted
    // machine loses no work. Once the run ends, signals act as before it.
    native.watchSignals();
    try {
      this.runSteps(onStep);
    } finally {
      native.unwatchSignals();
    }
  }

  private runSteps(onStep: (log: StepLog) => void): void {
    const metrics = join(this.out, 'metrics.jsonl');
    const p = this.params, accum = p.gradient_accumulation_steps;
    const sums: Record<string, number> = {};
    let tokens = 0, t0 = performance.now(), epochEnded = false;
    const start = performance.now();
    while (this.state.epoch < p.n_epoch && this.state.step < this.totalSteps) {
      const epoch = this.state.epoch;
      const batches = epochBatches(this.groups, p.batch_size, deriveSeed(p.seed, STREAM_EPOCH, epoch));
      while (this.state.epoch === epoch && this.state.step < this.totalSteps) {
        const batch = this.prepareBatchMlm(batches[this.state.batch_in_epoch]!, this.state.micro_step);
        for (const [k, v] of Object.entries(this.step(batch))) sums[k] = (sums[k] ?? 0) + v / accum;
        let real = 0;
        for (let i = 0; i < batch.attentionMask.length; i++) real += batch.attentionMask[i]!;
        tokens += real;
        this.state.tokens_seen = (this.state.tokens_seen ?? 0) + real;
        this.state.micro_step++;
        if (++this.state.batch_in_epoch === batches.length) {
          this.state.epoch++;
          this.state.batch_in_epoch = 0;
          epochEnded = true;
        }
        // Gradients accumulate over micro-batches; checkpoints fall on optimizer steps only, so a
        // resume never has to restore half-accumulated gradients.
        if (this.state.micro_step % accum !== 0) continue;
        const [lr, norm] = this.optimize(sums);
        const secs = (performance.now() - t0) / 1000;
        const log: StepLog = {
          step: this.state.step, total_steps: this.totalSteps, epoch: this.state.epoch, ...sums, lr, grad_norm: norm,
          tokens_per_s: tokens / secs, tokens_seen: this.state.tokens_seen ?? 0, rss_mb: process.memoryUsage().rss / 2 ** 20,
          elapsed_s: (performance.now() - start) / 1000,
        };
        for (const k of Object.keys(sums)) sums[k] = 0;
        tokens = 0;
        const ev = this.evaluation;
        const evaluated = ev !== null && (this.state.step % ev.interval === 0 || this.state.step === this.totalSteps);
        if (evaluated) Object.assign(log, this.evaluate(ev.run));
        t0 = performance.now();
        if (this.state.step % p.log_interval === 0 || evaluated) writing(metrics, () => appendFileSync(metrics, JSON.stringify(log) + '\n'));
        if ((p.checkpoint_interval > 0 && this.state.step % p.checkpoint_interval === 0) || epochEnded) {
          this.saveCheckpoint();
          epochEnded = false;
        }
        onStep(log);
        const signal = native.pendingSignal();
        if (signal !== 0) {
          if (this.checkpointStep !== this.state.step) this.saveCheckpoint();
          throw new Interrupted(signal, this.state.step, this.lastCheckpoint!);
        }
      }
    }
    if (this.checkpointStep !== this.state.step) this.saveCheckpoint();
  }
}
