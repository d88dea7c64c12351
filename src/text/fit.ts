// A tokenizer fits a model when every id it can produce has a row in the model's embeddings: the
// tokenizer's vocabulary may be smaller than the model's vocab_size (Hub models often pad it to a
// multiple of 8 or 64), never larger. Checked when a model directory's tokenizer is loaded, and
// wherever data tokenized with one tokenizer meets a model, so a mismatch is named with both files
// up front instead of surfacing as an embedding index out of range mid-run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BertTokenizer } from './tokenizer.js';

/** Throws when ids of a `tokenVocab`-token vocabulary (from `tokenSource`) exceed `modelVocab` (from `modelSource`). */
export function checkTokenizerFits(tokenVocab: number, tokenSource: string, modelVocab: number, modelSource: string): void {
  if (tokenVocab > modelVocab)
    throw new Error(`${tokenSource} has a ${tokenVocab}-token vocabulary but ${modelSource} has vocab_size ${modelVocab}: ids ` +
      `${modelVocab}..${tokenVocab - 1} have no embedding. Use the model's own tokenizer (and data prepared with it); ` +
      'a vocab_size larger than the tokenizer\'s is fine');
}

/** vocab_size of dir/config.json, or null when the directory has no readable config. */
function configVocab(dir: string): number | null {
  try {
    const v = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { vocab_size?: unknown }).vocab_size;
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}

/** The tokenizer of model directory `dir`, checked against its config.json (when there is one). */
export function tokenizerForModel(dir: string): BertTokenizer {
  const tok = BertTokenizer.fromDir(dir);
  const vocab = configVocab(dir);
  if (vocab !== null) checkTokenizerFits(tok.vocabSize, tokenizerFile(dir), vocab, path.join(dir, 'config.json'));
  return tok;
}

/** The file a directory's tokenizer was read from, for messages. */
export function tokenizerFile(dir: string): string {
  const json = path.join(dir, 'tokenizer.json');
  return fs.existsSync(json) ? json : path.join(dir, 'vocab.txt');
}
