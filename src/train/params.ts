// Training options with the reference defaults (docs/method.md §7; train.py), read from flags and/or a JSON
// config file. Unknown keys and wrong types are errors that name the key (nanoGPT configurator).

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

export const TRAIN_DEFAULTS: TrainParams = {
  batch_size: 5, gradient_accumulation_steps: 50, n_epoch: 3, max_steps: 0, learning_rate: 5e-4, warmup_prop: 0.05,
  adam_epsilon: 1e-6, weight_decay: 0.0, max_grad_norm: 5.0, seed: 56, log_interval: 1, checkpoint_interval: 500,
  keep_checkpoints: 3, group_by_size: true,
};

type Checker = (v: unknown) => string | null;

export const isNumber = (min: number, max = Infinity, integer = false): Checker => (v) =>
  typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))
    ? `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`
    : null;
export const isBool: Checker = (v) => (typeof v === 'boolean' ? null : 'must be true or false');

export const TRAIN_CHECKS: Record<keyof TrainParams, Checker> = {
  batch_size: isNumber(1, 1e6, true), gradient_accumulation_steps: isNumber(1, 1e6, true), n_epoch: isNumber(1, 1e6, true),
  max_steps: isNumber(0, 1e12, true), learning_rate: isNumber(0, 1), warmup_prop: isNumber(0, 1),
  adam_epsilon: isNumber(0, 1), weight_decay: isNumber(0, 1), max_grad_norm: isNumber(0), seed: isNumber(0, 2 ** 32 - 1, true),
  log_interval: isNumber(1, 1e9, true), checkpoint_interval: isNumber(0, 1e12, true), keep_checkpoints: isNumber(1, 1e6, true),
  group_by_size: isBool,
};

/**
 * defaults <- config file values <- explicit flags, each key checked. `source` names where the
 * values came from in errors (the config file path, or "--flags").
 */
export function mergeParams<P extends object>(defaults: P, checks: Record<keyof P, Checker>,
  layers: Array<{ source: string; values: Record<string, unknown>; name?: (key: string) => string }>): P {
  const out = { ...defaults } as Record<string, unknown>;
  const allowed = Object.keys(checks);
  for (const { source, values, name = (k: string) => `option "${k}"` } of layers)
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const check = (checks as Record<string, Checker>)[k];
      if (!check) throw new Error(`${source}: unknown option "${k}"; known options: ${allowed.join(', ')}`);
      const why = check(v);
      if (why) throw new Error(`${source}: ${name(k)} ${why}, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
  return out as P;
}
