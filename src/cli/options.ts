// Option schemas (train/schema.ts) as CLI flags: every key becomes `--kebab-case` with its doc and
// default; a JSON file given with --options-file supplies values too (flags win). Unknown keys and
// bad values are errors naming the file or the flag (resolveOptions).
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parsePrecision, PRECISIONS, TRAIN_PRECISIONS, type Precision } from '../tensor/precision.js';
import { resolveOptions, type OptionLayer, type OptionSpec, type Schema } from '../train/schema.js';
import { numberFlag } from './flags.js';

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


/** Register one flag per key of the schema (booleans as --x / --no-x), without commander defaults. */
export function addParamFlags<P>(cmd: Command, schema: Schema<P>): Command {
  for (const [key, spec] of Object.entries(schema) as Array<[string, OptionSpec<unknown>]>) {
    const def = spec.default;
    const doc = `${spec.doc} (default: ${JSON.stringify(def)})`;
    if (typeof def === 'boolean') {
      cmd.option(flag(key), doc);
      cmd.option(`--no-${key.replace(/_/g, '-')}`, `turn ${flag(key)} off`);
    } else cmd.option(`${flag(key)} <n>`, doc, numberFlag(flag(key)));
  }
  return cmd.option('--options-file <file>', 'JSON file of these options (snake_case keys); flags override it');
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** defaults <- --options-file <- explicit flags, validated. */
export function paramsFromFlags<P>(schema: Schema<P>, opts: Record<string, unknown>, cmd: Command): P {
  const layers: OptionLayer[] = [];
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
  for (const key of Object.keys(schema)) {
    const name = camel(key);
    if (cmd.getOptionValueSource(name) === 'cli') flags[key] = opts[name];
  }
  layers.push({ source: 'command line', values: flags, name: flag });
  return resolveOptions(schema, layers);
}
