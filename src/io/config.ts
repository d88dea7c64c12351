// Typed model configs that read and write Hugging Face `config.json` (docs/method.md §2). Keys keep the HF
// spelling so a directory we write loads in transformers (`from_pretrained`) and vice versa.
// Overrides are type-checked and unknown keys rejected (candle's serde Config, nanoGPT's
// configurator.py): a typo such as `n_layer` must fail loudly, not train the default model.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from './atomic.js';

/** Teacher: HF `BertConfig`. */
export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: 'gelu';
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  /** The MLM decoder is the word-embedding matrix (HF PretrainedConfig default); false: cls.predictions.decoder.weight is its own. */
  tie_word_embeddings: boolean;
  pruned_heads: PrunedHeads;
}

/**
 * HF `pruned_heads`: {"<layer>": [heads removed from that layer]}, in the layer's original head
 * numbering, with string keys as JSON writes them. Such a layer has (heads - removed) * head size
 * rows in its query/key/value weights (modeling_utils.py prune_heads, applied by from_pretrained).
 */
export type PrunedHeads = Readonly<Record<string, readonly number[]>>;

/** Student: HF `DistilBertConfig`. LayerNorm eps is fixed at 1e-12 by the HF model, so it is no key here. */
export interface DistilBertConfig {
  vocab_size: number;
  dim: number;
  n_layers: number;
  n_heads: number;
  hidden_dim: number;
  dropout: number;
  attention_dropout: number;
  activation: 'gelu';
  max_position_embeddings: number;
  initializer_range: number;
  qa_dropout: number;
  seq_classif_dropout: number;
  sinusoidal_pos_embds: false;
  pad_token_id: number;
  tie_weights_: boolean;
  /** vocab_projector.weight is the word-embedding matrix (HF default); false: it is a weight of its own. */
  tie_word_embeddings: boolean;
  pruned_heads: PrunedHeads;
}

/** Defaults of transformers' BertConfig, which are bert-base-uncased. */
export const BERT_DEFAULTS: Readonly<BertConfig> = {
  vocab_size: 30522, // WordPiece uncased vocabulary (docs/method.md §4)
  hidden_size: 768, // H, width of every hidden state
  num_hidden_layers: 12, // L, encoder layers
  num_attention_heads: 12, // head size 768 / 12 = 64
  intermediate_size: 3072, // FFN inner width, 4H
  hidden_act: 'gelu', // exact erf GELU, the only activation implemented (docs/method.md §2)
  hidden_dropout_prob: 0.1, // dropout on embeddings and sub-layer outputs
  attention_probs_dropout_prob: 0.1, // dropout on attention probabilities
  max_position_embeddings: 512, // learned absolute positions, tokens
  type_vocab_size: 2, // token-type (segment) ids 0/1
  initializer_range: 0.02, // std of the normal init of weights
  layer_norm_eps: 1e-12, // every LayerNorm (docs/method.md §2)
  pad_token_id: 0, // [PAD]
  tie_word_embeddings: true, // the MLM decoder shares the word embeddings (docs/method.md §2)
  pruned_heads: Object.freeze({}), // no head removed (Michel et al. 2019 head pruning: src/prune/)
};

/** Defaults of transformers' DistilBertConfig, which are distilbert-base-uncased. */
export const DISTILBERT_DEFAULTS: Readonly<DistilBertConfig> = {
  vocab_size: 30522, // same WordPiece vocabulary as the teacher
  dim: 768, // hidden width, same as BERT-base so teacher layers copy over (docs/method.md §3)
  n_layers: 6, // half of BERT-base
  n_heads: 12, // head size 768 / 12 = 64
  hidden_dim: 3072, // FFN inner width, 4 * dim
  dropout: 0.1, // dropout on embeddings and sub-layer outputs (docs/method.md §7)
  attention_dropout: 0.1, // dropout on attention probabilities
  activation: 'gelu', // exact erf GELU, the only activation implemented
  max_position_embeddings: 512, // learned absolute positions, tokens
  initializer_range: 0.02, // std of the normal init of weights
  qa_dropout: 0.1, // dropout before qa_outputs (question answering head)
  seq_classif_dropout: 0.2, // dropout before the classifier (docs/method.md §2)
  sinusoidal_pos_embds: false, // learned positions; sinusoidal ones are not implemented
  pad_token_id: 0, // [PAD]
  tie_weights_: true, // older transformers' spelling of the tie, written for them
  tie_word_embeddings: true, // vocab_projector.weight is the word embedding matrix (docs/method.md §2)
  pruned_heads: Object.freeze({}), // no head removed
};

