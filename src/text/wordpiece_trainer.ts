// Learn a WordPiece vocabulary from text, as Hugging Face's `BertWordPieceTokenizer.train` does
// (tokenizers' WordPieceTrainer, which runs BPE merges over words whose non-initial pieces carry the
// "##" prefix): words come from the BERT normalizer and pre-tokenizer of the `tokenizers` package,
// so training sees exactly what encoding will; the most frequent adjacent pair of pieces is merged
// until the vocabulary holds `vocabSize` tokens. The result is an ordinary BERT vocabulary: the
// tokenizer built on it (BertTokenizer.fromTokens) is `tokenizers`' own WordPiece, and the files load
// in transformers as a BertTokenizerFast.
import { bertNormalizer, bertPreTokenizer } from 'tokenizers';
import { readLines } from '../data/text_files.js';
import { MAX_INPUT_CHARS_PER_WORD } from './tokenizer.js';
import { SPECIAL_TOKENS } from './vocab.js';

export interface WordPieceTrainOptions {
  /** Tokens in the vocabulary, the five special tokens included. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged (HF default 2). */
  minFrequency?: number;
  /** Keep only this many characters, the most frequent (HF default 1000); words with others are left out. */
  limitAlphabet?: number;
  /** Called every 10,000 lines read and after every 100 merges. */
  onProgress?: (p: { phase: 'count' | 'merge'; done: number; total: number }) => void;
}

const PREFIX = '##';

/** Word frequencies of `files`, as the BERT pipeline splits them (normalize, then pre-tokenize). */
export async function countWords(files: readonly string[], lowercase = true, onLines?: (n: number) => void): Promise<Map<string, number>> {
  const normalizer = bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase });
  const pre = bertPreTokenizer();
  const counts = new Map<string, number>();
  let lines = 0;
  for (const file of files)
    for await (const line of readLines(file)) {
      for (const [w] of pre.preTokenizeString(normalizer.normalizeString(line))) counts.set(w, (counts.get(w) ?? 0) + 1);
      if (++lines % 10_000 === 0) onLines?.(lines);
    }
  return counts;
}

/** Max-heap of (count, pair key) with lazy deletion: stale entries are skipped when popped. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  push(count: number, key: number): void {
    const c = this.counts, k = this.keys;
    let i = c.length;
    c.push(count);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(count, key, c[p]!, k[p]!)) break;
      c[i] = c[p]!;
      k[i] = k[p]!;
      i = p;
    }
    c[i] = count;
    k[i] = key;
  }
  pop(): [number, number] | null {
    const c = this.counts, k = this.keys;
    if (c.length === 0) return null;
    const top: [number, number] = [c[0]!, k[0]!];
    const lastC = c.pop()!, lastK = k.pop()!;
    if (c.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i, mc = lastC, mk = lastK;
        if (l < c.length && this.above(c[l]!, k[l]!, mc, mk)) (m = l), (mc = c[l]!), (mk = k[l]!);
        if (r < c.length && this.above(c[r]!, k[r]!, mc, mk)) (m = r), (mc = c[r]!), (mk = k[r]!);
        if (m === i) break;
        c[i] = mc;
        k[i] = mk;
        i = m;
      }
      c[i] = lastC;
      k[i] = lastK;
    }
    return top;
  }
  /** Higher count first; ties go to the smaller key, so training is deterministic. */
  private above(c1: number, k1: number, c2: number, k2: number): boolean {
    return c1 > c2 || (c1 === c2 && k1 < k2);
  }
}

/** Pair keys: a * KEY + b, exact in a double for ids below 2^21. */
const KEY = 2 ** 21;

/**
 * The vocabulary (id = index): [PAD] [UNK] [CLS] [SEP] [MASK], the alphabet (each kept character
 * alone and as "##c"), then the merged tokens in the order they were learned.
 */
