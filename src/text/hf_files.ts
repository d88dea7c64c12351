// The Hugging Face side files of a tokenizer directory: reading and writing `tokenizer_config.json`
// (transformers' `PreTrainedTokenizerBase.save_pretrained` format, as in distilbert-base-uncased),
// and the BERT settings read back from a `tokenizer.json` normalizer.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { postProcessorSpecialIds } from './post_processor.js';
import { SPECIAL_TOKENS } from './vocab.js';

/** transformers class named in tokenizer_config.json; both load the same WordPiece files. */
export type TokenizerClass = 'DistilBertTokenizer' | 'BertTokenizer';

/** transformers' default for BERT-family checkpoints: position embeddings stop at 512 (docs/method.md §4). */
export const MODEL_MAX_LENGTH = 512;

/** The BERT text pipeline switches, with their transformers names in the comments. */
export interface BertTokenizerSettings {
  /** do_lower_case: lowercase before WordPiece (uncased models). */
  lowercase: boolean;
  /** strip_accents: NFD then drop combining marks; null = follow `lowercase` (BERT's own rule). */
  stripAccents: boolean | null;
  /** tokenize_chinese_chars: put spaces around CJK ideographs so each becomes its own word. */
  handleChineseChars: boolean;
  tokenizerClass: TokenizerClass;
}

export const DEFAULT_SETTINGS: Readonly<BertTokenizerSettings> = {
  lowercase: true,
  stripAccents: null,
  handleChineseChars: true,
  tokenizerClass: 'DistilBertTokenizer',
};

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function tokenizerClassOf(name: unknown): TokenizerClass | undefined {
  if (name === 'BertTokenizer' || name === 'BertTokenizerFast') return 'BertTokenizer';
  if (name === 'DistilBertTokenizer' || name === 'DistilBertTokenizerFast') return 'DistilBertTokenizer';
  return undefined;
}

/** Settings found in `dir/tokenizer_config.json` (absent file or keys: nothing). */
export function readTokenizerConfig(dir: string): Partial<BertTokenizerSettings> {
  const file = path.join(dir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return {};
  const cfg = readJson(file);
  if (!isObject(cfg)) throw new Error(`${file}: expected a JSON object`);
  const out: Partial<BertTokenizerSettings> = {};
  if (typeof cfg.do_lower_case === 'boolean') out.lowercase = cfg.do_lower_case;
  if (typeof cfg.strip_accents === 'boolean' || cfg.strip_accents === null) out.stripAccents = cfg.strip_accents;
  if (typeof cfg.tokenize_chinese_chars === 'boolean') out.handleChineseChars = cfg.tokenize_chinese_chars;
  const cls = tokenizerClassOf(cfg.tokenizer_class);
  if (cls) out.tokenizerClass = cls;
  return out;
}

/**
 * Parsed tokenizer.json: the model type (we need WordPiece), the BertNormalizer switches if it has
 * one, and the special-token ids its post-processor adds (checked: post_processor.ts).
 */
export function inspectTokenizerJson(json: string, source: string):
  { modelType: unknown; settings: Partial<BertTokenizerSettings>; specialIds: number[] } {
  let obj: unknown;
  try {
    obj = JSON.parse(json);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(obj) || !isObject(obj.model)) throw new Error(`${source}: not a tokenizers JSON file (no "model")`);
  const m = obj.model;
  // The crate loads a WordPiece whose unk_token is not in its vocabulary, then fails every encode.
  if (m.type === 'WordPiece' && !(typeof m.unk_token === 'string' && isObject(m.vocab) && Object.hasOwn(m.vocab, m.unk_token)))
    throw new Error(`${source}: model.unk_token ${JSON.stringify(m.unk_token)} is not in model.vocab; a WordPiece vocabulary needs its unknown token`);
  const settings: Partial<BertTokenizerSettings> = {};
  const n = obj.normalizer;
  if (isObject(n) && n.type === 'BertNormalizer') {
    if (typeof n.lowercase === 'boolean') settings.lowercase = n.lowercase;
    if (typeof n.strip_accents === 'boolean' || n.strip_accents === null) settings.stripAccents = n.strip_accents;
    if (typeof n.handle_chinese_chars === 'boolean') settings.handleChineseChars = n.handle_chinese_chars;
  }
  return { modelType: obj.model.type, settings, specialIds: postProcessorSpecialIds(obj.post_processor, source) };
}

/** tokenizer_config.json text, keys sorted as transformers writes them. */
export function tokenizerConfigJson(s: BertTokenizerSettings, specialIds: Readonly<Record<keyof typeof SPECIAL_TOKENS, number>>): string {
  // Integer-like keys keep ascending numeric order in a JS object, as transformers lists them.
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const role of Object.keys(SPECIAL_TOKENS) as (keyof typeof SPECIAL_TOKENS)[]) {
    addedTokensDecoder[String(specialIds[role])] = {
      content: SPECIAL_TOKENS[role],
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  }
  const cfg = {
    added_tokens_decoder: addedTokensDecoder,
    clean_up_tokenization_spaces: true,
    cls_token: SPECIAL_TOKENS.cls,
    do_basic_tokenize: true,
    do_lower_case: s.lowercase,
    mask_token: SPECIAL_TOKENS.mask,
    model_max_length: MODEL_MAX_LENGTH,
    never_split: null,
    pad_token: SPECIAL_TOKENS.pad,
    sep_token: SPECIAL_TOKENS.sep,
    strip_accents: s.stripAccents,
    tokenize_chinese_chars: s.handleChineseChars,
    tokenizer_class: s.tokenizerClass,
    unk_token: SPECIAL_TOKENS.unk,
  };
  return `${JSON.stringify(cfg, null, 2)}\n`;
}