/** What a key accepts; the description doubles as the fix in error messages. */
type Rule =
  | { kind: 'int'; min: number }
  | { kind: 'prob' }
  | { kind: 'positive' }
  | { kind: 'bool' }
  | { kind: 'prunedHeads' }
  | { kind: 'only'; value: string | boolean; why: string };

const POSITIVE_INT: Rule = { kind: 'int', min: 1 };
const PROB: Rule = { kind: 'prob' };
const GELU: Rule = { kind: 'only', value: 'gelu', why: 'only the exact erf GELU is implemented; set it to "gelu"' };

const BERT_RULES: Record<keyof BertConfig, Rule> = {
  vocab_size: POSITIVE_INT,
  hidden_size: POSITIVE_INT,
  num_hidden_layers: POSITIVE_INT,
  num_attention_heads: POSITIVE_INT,
  intermediate_size: POSITIVE_INT,
  hidden_act: GELU,
  hidden_dropout_prob: PROB,
  attention_probs_dropout_prob: PROB,
  max_position_embeddings: POSITIVE_INT,
  type_vocab_size: POSITIVE_INT,
  initializer_range: { kind: 'positive' },
  layer_norm_eps: { kind: 'positive' },
  pad_token_id: { kind: 'int', min: 0 },
  tie_word_embeddings: { kind: 'bool' },
  pruned_heads: { kind: 'prunedHeads' },
};

const DISTILBERT_RULES: Record<keyof DistilBertConfig, Rule> = {
  vocab_size: POSITIVE_INT,
  dim: POSITIVE_INT,
  n_layers: POSITIVE_INT,
  n_heads: POSITIVE_INT,
  hidden_dim: POSITIVE_INT,
  dropout: PROB,
  attention_dropout: PROB,
  activation: GELU,
  max_position_embeddings: POSITIVE_INT,
  initializer_range: { kind: 'positive' },
  qa_dropout: PROB,
  seq_classif_dropout: PROB,
  sinusoidal_pos_embds: {
    kind: 'only',
    value: false,
    why: 'sinusoidal position embeddings are not supported; set it to false (learned positions)',
  },
  pad_token_id: { kind: 'int', min: 0 },
  tie_weights_: { kind: 'bool' },
  tie_word_embeddings: { kind: 'bool' },
  pruned_heads: { kind: 'prunedHeads' },
};

const describe = (v: unknown): string =>
  `${JSON.stringify(v) ?? String(v)} (${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v})`;

/** Returns what is wrong with `value`, or null when it is acceptable. */
function problem(value: unknown, rule: Rule): string | null {
  const isNum = typeof value === 'number' && Number.isFinite(value);
  switch (rule.kind) {
    case 'int':
      return Number.isSafeInteger(value) && (value as number) >= rule.min
        ? null
        : `must be an integer >= ${rule.min}, got ${describe(value)}`;
    case 'prob':
      return isNum && value >= 0 && value < 1 ? null : `must be a probability in [0, 1), got ${describe(value)}`;
    case 'positive':
      return isNum && value > 0 ? null : `must be a number > 0, got ${describe(value)}`;
    case 'bool':
      return typeof value === 'boolean' ? null : `must be true or false, got ${describe(value)}`;
    case 'prunedHeads': {
      const form = `must map layer indices to lists of head indices, e.g. {"0": [1, 3]}, got ${describe(value)}`;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return form;
      for (const [layer, heads] of Object.entries(value))
        if (!/^(0|[1-9]\d*)$/.test(layer) || !Array.isArray(heads) || !heads.every((h) => Number.isSafeInteger(h) && h >= 0))
          return `${form} (entry "${layer}": ${JSON.stringify(heads)})`;
      return null;
    }
    case 'only':
      if (typeof value !== typeof rule.value) return `must be a ${typeof rule.value}, got ${describe(value)}`;
      return value === rule.value ? null : `${JSON.stringify(value)} is not supported: ${rule.why}`;
  }
}

