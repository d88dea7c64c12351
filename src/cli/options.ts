// Training options as CLI flags: every key of the params object becomes `--kebab-case` with a one-line
// doc and its default; a JSON file given with --options-file supplies values too (flags win). Unknown
// keys in the file are errors (mergeParams).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parsePrecision, PRECISIONS, TRAIN_PRECISIONS, type Precision } from '../tensor/precision.js';
import { mergeParams } from '../train/params.js';
import { numberFlag } from './flags.js';

export const OPTION_DOCS: Record<string, string> = {
  batch_size: 'sequences per micro-batch',
  gradient_accumulation_steps: 'micro-batches per optimizer step',
  n_epoch: 'passes over the data',
  max_steps: 'stop after this many optimizer steps (0: run n_epoch epochs)',
  learning_rate: 'peak learning rate of AdamW',
  warmup_prop: 'share of optimizer steps with linear warmup (then linear decay to 0)',
  adam_epsilon: 'AdamW epsilon',
  weight_decay: 'AdamW weight decay (not on biases and LayerNorm weights)',
  max_grad_norm: 'clip the global gradient norm to this value',
  seed: 'seed of data order, masking and dropout',
  log_interval: 'append a metrics.jsonl line every this many optimizer steps',
  checkpoint_interval: 'checkpoint every this many optimizer steps (0: per epoch only)',
  keep_checkpoints: 'checkpoints kept on disk',
  group_by_size: 'batch sequences of similar length (bins of 4 tokens)',
  alpha_ce: 'weight of the soft-target KL loss L_ce',
  alpha_mlm: 'weight of the masked-LM loss L_mlm',
  alpha_cos: 'weight of the hidden-state cosine loss L_cos',
  alpha_mse: 'weight of the logit MSE loss L_mse',
  temperature: 'softmax temperature of L_ce',
  restrict_ce_to_mask: 'compute L_ce on the MLM targets only (default: every token)',
  mlm_mask_prop: 'share of tokens chosen as MLM targets',
  word_mask: 'share of targets replaced by [MASK]',
  word_keep: 'share of targets kept unchanged',
  word_rand: 'share of targets replaced by a random token',
  mlm_smoothing: 'target sampling weight count^-mlm_smoothing (rarer tokens more often)',
};

/**
 * `--precision` for a training command (fp32 | bf16 mixed precision) or an inference command
 * (fp32 | bf16 | int8 dynamic quantization of the linear layers).
 */
export function precisionOption(use: 'train' | 'infer'): Option {
  const allowed = use === 'train' ? TRAIN_PRECISIONS : PRECISIONS;
  const doc = use === 'train'
    ? 'matmul precision: fp32, or bf16 mixed precision (bf16 products; fp32 weights, AdamW and losses)'
    : 'linear-layer precision: fp32, bf16, or int8 (dynamic quantization: uint8 activations, per-channel int8 weights)';
  return new Option('--precision <p>', doc).default('fp32').argParser((v: string): Precision => {
    try {
      return parsePrecision(v, allowed);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  });
}

const flag = (key: string): string => `--${key.replace(/_/g, '-')}`;


/** Register one flag per key of `defaults` (booleans as --x / --no-x), without commander defaults. */
export function addParamFlags(cmd: Command, defaults: object): Command {
  for (const [key, def] of Object.entries(defaults)) {
    const doc = `${OPTION_DOCS[key] ?? key} (default: ${JSON.stringify(def)})`;
    if (typeof def === 'boolean') {
      cmd.option(flag(key), doc);
      cmd.option(`--no-${key.replace(/_/g, '-')}`, `turn ${flag(key)} off`);
    } else cmd.option(`${flag(key)} <n>`, doc, numberFlag(flag(key)));
  }
  return cmd.option('--options-file <file>', 'JSON file of these options (snake_case keys); flags override it');
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** defaults <- --options-file <- explicit flags, validated. */
export function paramsFromFlags<P extends object>(defaults: P, checks: Record<keyof P, (v: unknown) => string | null>,
  opts: Record<string, unknown>, cmd: Command): P {
  const layers: Array<{ source: string; values: Record<string, unknown>; name?: (key: string) => string }> = [];
  const file = opts.optionsFile;
  if (typeof file === 'string') {
    let values: unknown;
    try {
      values = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: cannot read the options file (${(e as Error).message})`);
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values))
      throw new Error(`${file}: the options file must hold a JSON object of options`);
    layers.push({ source: file, values: values as Record<string, unknown> });
  }
  const flags: Record<string, unknown> = {};
  for (const key of Object.keys(defaults)) {
    const name = camel(key);
    if (cmd.getOptionValueSource(name) === 'cli') flags[key] = opts[name];
  }
  layers.push({ source: 'command line', values: flags, name: flag });
  return mergeParams(defaults, checks, layers);
}
