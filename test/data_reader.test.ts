// The dataset reader and sequence helpers (docs/method.md §4, src/data/): splitLong, dropReason, the seeded
// permutation, openDataset's checks and readLines (`distil prepare` itself: data.test.ts).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { dropReason, splitLong } from '../src/data/sequences.js';
import { seededPermutation } from '../src/data/shuffle.js';
import { readLines } from '../src/data/text_files.js';
import { CLS, fresh, makeCorpus, run, SEP, UNK, WordTokenizer, words, wrap } from './data_helpers.js';

const corpus = makeCorpus();

test('splitLong cuts the inner tokens into chunks of max-2 and re-adds [CLS]/[SEP]', () => {
  const seq = wrap(words(1298, 1));
  const pieces = splitLong(seq, 512, CLS, SEP).map((p) => Array.from(p));
  assert.deepEqual(pieces.map((p) => p.length), [512, 512, 280]);
  for (const p of pieces) assert.ok(p[0] === CLS && p[p.length - 1] === SEP);
  assert.deepEqual(pieces.flatMap((p) => p.slice(1, -1)), seq.slice(1, -1));
  assert.deepEqual(Array.from(splitLong(wrap(words(510, 2)), 512, CLS, SEP)[0]!), wrap(words(510, 2)), 'max-len fits whole');
  assert.equal(splitLong(wrap(words(511, 2)), 512, CLS, SEP).length, 2);
});

test('dropReason: keep length >= min-len, drop when [UNK] / whole length >= ratio, short first', () => {
  assert.equal(dropReason(wrap(words(9, 0)), 12, 0.5, UNK), 'too_short');
  assert.equal(dropReason(wrap(words(10, 0)), 12, 0.5, UNK), null);
  assert.equal(dropReason(wrap([UNK, UNK, UNK, UNK, UNK, UNK, 5, 6, 7, 8]), 12, 0.5, UNK), 'too_unknown'); // 6/12
  assert.equal(dropReason(wrap([UNK, UNK, UNK, UNK, UNK, 9, 5, 6, 7, 8]), 12, 0.5, UNK), null); // 5/12
  assert.equal(dropReason(wrap([UNK, UNK]), 12, 0.5, UNK), 'too_short');
});

test('seeded permutation: the documented sfc32 Fisher-Yates (values from a Python port of the comment)', () => {
  assert.deepEqual(Array.from(seededPermutation(10, 56)), [0, 2, 1, 3, 4, 6, 8, 9, 5, 7]);
  assert.deepEqual(Array.from(seededPermutation(10, 0)), [9, 5, 4, 3, 0, 1, 2, 6, 7, 8]);
  const p = seededPermutation(1000, 7);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.throws(() => seededPermutation(2 ** 32, 1), /uint32/);
});

test('openDataset checks meta.json and file sizes, naming the file and the fix', async () => {
  const out = fresh('damaged');
  await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out, shardTokens: 3000 });
  const bin = path.join(out, 'shard-00001.bin');
  const bytes = fs.readFileSync(bin);
  fs.writeFileSync(bin, bytes.subarray(0, bytes.length - 2));
  assert.throws(() => openDataset(out), (e: Error) => e.message.includes(bin) && /re-run `distil prepare`/.test(e.message));
  fs.writeFileSync(bin, bytes);
  fs.rmSync(path.join(out, 'order.bin'));
  assert.throws(() => openDataset(out), /order\.bin is missing.*distil prepare/);
  const metaFile = path.join(out, 'meta.json');
  fs.writeFileSync(metaFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(metaFile, 'utf8')), format: 'other@9' }));
  assert.throws(() => openDataset(out), /meta\.json: format is "other@9"/);
  assert.throws(() => openDataset(fresh('absent')), /not found; create it with `distil prepare/);
});

test('readLines: lines across 1 MiB reads, a character split by a read, no final newline', async () => {
  const file = path.join(fresh('lines'), 'lines.txt');
  fs.mkdirSync(path.dirname(file));
  const want = ['a', 'x'.repeat((1 << 20) - 4) + 'é'.repeat(5), 'é'.repeat(700_000), 'y'.repeat(2_500_000), 'tail'];
  fs.writeFileSync(file, `${want[0]}\n\n${want.slice(1).join('\r\n')}`); // the 2-byte é straddles the first read
  let bytes = 0;
  const got: string[] = [];
  for await (const line of readLines(file, (n) => (bytes += n), { maxLineBytes: 4 << 20 })) got.push(line);
  assert.deepEqual(got.map((l) => l.length), want.map((l) => l.length));
  assert.deepEqual(got, want);
  assert.equal(bytes, fs.statSync(file).size);
});