/**
 * Defaults + values, checked against `rules`. `strict` rejects keys we do not know (overrides);
 * config.json files are read non-strictly because HF writes many keys we have no use for.
 */
function build<C extends object>(
  name: string,
  defaults: Readonly<C>,
  rules: Record<keyof C, Rule>,
  values: object,
  source: string,
  strict: boolean,
): C {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(values)) {
    if (!Object.hasOwn(rules, key)) {
      if (strict) throw new Error(`${source}: unknown ${name} key "${key}"; allowed keys: ${Object.keys(rules).join(', ')}`);
      continue;
    }
    const p = problem(value, rules[key as keyof C]);
    if (p) throw new Error(`${source}: ${name}.${key} ${p}`);
    out[key] = value;
  }
  return out as C;
}

function checkSizes(source: string, width: [string, number], heads: [string, number], vocab: number, pad: number): void {
  if (width[1] % heads[1] !== 0) {
    throw new Error(
      `${source}: ${width[0]} ${width[1]} is not divisible by ${heads[0]} ${heads[1]}; ` +
        `pick sizes with ${width[0]} = ${heads[0]} * head size`,
    );
  }
  if (pad >= vocab) {
    throw new Error(`${source}: pad_token_id ${pad} is not below vocab_size ${vocab}; set it to the [PAD] id (0 for BERT vocabularies)`);
  }
}

/**
 * pruned_heads checked against the layer and head counts, each list sorted without repeats (HF keeps
 * a set per layer); layers with nothing pruned are dropped.
 */
function prunedHeadsFor(source: string, pruned: PrunedHeads, layers: [string, number], heads: [string, number]): PrunedHeads {
  const out: Record<string, number[]> = {};
  for (const [layer, list] of Object.entries(pruned)) {
    if (Number(layer) >= layers[1])
      throw new Error(`${source}: pruned_heads names layer ${layer}, but ${layers[0]} is ${layers[1]}; use the config.json saved with these weights`);
    const bad = list.find((h) => h >= heads[1]);
    if (bad !== undefined)
      throw new Error(`${source}: pruned_heads of layer ${layer} names head ${bad}, but ${heads[0]} is ${heads[1]} (heads count from 0)`);
    if (list.length > 0) out[layer] = [...new Set(list)].sort((a, b) => a - b);
  }
  return out;
}

function bertFrom(values: object, source: string, strict: boolean): BertConfig {
  const c = build('BertConfig', BERT_DEFAULTS, BERT_RULES, values, source, strict);
  checkSizes(source, ['hidden_size', c.hidden_size], ['num_attention_heads', c.num_attention_heads], c.vocab_size, c.pad_token_id);
  c.pruned_heads = prunedHeadsFor(source, c.pruned_heads, ['num_hidden_layers', c.num_hidden_layers],
    ['num_attention_heads', c.num_attention_heads]);
  return c;
}

function distilBertFrom(values: object, source: string, strict: boolean): DistilBertConfig {
  const c = build('DistilBertConfig', DISTILBERT_DEFAULTS, DISTILBERT_RULES, values, source, strict);
  checkSizes(source, ['dim', c.dim], ['n_heads', c.n_heads], c.vocab_size, c.pad_token_id);
  c.pruned_heads = prunedHeadsFor(source, c.pruned_heads, ['n_layers', c.n_layers], ['n_heads', c.n_heads]);
  return c;
}

/** BERT-base defaults with type-checked overrides; unknown keys are errors. */
export function bertConfig(overrides: Partial<BertConfig> = {}): BertConfig {
  return bertFrom(overrides, 'BertConfig overrides', true);
}