export function trainWordPiece(wordCounts: Map<string, number>, o: WordPieceTrainOptions): string[] {
  const minFrequency = o.minFrequency ?? 2, limitAlphabet = o.limitAlphabet ?? 1000;
  const specials = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.mask];
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < specials.length + 1 || o.vocabSize >= KEY)
    throw new Error(`vocab size must be an integer in [${specials.length + 1}, ${KEY - 1}], got ${o.vocabSize}`);

  // The alphabet: the limitAlphabet most frequent characters (ties by code point).
  const charCounts = new Map<string, number>();
  for (const [w, n] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const alphabet = [...charCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limitAlphabet).map(([ch]) => ch).sort();
  const kept = new Set(alphabet);

  const vocab: string[] = [...specials];
  const ids = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const idOf = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(t);
      ids.set(t, id);
    }
    return id;
  };
  for (const ch of alphabet) idOf(ch);
  for (const ch of alphabet) idOf(PREFIX + ch);
  if (vocab.length > o.vocabSize)
    throw new Error(`the alphabet alone needs ${vocab.length} tokens (${alphabet.length} characters, each also as ##c); ` +
      `raise the vocab size or lower the alphabet limit`);

  // Words as piece ids: the first character alone, the others as "##c". Words the tokenizer would
  // turn into [UNK] anyway (too long, or with a character outside the alphabet) are left out.
  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [w, n] of [...wordCounts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const chars = [...w];
    if (chars.length > MAX_INPUT_CHARS_PER_WORD || !chars.every((ch) => kept.has(ch))) continue;
    words.push(Int32Array.from(chars, (ch, i) => ids.get(i === 0 ? ch : PREFIX + ch)!));
    freq.push(n);
  }

  // Pair counts weighted by word frequency, and the words each pair occurs in.
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPair = (key: number, n: number, w: number): void => {
    pairCount.set(key, (pairCount.get(key) ?? 0) + n);
    if (n > 0) {
      let s = where.get(key);
      if (!s) where.set(key, (s = new Set()));
      s.add(w);
    }
  };
  words.forEach((p, w) => {
    for (let i = 0; i + 1 < p.length; i++) addPair(p[i]! * KEY + p[i + 1]!, freq[w]!, w);
  });
  const heap = new PairHeap();
  for (const [key, n] of pairCount) heap.push(n, key);

  const target = o.vocabSize;
  const merges = target - vocab.length;
  while (vocab.length < target) {
    const top = heap.pop();
    if (!top) break;
    const [count, key] = top;
    if (pairCount.get(key) !== count) continue; // stale
    if (count < minFrequency) break;
    const a = Math.floor(key / KEY), b = key - a * KEY;
    const merged = vocab[a]! + vocab[b]!.slice(PREFIX.length);
    const id = idOf(merged);
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      const p = words[w]!, n = freq[w]!;
      const out: number[] = [];
      for (let i = 0; i < p.length; i++) {
        if (i + 1 < p.length && p[i] === a && p[i + 1] === b) {
          // Neighbours of the merged pair lose their pairs with a and b and gain pairs with the new token.
          if (out.length > 0) {
            const prev = out[out.length - 1]!;
            addPair(prev * KEY + a, -n, w);
            addPair(prev * KEY + id, n, w);
            touched.add(prev * KEY + a).add(prev * KEY + id);
          }
          if (i + 2 < p.length) {
            const next = p[i + 2]!;
            addPair(b * KEY + next, -n, w);
            addPair(id * KEY + next, n, w);
            touched.add(b * KEY + next).add(id * KEY + next);
          }
          addPair(key, -n, w);
          out.push(id);
          i++;
        } else out.push(p[i]!);
      }
      words[w] = Int32Array.from(out);
    }
    where.delete(key);
    pairCount.delete(key);
    for (const k of touched) {
      const n = pairCount.get(k) ?? 0;
      if (n > 0) heap.push(n, k);
    }
    const done = merges - (target - vocab.length);
    if (done % 100 === 0) o.onProgress?.({ phase: 'merge', done, total: merges });
  }
  return vocab;
}
