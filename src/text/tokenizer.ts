// BERT WordPiece tokenizer (docs/method.md §4) on Hugging Face's Rust `tokenizers` (npm `tokenizers`, N-API
// binary). The pipeline is the one `BertTokenizerFast` builds (transformers
// `convert_slow_tokenizer.BertConverter`): BertNormalizer (clean text, CJK spacing, strip accents,
// lowercase) -> BertPreTokenizer (whitespace and punctuation) -> WordPiece (greedy longest match,
// "##" continuations, words over 100 chars -> [UNK]) -> template "[CLS] $A [SEP]" /
// "[CLS] $A [SEP] $B:1 [SEP]:1" -> WordPiece decoder. The files it saves load in transformers.
//
// The binding only encodes asynchronously (work runs on libuv's thread pool), so `encode` and
// `encodeBatch` return promises; `decode` is synchronous.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AddedToken, Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, templateProcessing, wordPieceDecoder, type Decoder } from 'tokenizers';
import { atomicWriteFile } from '../io/atomic.js';
import {
  DEFAULT_SETTINGS,
  inspectTokenizerJson,
  readTokenizerConfig,
  tokenizerConfigJson,
  type BertTokenizerSettings,
  type TokenizerClass,
} from './hf_files.js';
import { SPECIAL_TOKENS, formatVocabTxt, readVocabTxt, tokensFromRecord, vocabRecord } from './vocab.js';

export { MODEL_MAX_LENGTH, type BertTokenizerSettings, type TokenizerClass } from './hf_files.js';
export { SPECIAL_TOKENS } from './vocab.js';

/** BERT's WordPiece limit (`max_input_chars_per_word`): longer words become one [UNK]. */
export const MAX_INPUT_CHARS_PER_WORD = 100;

export interface BertTokenizerOptions {
  /** Lowercase the text (uncased models). Default true. */
  lowercase?: boolean;
  /** Strip accents (NFD, drop combining marks). Default: same as `lowercase`, as in BERT. */
  stripAccents?: boolean;
  /** Split CJK ideographs into one word each. Default true. */
  handleChineseChars?: boolean;
  /** `tokenizer_class` written to tokenizer_config.json. Default "DistilBertTokenizer". */
  tokenizerClass?: TokenizerClass;
}

/** One encoded sequence (or pair); all arrays have one entry per token. */
export interface Encoded {
  ids: number[];
  tokens: string[];
  /** 0 for [CLS] A [SEP], 1 for B [SEP] of a pair. */
  typeIds: number[];
  /** All 1: nothing is padded. */
  attentionMask: number[];
  /** 1 where the post-processor added [CLS]/[SEP]. */
  specialTokensMask: number[];
  /**
   * [start, end) of each token in its own text (`text` for type 0, `pair` for type 1), in UTF-16
   * code units (JS string indices); [0, 0] for [CLS]/[SEP]. The binding counts code points, so
   * offsets after an astral character are converted.
   */
  offsets: Array<[number, number]>;
}

type SpecialRole = keyof typeof SPECIAL_TOKENS;

/** Code-point offset -> UTF-16 index of `text`, or null when the two agree (no astral characters). */
function codePointIndex(text: string): Int32Array | null {
  if (!/[\uD800-\uDBFF]/.test(text)) return null;
  const map: number[] = [];
  let i = 0;
  for (const ch of text) {
    map.push(i);
    i += ch.length;
  }
  map.push(i);
  return Int32Array.from(map);
}

const SINGLE_TEMPLATE = `${SPECIAL_TOKENS.cls} $A ${SPECIAL_TOKENS.sep}`;
const PAIR_TEMPLATE = `${SPECIAL_TOKENS.cls} $A ${SPECIAL_TOKENS.sep} $B:1 ${SPECIAL_TOKENS.sep}:1`;

/**
 * transformers `PreTrainedTokenizerBase.clean_up_tokenization`, applied to the whole decoded text.
 * The Rust WordPiece decoder's own cleanup works token by token, so it cannot join "isn ' t".
 */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** Which file of `dir` a tokenizer loads from, with the fix when there is none. */
