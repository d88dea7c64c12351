// WordPiece vocabulary files (`vocab.txt`): one token per line, the line number (from 0) is the id.
// Same format as Google BERT's `load_vocab` and Hugging Face `BertTokenizer.save_vocabulary`.

import * as fs from 'node:fs';

/** The special tokens every BERT vocabulary must hold, by role (docs/method.md §4: [PAD]=0 [UNK]=100 [CLS]=101 [SEP]=102 [MASK]=103 in bert-base-uncased). */
export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

/**
 * Parse vocab.txt text into tokens in id order. A trailing newline ends the last line (it does not
 * add an empty token); `\r\n` endings are accepted. An empty line inside the file or a token seen
 * twice is an error: either would shift or merge ids and silently misalign every embedding row.
 */
export function parseVocabTxt(text: string, source = 'vocab.txt'): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  const tokens = lines.map((line, i) => {
    const token = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (token === '') throw new Error(`${source}: line ${i + 1} is empty; a vocab.txt holds one token per line, its line number (from 0) is the id`);
    const first = seen.get(token);
    if (first !== undefined) throw new Error(`${source}: token ${JSON.stringify(token)} appears on lines ${first + 1} and ${i + 1}; ids must be unique`);
    seen.set(token, i);
    return token;
  });
  if (tokens.length === 0) throw new Error(`${source}: the vocabulary is empty`);
  return tokens;
}

export function readVocabTxt(file: string): string[] {
  if (!fs.existsSync(file)) throw new Error(`vocab file not found: ${file}`);
  return parseVocabTxt(fs.readFileSync(file, 'utf8'), file);
}

/** vocab.txt content: every line, the last one included, ends with "\n" (as Hugging Face writes it; bert-base-uncased's md5 depends on it). */
export function formatVocabTxt(tokens: readonly string[]): string {
  return tokens.map((t) => `${t}\n`).join('');
}

/** token -> id map as the `tokenizers` WordPiece model takes it. */
export function vocabRecord(tokens: readonly string[]): Record<string, number> {
  // Object.fromEntries defines own properties, so a token such as "__proto__" is an ordinary key.
  return Object.fromEntries(tokens.map((t, i) => [t, i]));
}

/** Tokens in id order from a token -> id map; the ids must be exactly 0..n-1. */
export function tokensFromRecord(vocab: Record<string, number>, source: string): string[] {
  const entries = Object.entries(vocab);
  const tokens = new Array<string | undefined>(entries.length).fill(undefined);
  for (const [t, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= tokens.length || tokens[id] !== undefined) {
      throw new Error(`${source}: vocabulary ids are not the dense range 0..${entries.length - 1} (token ${JSON.stringify(t)} has id ${id})`);
    }
    tokens[id] = t;
  }
  return tokens as string[];
}
