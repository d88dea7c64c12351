// Training checkpoints: OUT/checkpoints/step-00000123/ holds the model as a Hugging Face directory
// (config.json + model.safetensors), the AdamW moments (optimizer.safetensors) and the loop state
// (trainer_state.json), and last a manifest of every file's SHA-256 (io/manifest.ts). A checkpoint
// is written into a temporary sibling and renamed into place, so a crash never leaves a
// half-written one under its final name; the manifest catches what the rename cannot (a file
// corrupted or truncated afterwards). Only the newest `keep` are kept.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteDir, atomicWriteFile } from '../io/atomic.js';
import { writing } from '../io/disk_errors.js';
import { manifestProblem, writeManifest } from '../io/manifest.js';
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
  /** Real (non-pad) tokens of all micro-batches done; absent in checkpoints older than it. */
  tokens_seen?: number;
  /** The run's options, so a resume can refuse a changed configuration. */
  params: Record<string, unknown>;
  /** Identity of the training data (meta.json tokenizer hash and sizes). */
  data: Record<string, unknown>;
  saved_at: string;
}

const PREFIX = 'step-';
/** Marks a directory being written or deleted (atomic.ts names temporaries `<name>.tmp-<pid>`). */
const TMP = '.tmp';
/** What a checkpoint must hold; the manifest has to list each. */
const REQUIRED = ['config.json', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json'];

export const checkpointsDir = (out: string): string => join(out, 'checkpoints');

export function checkpointName(step: number): string {
  return `${PREFIX}${String(step).padStart(8, '0')}`;
}

/** Checkpoint directories under OUT/checkpoints, oldest first. */
export function listCheckpoints(out: string): string[] {
  const dir = checkpointsDir(out);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith(PREFIX) && !n.includes(TMP))
    .sort()
    .map((n) => join(dir, n));
}

export function saveCheckpoint(out: string, state: TrainerState, opt: AdamW, writeModel: (dir: string) => void,
  keep: number): string {
  const root = checkpointsDir(out);
  writing(root, () => mkdirSync(root, { recursive: true }));
  const final = join(root, checkpointName(state.step));
  atomicWriteDir(final, (tmp) => {
    writeModel(tmp);
    writeSafetensors(join(tmp, 'optimizer.safetensors'), [
      { name: 'exp_avg', dtype: 'F32', shape: [opt.expAvg.length], data: opt.expAvg },
      { name: 'exp_avg_sq', dtype: 'F32', shape: [opt.expAvgSq.length], data: opt.expAvgSq },
    ], { step: String(opt.step) });
    atomicWriteFile(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 2) + '\n');
    writeManifest(tmp);
  });
  // Renamed out of the checkpoint namespace before deletion: a crash half-way through rmSync leaves
  // a `.tmp` leftover (cleaned at the next start), never a half-deleted checkpoint under its name.
  const all = listCheckpoints(out);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) {
    const doomed = `${old}${TMP}-del-${process.pid}`;
    renameSync(old, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }
  return final;
}

/**
 * Remove what killed runs left: temporaries of interrupted checkpoint writes and deletions under
 * OUT/checkpoints (never read as checkpoints), and of interrupted file writes in OUT itself
 * (`<name>.tmp-<pid>` from io/atomic.ts). Returns the paths removed.
 */
export function removeStaleTemporaries(out: string): string[] {
  const stale: string[] = [];
  for (const [dir, test] of [[checkpointsDir(out), (n: string) => n.includes(TMP)], [out, (n: string) => /\.tmp-\d+$/.test(n)]] as const) {
    if (!existsSync(dir)) continue;
    for (const n of readdirSync(dir).filter(test).sort()) {
      rmSync(join(dir, n), { recursive: true, force: true });
      stale.push(join(dir, n));
    }
  }
  return stale;
}

/** Why checkpoint `dir` cannot be resumed from (incomplete, corrupted, unreadable state), or null when it can. */
export function checkpointProblem(dir: string): string | null {
  const bad = manifestProblem(dir, REQUIRED);
  if (bad) return bad;
  try {
    readTrainerState(dir);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The newest checkpoint under OUT/checkpoints that passes `checkpointProblem`; each newer one that
 * fails is reported through `warn` with the reason. Null when there is none.
 */
export function newestUsableCheckpoint(out: string, warn: (line: string) => void): string | null {
  for (const dir of listCheckpoints(out).reverse()) {
    const why = checkpointProblem(dir);
    if (!why) return dir;
    warn(`checkpoint ${dir} is unusable: ${why}; trying the previous one`);
  }
  return null;
}

const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stateProblem(s: unknown): string | null {
  if (!isRecord(s)) return 'not a JSON object';
  for (const k of ['step', 'micro_step', 'epoch', 'batch_in_epoch'])
    if (!isCount(s[k])) return `"${k}" must be a non-negative integer, got ${JSON.stringify(s[k])}`;
  for (const k of ['params', 'data']) if (!isRecord(s[k])) return `"${k}" must be an object`;
  return null;
}

export function readTrainerState(dir: string): TrainerState {
  const file = join(dir, 'trainer_state.json');
  let s: unknown;
  try {
    s = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the trainer state (${(e as Error).message}); the checkpoint is incomplete, resume from an older one`);
  }
  const bad = stateProblem(s);
  if (bad) throw new Error(`${file}: ${bad}; the checkpoint is damaged, resume from an older one`);
  return s as TrainerState;
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
  const step = Number(file.metadata.step ?? 0);
  if (!isCount(step)) throw new Error(`${file.path}: metadata step ${JSON.stringify(file.metadata.step)} is not a step count; the checkpoint is damaged, resume from an older one`);
  opt.step = step;
}

/**
 * The checkpoint `--resume` continues from and its state: the newest usable one under OUT
 * (`from` true), or the directory given. Null when OUT has none yet (said through `warn`: the run
 * starts at step 0, so "always --resume" is right); an error when every one is unusable. The
 * state must come from a run with the same `recorded` options and `data` (`dataFlag` names the
 * input to keep the same).
 */
export function checkpointToResume(out: string, from: true | string, recorded: Record<string, unknown>, data: unknown, dataFlag: string,
  warn: (line: string) => void): { dir: string; state: TrainerState } | null {
  let dir: string;
  if (from === true) {
    const found = newestUsableCheckpoint(out, warn);
    if (!found) {
      const root = checkpointsDir(out);
      if (listCheckpoints(out).length > 0)
        throw new Error(`--resume: no usable checkpoint under ${root} (reasons above); remove them to start from step 0, or resume from a copy`);
      warn(`--resume: no checkpoint under ${root} yet; starting from step 0`);
      return null;
    }
    dir = found;
  } else {
    const why = checkpointProblem(from);
    if (why) throw new Error(`${from}: cannot resume from this checkpoint: ${why}; pass an older one, or --resume alone for the newest usable one`);
    dir = from;
  }
  const state = readTrainerState(dir);
  for (const [k, v] of Object.entries(recorded))
    if (JSON.stringify(state.params[k]) !== JSON.stringify(v))
      throw new Error(`${dir}: option ${k} was ${JSON.stringify(state.params[k])} in the checkpointed run, now ${JSON.stringify(v)}; ` +
        'resume with the same options (or start a new --out)');
  if (JSON.stringify(state.data) !== JSON.stringify(data))
    throw new Error(`${dir}: the checkpoint was trained on other data (${JSON.stringify(state.data)}); resume with the same ${dataFlag}`);
  return { dir, state };
}
