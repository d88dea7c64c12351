// Checkpoints of fine-tuning (finetune, finetune-qa), laid out as distillation's (train/checkpoint.ts):
// OUT/checkpoints/step-N holds the model, the AdamW moments, trainer_state.json and a manifest,
// written atomically. The state adds what the fine-tuning loop needs to continue exactly: the
// running loss of the epoch, the best score so far and the reports of finished epochs. Batch order
// and dropout are derived from the seed and the step (finetune_loop.ts), so a resumed run takes the
// same steps as one that never stopped.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { loadStateDict } from '../io/state_dict.js';
import { readSafetensors } from '../io/safetensors.js';
import { saveTaskModel, type TaskModel } from '../models/task_pretrained.js';
import type { AdamW } from '../train/adamw.js';
import {
  checkpointToResume, checkpointsDir, listCheckpoints, loadOptimizer, removeStaleTemporaries, saveCheckpoint, type TrainerState,
} from '../train/checkpoint.js';
import type { EpochReport } from './finetune_loop.js';

/** Where the fine-tuning loop is: what a checkpoint holds besides the model and the optimizer. */
export interface LoopState {
  /** Optimizer steps done (one per batch). */
  step: number;
  /** Epoch of the next batch and its index within that epoch. */
  epoch: number;
  batchInEpoch: number;
  /** Sum of this epoch's batch losses so far. */
  lossSum: number;
  /** Best main metric so far (-Infinity before the first scored epoch). */
  best: number;
  reports: EpochReport[];
}

export interface CheckpointOptions {
  /** The run's output directory; checkpoints go to OUT/checkpoints. */
  out: string;
  /** Optimizer steps between checkpoints (0: only at the end of each epoch, which always gets one). */
  interval: number;
  /** Checkpoints kept on disk. */
  keep: number;
  /** Continue from the newest usable checkpoint under OUT (true) or from this checkpoint directory. */
  resume?: boolean | string;
  /** Options compared on resume: a changed one is an error, not a silently different run. */
  recorded: Record<string, unknown>;
  /** The training file; its size and SHA-256 identify the data. */
  train: string;
  warn?: (line: string) => void;
}

/** Size and SHA-256 of the training file (read 1 MiB at a time): a resume on edited data is refused. */
function dataIdentity(file: string): Record<string, unknown> {
  const hash = createHash('sha256'), buf = Buffer.allocUnsafe(1 << 20), fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return { file: basename(file), bytes: statSync(file).size, sha256: hash.digest('hex') };
}

/**
 * Finish a save of the best epoch that a kill interrupted after io/atomic.ts carried OUT/checkpoints
 * into the new directory (OUT.tmp-PID): the new directory was complete by then, so it becomes OUT
 * when OUT is gone, else its checkpoints go back; the temporary is then removed.
 */
function recoverCarried(out: string, warn: (line: string) => void): void {
  const parent = dirname(out), prefix = `${basename(out)}.tmp-`;
  if (existsSync(checkpointsDir(out)) || !existsSync(parent)) return;
  for (const n of readdirSync(parent).filter((x) => x.startsWith(prefix))) {
    const tmp = join(parent, n);
    if (!existsSync(join(tmp, 'checkpoints'))) continue;
    if (!existsSync(out)) renameSync(tmp, out);
    else {
      renameSync(join(tmp, 'checkpoints'), checkpointsDir(out));
      rmSync(tmp, { recursive: true, force: true });
    }
    warn(`recovered ${checkpointsDir(out)} from ${tmp} (a run was stopped while saving its best epoch)`);
    return;
  }
}

export class FinetuneCheckpoints {
  private readonly data: Record<string, unknown>;
  private readonly warn: (line: string) => void;
  /** Step of the newest checkpoint written or resumed from (-1: none). */
  savedStep = -1;
  last: string | null = null;

  constructor(readonly o: CheckpointOptions, private readonly model: TaskModel, private readonly opt: AdamW) {
    this.data = dataIdentity(o.train);
    this.warn = o.warn ?? ((l) => process.stderr.write(`${l}\n`));
  }

  /** The state to continue from: a checkpoint's when resuming, else the start of training. */
  start(): LoopState {
    const fresh: LoopState = { step: 0, epoch: 0, batchInEpoch: 0, lossSum: 0, best: -Infinity, reports: [] };
    if (this.o.resume) recoverCarried(this.o.out, this.warn);
    for (const p of removeStaleTemporaries(this.o.out)) this.warn(`removed ${p}, left by an interrupted run`);
    if (!this.o.resume) {
      // A fresh run replaces OUT (its best epoch does at the first save); an earlier run's
      // checkpoints would otherwise outrank this run's by step and be resumed by mistake.
      const old = listCheckpoints(this.o.out);
      if (old.length > 0) {
        rmSync(checkpointsDir(this.o.out), { recursive: true, force: true });
        this.warn(`removed ${old.length} checkpoint(s) of an earlier run in ${checkpointsDir(this.o.out)} (pass --resume to continue a run instead)`);
      }
      return fresh;
    }
    const point = checkpointToResume(this.o.out, this.o.resume, this.o.recorded, this.data, '--train file', this.warn);
    if (!point) return fresh;
    const { dir, state } = point;
    const loop = (state as TrainerState & { finetune?: Omit<LoopState, 'step' | 'epoch' | 'batchInEpoch'> & { best: number | null } }).finetune;
    if (!loop || !Array.isArray(loop.reports) || typeof loop.lossSum !== 'number')
      throw new Error(`${join(dir, 'trainer_state.json')}: no fine-tuning state; it is not a checkpoint of finetune or finetune-qa`);
    const file = readSafetensors(join(dir, 'model.safetensors'));
    try {
      loadStateDict(this.model.params, file);
    } catch (e) {
      throw new Error(`${dir}: ${(e as Error).message}; the checkpoint belongs to another model`);
    }
    loadOptimizer(dir, this.opt);
    this.savedStep = state.step;
    this.last = dir;
    return { step: state.step, epoch: state.epoch, batchInEpoch: state.batch_in_epoch, lossSum: loop.lossSum, best: loop.best ?? -Infinity, reports: loop.reports };
  }

  save(s: LoopState): string {
    const state: TrainerState & { finetune: unknown } = {
      step: s.step, micro_step: s.step, epoch: s.epoch, batch_in_epoch: s.batchInEpoch, params: this.o.recorded, data: this.data,
      saved_at: new Date().toISOString(),
      // JSON has no -Infinity: null stands for "no epoch scored yet".
      finetune: { lossSum: s.lossSum, best: Number.isFinite(s.best) ? s.best : null, reports: s.reports },
    };
    this.last = saveCheckpoint(this.o.out, state, this.opt, (dir) => saveTaskModel(dir, this.model), this.o.keep);
    this.savedStep = s.step;
    return this.last;
  }
}
