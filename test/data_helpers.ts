// Shared helpers of the dataset tests (data.test.ts, data_reader.test.ts): a fresh temporary
// directory (removed after the tests), `WordTokenizer`, a test double of the tokenizer only
// (word "t<N>" -> id N) so the expected ids can be written down exactly, and a test corpus.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { prepare, type PrepareOptions, type PrepareTokenizer } from '../src/data/prepare.js';

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distil-data-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
export const fresh = (name: string): string => path.join(tmp, `${counter++}-${name}`);

export const PAD = 0, UNK = 1, CLS = 2, SEP = 3, MASK = 4;

/** Whitespace tokenizer: "t<N>" -> N for 5 <= N < vocabSize, any other word -> [UNK]. */
export class WordTokenizer implements PrepareTokenizer {
  readonly padId = PAD;
  readonly unkId = UNK;
  readonly clsId = CLS;
  readonly sepId = SEP;
  readonly maskId = MASK;
  readonly hash: string;
  calls = 0;
  constructor(readonly vocabSize = 100, private readonly failAtCall = -1) {
    this.hash = `words-${vocabSize}`;
  }
  async encodeBatch(texts: readonly string[]): Promise<number[][]> {
    if (++this.calls === this.failAtCall) throw new Error('tokenizer exploded');
    return texts.map((t) => [CLS, ...t.split(/\s+/).filter(Boolean).map((w) => this.id(w)), SEP]);
  }
  private id(w: string): number {
    const n = /^t\d+$/.test(w) ? Number(w.slice(1)) : -1;
    return n >= 5 && n < this.vocabSize ? n : UNK;
  }
}

/** Text of inner ids (no [CLS]/[SEP]); [UNK] is written as a word the tokenizer does not know. */
export const text = (inner: number[]): string => inner.map((i) => (i === UNK ? 'zzz' : `t${i}`)).join(' ');
export const words = (n: number, k: number, vocab = 100): number[] => Array.from({ length: n }, (_, j) => 5 + ((k * 13 + j * 7) % (vocab - 5)));
export const wrap = (inner: number[]): number[] => [CLS, ...inner, SEP];

export const quiet = { log: () => {} };
export const run = (o: Omit<PrepareOptions, 'log'>) => prepare({ ...quiet, ...o });

export interface Corpus {
  dir: string;
  /** Kept sequences in input (global) order. */
  expected: number[][];
  lines: number;
}

/**
 * A directory with a.txt, sub/b.txt, a binary file and a hidden file. Kept: 200 + 50 normal lines,
 * the 12-token boundary line, the 5/12 [UNK] line and the long lines' full chunks. Dropped: three
 * 11-token lines, one all-[UNK] 6-token line (too_short: the short check comes first) and the
 * 7-token tail of the 517-token line (too_short); the 6/12 [UNK] line (too_unknown).
 */
export function makeCorpus(): Corpus {
  const dir = fresh('corpus');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const expected: number[][] = [];
  let lines = 0;
  const a: string[] = [];
  for (let k = 0; k < 200; k++) {
    const inner = words(10 + (k % 40), k);
    a.push(text(inner) + (k % 7 === 0 ? '\r' : ''));
    expected.push(wrap(inner));
    lines++;
    if (k % 50 === 0) a.push('', '   ', '\t');
  }
  for (let k = 0; k < 3; k++, lines++) a.push(text(words(9, 1000 + k))); // 11 tokens: too short
  const boundary = words(10, 2000); // 12 tokens: kept
  a.push(`  ${text(boundary)}  `);
  expected.push(wrap(boundary));
  const halfUnk = [UNK, 7, UNK, 8, UNK, 9, UNK, 10, UNK, UNK]; // 6 of 12: too unknown
  const underHalf = [UNK, 7, UNK, 8, UNK, 9, 11, 10, UNK, 12]; // 5 of 12: kept
  a.push(text(halfUnk), text(underHalf), text([UNK, UNK, UNK, UNK]));
  expected.push(wrap(underHalf));
  lines += 4;
  fs.writeFileSync(path.join(dir, 'a.txt'), a.join('\n') + '\n');

  const b: string[] = [];
  const long = words(1298, 3000); // 1,300 tokens -> 512 + 512 + 280
  b.push(text(long));
  expected.push(wrap(long.slice(0, 510)), wrap(long.slice(510, 1020)), wrap(long.slice(1020)));
  const longTail = words(515, 4000); // 517 tokens -> 512 + a 7-token tail (dropped)
  b.push(text(longTail));
  expected.push(wrap(longTail.slice(0, 510)));
  lines += 2;
  for (let k = 0; k < 50; k++, lines++) {
    const inner = words(20 + k, 5000 + k);
    b.push(text(inner));
    expected.push(wrap(inner));
  }
  fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), b.join('\n')); // no final newline
  fs.writeFileSync(path.join(dir, 'blob.bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 1, 2, 3]));
  fs.writeFileSync(path.join(dir, '.hidden.txt'), 't5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16\n');
  return { dir, expected, lines };
}

/** The served order, read straight from order.bin. */
export const readOrder = (dir: string): Uint32Array => {
  const b = fs.readFileSync(path.join(dir, 'order.bin'));
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

/** Every served sequence equals the expected sequence that order.bin points at; counts match. */
export function checkContents(dir: string, expected: number[][], vocab: number): void {
  const ds = openDataset(dir);
  const order = readOrder(dir);
  assert.equal(ds.size, expected.length);
  for (let i = 0; i < ds.size; i++) {
    assert.deepEqual(Array.from(ds.get(i)), expected[order[i]!], `served sequence ${i} (global ${order[i]})`);
    assert.equal(ds.lengths[i], expected[order[i]!]!.length);
  }
  const counts = new Float64Array(vocab);
  for (const s of expected) for (const id of s) counts[id]!++;
  assert.deepEqual(ds.tokenCounts, counts);
  assert.equal(ds.tokenCounts.reduce((a, b) => a + b, 0), ds.meta.num_tokens);
}
