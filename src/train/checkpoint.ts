// Training checkpoints: OUT/checkpoints/step-00000123/ holds the model as a Hugging Face directory
// (config.json + model.safetensors), the AdamW moments (optimizer.safetensors) and the loop state
// (trainer_state.json). A checkpoint is written into a temporary sibling and renamed into place,
// so a crash never leaves a half-written one; only the newest `keep` are kept.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteDir, atomicWriteFile } from '../io/atomic.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { AdamW } from './adamw.js';

export interface TrainerState {
  /** Optimizer steps done. */
  step: number;
  /** Micro-batches done in total. */
  micro_step: number;
  /** Epoch of the next micro-batch and its index within that epoch's batches. */
  epoch: number;
  batch_in_epoch: number;
  /** The run's options, so a resume can refuse a changed configuration. */
  params: Record<string, unknown>;
  /** Identity of the training data (meta.json tokenizer hash and sizes). */
  data: Record<string, unknown>;
  saved_at: string;
}

const PREFIX = 'step-';

export const checkpointsDir = (out: string): string => join(out, 'checkpoints');

export function checkpointName(step: number): string {
  return `${PREFIX}${String(step).padStart(8, '0')}`;
}

/** Checkpoint directories under OUT/checkpoints, oldest first. */
export function listCheckpoints(out: string): string[] {
  const dir = checkpointsDir(out);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(PREFIX) && !n.includes('.tmp'))
    .sort()
    .map((n) => join(dir, n));
}

export function saveCheckpoint(out: string, state: TrainerState, opt: AdamW, writeModel: (dir: string) => void,
  keep: number): string {
  const root = checkpointsDir(out);
  mkdirSync(root, { recursive: true });
  const final = join(root, checkpointName(state.step));
  atomicWriteDir(final, (tmp) => {
    writeModel(tmp);
    writeSafetensors(join(tmp, 'optimizer.safetensors'), [
      { name: 'exp_avg', dtype: 'F32', shape: [opt.expAvg.length], data: opt.expAvg },
      { name: 'exp_avg_sq', dtype: 'F32', shape: [opt.expAvgSq.length], data: opt.expAvgSq },
    ], { step: String(opt.step) });
    atomicWriteFile(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
  });
  const all = listCheckpoints(out);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(old, { recursive: true, force: true });
  return final;
}

export function readTrainerState(dir: string): TrainerState {
  const file = join(dir, 'trainer_state.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TrainerState;
  } catch (e) {
    throw new Error(`${file}: cannot read the trainer state (${(e as Error).message}); the checkpoint is incomplete, resume from an older one`);
  }
}

/** Restore AdamW moments and step count; lengths must match the model. */
export function loadOptimizer(dir: string, opt: AdamW): void {
  const file = readSafetensors(join(dir, 'optimizer.safetensors'));
  for (const [name, buf] of [['exp_avg', opt.expAvg], ['exp_avg_sq', opt.expAvgSq]] as const) {
    const data = file.float32(name);
    if (data.length !== buf.length)
      throw new Error(`${file.path}: ${name} has ${data.length} values, the model has ${buf.length} parameters; the checkpoint belongs to another model`);
    buf.set(data);
  }
  opt.step = Number(file.metadata.step ?? 0);
}