function missingFilesError(dir: string): Error {
  return new Error(
    `no tokenizer in ${dir}: expected tokenizer.json (Hugging Face tokenizers format) or vocab.txt (one WordPiece token per line). ` +
      'Point at a model directory saved by this project or by transformers `save_pretrained`, ' +
      'or leave the tokenizer unset to use the default bert-base-uncased vocabulary (built by `npm run setup` into assets/bert-base-uncased).',
  );
}

/** The bytes `Tokenizer.save` writes (the binding has no to-string): saved to a private temp dir and read back. */
function serialize(tk: Tokenizer): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distil-tokenizer-'));
  try {
    const file = path.join(tmp, 'tokenizer.json');
    tk.save(file, true);
    return fs.readFileSync(file, 'utf8');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export class BertTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  /** sha256 (hex) of the tokenizer.json text `save` writes: identifies the tokenizer in data/meta.json. */
  readonly hash: string;
  readonly settings: Readonly<BertTokenizerSettings>;
  private readonly tk: Tokenizer;
  private readonly json: string;
  private readonly decoder: Decoder;
  private readonly specialIdSet: ReadonlySet<number>;
  private tokensCache: readonly string[] | undefined;

  /** Use `fromDir` / `fromVocab` / `fromTokens`. Sets no truncation or padding: the data pipeline cuts long sequences itself (docs/method.md §4). */
  private constructor(tk: Tokenizer, settings: BertTokenizerSettings, private readonly source: string) {
    tk.disableTruncation();
    tk.disablePadding();
    // Look the special tokens up before registering them below: adding a missing one would append it as a new id.
    const ids = {} as Record<SpecialRole, number>;
    const missing: string[] = [];
    for (const role of Object.keys(SPECIAL_TOKENS) as SpecialRole[]) {
      const id = tk.tokenToId(SPECIAL_TOKENS[role]);
      if (id === null || id === undefined) missing.push(SPECIAL_TOKENS[role]);
      else ids[role] = id;
    }
    if (missing.length > 0) throw new Error(`${source}: the vocabulary lacks ${missing.join(' ')}; a BERT vocabulary needs ${Object.values(SPECIAL_TOKENS).join(' ')}`);
    // Special tokens are "added tokens" as in HF's bert-base-uncased tokenizer.json: "[MASK]" in the
    // text is matched whole, never lowercased or split; re-adding ones already registered is a no-op.
    tk.addAddedTokens(Object.values(SPECIAL_TOKENS).map((t) => new AddedToken(t, true, { normalized: false })));
    // Checked here, not on first use: ids outside a dense 0..n-1 range (a damaged tokenizer.json)
    // would otherwise surface later as an out-of-range id in decode or an embedding lookup.
    this.tokensCache = Object.freeze(tokensFromRecord(tk.getVocab(true), source));
    this.vocabSize = tk.getVocabSize(true);
    ({ pad: this.padId, unk: this.unkId, cls: this.clsId, sep: this.sepId, mask: this.maskId } = ids);
    this.specialIdSet = new Set(Object.values(ids));
    this.tk = tk;
    this.settings = Object.freeze({ ...settings });
    this.decoder = tk.getDecoder() ?? wordPieceDecoder('##', true);
    this.json = serialize(tk);
    this.hash = createHash('sha256').update(this.json, 'utf8').digest('hex');
  }

  /**
   * Load `dir/tokenizer.json`, or build from `dir/vocab.txt` when there is none; in both cases
   * `dir/tokenizer_config.json`, when present, supplies do_lower_case / strip_accents /
   * tokenize_chinese_chars / tokenizer_class.
   */
  static fromDir(dir: string): BertTokenizer {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`tokenizer directory not found: ${dir}`);
    const config = readTokenizerConfig(dir);
    const jsonFile = path.join(dir, 'tokenizer.json');
    if (fs.existsSync(jsonFile)) return BertTokenizer.fromJson(fs.readFileSync(jsonFile, 'utf8'), config, jsonFile);
    const vocabFile = path.join(dir, 'vocab.txt');
    if (fs.existsSync(vocabFile)) return BertTokenizer.fromVocab(vocabFile, { ...config, stripAccents: config.stripAccents ?? undefined });
    throw missingFilesError(dir);
  }

  /** Build the BERT pipeline around the WordPiece vocabulary in `vocabTxtPath`. */
  static fromVocab(vocabTxtPath: string, options: BertTokenizerOptions = {}): BertTokenizer {
    return BertTokenizer.fromTokens(readVocabTxt(vocabTxtPath), options, vocabTxtPath);
  }

  /** Build the BERT pipeline around `tokens` (id = index). */
  static fromTokens(tokens: readonly string[], options: BertTokenizerOptions = {}, source = 'vocabulary'): BertTokenizer {
    const settings: BertTokenizerSettings = {
      lowercase: options.lowercase ?? DEFAULT_SETTINGS.lowercase,
      stripAccents: options.stripAccents ?? null,
      handleChineseChars: options.handleChineseChars ?? DEFAULT_SETTINGS.handleChineseChars,
      tokenizerClass: options.tokenizerClass ?? DEFAULT_SETTINGS.tokenizerClass,
    };
    const missing = Object.values(SPECIAL_TOKENS).filter((t) => !tokens.includes(t));
    if (missing.length > 0) throw new Error(`${source}: the vocabulary lacks ${missing.join(' ')}; a BERT vocabulary needs ${Object.values(SPECIAL_TOKENS).join(' ')}`);
    const tk = new Tokenizer(
      WordPiece.init(vocabRecord(tokens), { unkToken: SPECIAL_TOKENS.unk, continuingSubwordPrefix: '##', maxInputCharsPerWord: MAX_INPUT_CHARS_PER_WORD }),
    );
    tk.setNormalizer(
      bertNormalizer({
        cleanText: true,
        handleChineseChars: settings.handleChineseChars,
        // Leaving it unset keeps `"strip_accents": null` in tokenizer.json, which means "follow lowercase".
        ...(settings.stripAccents === null ? {} : { stripAccents: settings.stripAccents }),
        lowercase: settings.lowercase,
      }),
    );
    tk.setPreTokenizer(bertPreTokenizer());
    const cls = tokens.indexOf(SPECIAL_TOKENS.cls);
    const sep = tokens.indexOf(SPECIAL_TOKENS.sep);
    tk.setPostProcessor(templateProcessing(SINGLE_TEMPLATE, PAIR_TEMPLATE, [[SPECIAL_TOKENS.cls, cls], [SPECIAL_TOKENS.sep, sep]]));
    tk.setDecoder(wordPieceDecoder('##', true));
    return new BertTokenizer(tk, settings, source);
  }

  /** Load tokenizer.json text (must hold a WordPiece model); `config` fills settings the JSON lacks. */
  static fromJson(json: string, config: Partial<BertTokenizerSettings> = {}, source = 'tokenizer.json'): BertTokenizer {
    const { modelType, settings: fromNormalizer, specialIds } = inspectTokenizerJson(json, source);
    if (modelType !== 'WordPiece') throw new Error(`${source}: model type ${JSON.stringify(modelType)} is not WordPiece; only BERT WordPiece tokenizers are supported`);
    let tk: Tokenizer;
    try {
      tk = Tokenizer.fromString(json);
    } catch (e) {
      throw new Error(`${source}: cannot load (${(e as Error).message})`);
    }
    const settings: BertTokenizerSettings = { ...DEFAULT_SETTINGS, ...config, ...fromNormalizer };
    // A file without post-processor would encode without [CLS]/[SEP]; docs/method.md §4 needs them on every line.
    if (tk.getPostProcessor() === null) {
      const cls = tk.tokenToId(SPECIAL_TOKENS.cls);
      const sep = tk.tokenToId(SPECIAL_TOKENS.sep);
      if (cls !== null && sep !== null) {
        tk.setPostProcessor(templateProcessing(SINGLE_TEMPLATE, PAIR_TEMPLATE, [[SPECIAL_TOKENS.cls, cls], [SPECIAL_TOKENS.sep, sep]]));
      }
    }
    if (tk.getDecoder() === null) tk.setDecoder(wordPieceDecoder('##', true));
    const tok = new BertTokenizer(tk, settings, source);
    const outside = specialIds.find((id) => id >= tok.vocabSize);
    if (outside !== undefined)
      throw new Error(`${source}: post_processor adds id ${outside}, outside the vocabulary of ${tok.vocabSize} tokens; re-save the tokenizer`);
    return tok;
  }

  /** `[CLS] text [SEP]`, or `[CLS] text [SEP] pair [SEP]` with type ids 0…0 1…1. No truncation, no padding. */
  async encode(text: string, pair?: string): Promise<Encoded> {
    if (typeof text !== 'string' || (pair !== undefined && typeof pair !== 'string')) throw new TypeError('encode: text and pair must be strings');
    const e = await this.binding(() => this.tk.encode(text, pair ?? null));
    const typeIds = e.getTypeIds();
    const maps = [codePointIndex(text), pair === undefined ? null : codePointIndex(pair)];
    const offsets = e.getOffsets().map(([a, b], i): [number, number] => {
      const m = maps[typeIds[i]!];
      return m ? [m[a!]!, m[b!]!] : [a!, b!];
    });
    return {
      ids: e.getIds(), tokens: e.getTokens(), typeIds, attentionMask: e.getAttentionMask(), specialTokensMask: e.getSpecialTokensMask(), offsets,
    };
  }

  /** Ids of `[CLS] text [SEP]` for each text, in order (tokenized in parallel by the Rust side). */
  async encodeBatch(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    if (!texts.every((t) => typeof t === 'string')) throw new TypeError('encodeBatch: every text must be a string');
    const encodings = await this.binding(() => this.tk.encodeBatch([...texts]));
    return encodings.map((e) => e.getIds());
  }

  /** A call into the Rust binding; its errors come from the loaded files, so they name them. */
  private async binding<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw new Error(`${this.source}: the tokenizer failed (${(e as Error).message}); check or re-save the tokenizer files`);
    }
  }

  /**
   * Text of `ids`: "##" pieces joined to their word, then (unless `cleanUpTokenizationSpaces` is
   * false) the spaces BERT's tokenization put before punctuation and contractions removed, as
   * transformers' `decode` does with clean_up_tokenization_spaces. Special tokens are kept unless
   * `skipSpecialTokens` (transformers' default too).
   */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean; cleanUpTokenizationSpaces?: boolean } = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToToken(id);
      if (t === undefined) throw new RangeError(`decode: id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
      if (options.skipSpecialTokens && this.specialIdSet.has(id)) continue;
      tokens.push(t);
    }
    const text = this.decoder.decode(tokens);
    return options.cleanUpTokenizationSpaces === false ? text : cleanUpTokenization(text);
  }

  tokenToId(token: string): number | undefined {
    return this.tk.tokenToId(token) ?? undefined;
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) return undefined;
    return this.tk.idToToken(id) ?? undefined;
  }

  /** Every token in id order (the content of vocab.txt). */
  vocab(): readonly string[] {
    this.tokensCache ??= Object.freeze(tokensFromRecord(this.tk.getVocab(true), 'tokenizer'));
    return this.tokensCache;
  }

  /** The tokenizer.json text `save` writes (its sha256 is `hash`). */
  toJson(): string {
    return this.json;
  }

  /**
   * Write `dir/vocab.txt`, `dir/tokenizer_config.json` and `dir/tokenizer.json` (last, so a reader
   * that sees it finds the others), each atomically. transformers loads the directory with
   * `AutoTokenizer.from_pretrained(dir)`.
   */
  save(dir: string, options: { tokenizerClass?: TokenizerClass } = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    const settings = { ...this.settings, tokenizerClass: options.tokenizerClass ?? this.settings.tokenizerClass };
    const specialIds = { pad: this.padId, unk: this.unkId, cls: this.clsId, sep: this.sepId, mask: this.maskId };
    atomicWriteFile(path.join(dir, 'vocab.txt'), formatVocabTxt(this.vocab()));
    atomicWriteFile(path.join(dir, 'tokenizer_config.json'), tokenizerConfigJson(settings, specialIds));
    atomicWriteFile(path.join(dir, 'tokenizer.json'), this.json);
  }
}