/** DistilBERT-base defaults with type-checked overrides; unknown keys are errors. */
export function distilBertConfig(overrides: Partial<DistilBertConfig> = {}): DistilBertConfig {
  return distilBertFrom(overrides, 'DistilBertConfig overrides', true);
}

export type ModelConfig =
  | { kind: 'bert'; config: BertConfig; raw: Record<string, unknown> }
  | { kind: 'distilbert'; config: DistilBertConfig; raw: Record<string, unknown> };

/** Read `dir/config.json` of a Hugging Face model directory (or a config file itself); `model_type` decides the kind. */
export function readModelConfig(dir: string): ModelConfig {
  const file = fs.statSync(dir, { throwIfNoEntry: false })?.isFile() ? dir : path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message;
    throw new Error(`${file}: cannot read config (${why}); pass a Hugging Face model directory (save_pretrained writes config.json)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}); fix the file or re-export it with save_pretrained()`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new Error(`${file}: config.json must hold a JSON object; re-export it with save_pretrained()`);
  }
  const values = raw as Record<string, unknown>;
  const type = values.model_type;
  if (type === 'bert') {
    // HF BERT also offers relative position schemes; loading those weights as absolute ones would be silently wrong.
    const pos = values.position_embedding_type;
    if (pos !== undefined && pos !== 'absolute') {
      throw new Error(
        `${file}: position_embedding_type ${JSON.stringify(pos)} is not supported; only "absolute" (learned) positions are implemented`,
      );
    }
    return { kind: 'bert', config: bertFrom(values, file, false), raw: values };
  }
  if (type === 'distilbert') return { kind: 'distilbert', config: distilBertFrom(values, file, false), raw: values };
  const what = type === undefined ? 'model_type is missing' : `model_type ${JSON.stringify(type)} is not supported`;
  throw new Error(`${file}: ${what}; set "model_type" to "bert" (teacher) or "distilbert" (student)`);
}

/** transformers release whose config format we write; any recent transformers reads it. */
const TRANSFORMERS_VERSION = '4.46.0';

/** Write `dir/config.json` for a DistilBERT; `extra` adds keys such as id2label or overrides `architectures`. */
export function writeDistilBertConfig(dir: string, config: DistilBertConfig, extra: Record<string, unknown> = {}): void {
  writeConfig(dir, 'distilbert', distilBertFrom(config, `${dir}: DistilBertConfig`, true), 'DistilBertForMaskedLM', extra);
}

/** Write `dir/config.json` for a BERT; `extra` adds keys such as id2label or overrides `architectures`. */
export function writeBertConfig(dir: string, config: BertConfig, extra: Record<string, unknown> = {}): void {
  writeConfig(dir, 'bert', bertFrom(config, `${dir}: BertConfig`, true), 'BertForMaskedLM', extra);
}

function writeConfig(dir: string, modelType: string, config: BertConfig | DistilBertConfig, architecture: string,
  extra: Record<string, unknown>): void {
  const file = path.join(dir, 'config.json');
  for (const key of Object.keys(extra)) {
    if (key === 'model_type' || Object.hasOwn(config, key)) {
      throw new Error(`${file}: extra key "${key}" would contradict the model config; change the config object instead`);
    }
  }
  // An empty pruned_heads and a true tie_word_embeddings are left out, as save_pretrained leaves out
  // values equal to PretrainedConfig's defaults.
  const { pruned_heads, tie_word_embeddings, ...rest } = config;
  const json: Record<string, unknown> = {
    architectures: [architecture],
    model_type: modelType,
    ...rest,
    ...(Object.keys(pruned_heads).length > 0 ? { pruned_heads } : {}),
    ...(tie_word_embeddings ? {} : { tie_word_embeddings }),
    transformers_version: TRANSFORMERS_VERSION,
    ...extra,
  };
  // Sorted keys, 2-space indent and a final newline, as transformers' to_json_file writes them.
  const sorted = Object.fromEntries(Object.keys(json).sort().map((k) => [k, json[k]]));
  fs.mkdirSync(dir, { recursive: true });
  atomicWriteFile(file, `${JSON.stringify(sorted, null, 2)}\n`);
}
