// `distil prepare` (docs/method.md §4, src/data/): splitting, dropping, dtypes, shards, the seeded order,
// token counts, atomic output, errors, bounded memory, the real BERT tokenizer and the CLI (the
// reader and sequence helpers: data_reader.test.ts). Most tests use `WordTokenizer`
// (data_helpers.ts), a test double of the tokenizer only (word "t<N>" -> id N), so the expected
// ids can be written down exactly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { prepare } from '../src/data/prepare.js';
import { seededPermutation } from '../src/data/shuffle.js';
import { Progress } from '../src/cli/progress.js';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { ROOT } from './helpers.js';
import {
  checkContents, CLS, fresh, MASK, makeCorpus, PAD, readOrder, run, SEP, text, UNK, WordTokenizer, words, wrap,
} from './data_helpers.js';

const corpus = makeCorpus();

test('prepare on a directory: counts, splitting, dropping, skipped files, contents in seeded order', async () => {
  const out = fresh('data');
  const logged: string[] = [];
  let lastProgress = { bytes: -1, totalBytes: -2, sequences: -1 };
  const r = await prepare({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out, batchLines: 16, log: (l) => logged.push(l), onProgress: (p) => (lastProgress = p) });
  const m = r.meta;
  const textBytes = fs.statSync(path.join(corpus.dir, 'a.txt')).size + fs.statSync(path.join(corpus.dir, 'sub', 'b.txt')).size;
  assert.equal(r.bytes, textBytes);
  assert.deepEqual([lastProgress.bytes, lastProgress.totalBytes, lastProgress.sequences], [textBytes, textBytes, m.num_sequences]);
  assert.equal(m.format, 'distilbert-ts/data@1');
  assert.equal(m.num_lines, corpus.lines);
  assert.equal(m.num_sequences, corpus.expected.length);
  assert.equal(m.num_tokens, corpus.expected.reduce((a, s) => a + s.length, 0));
  assert.deepEqual(m.dropped, { too_short: 5, too_unknown: 1 });
  assert.equal(m.split_long, 2);
  assert.equal(m.dtype, 'uint16');
  assert.deepEqual(m.special_ids, { cls: CLS, sep: SEP, pad: PAD, unk: UNK, mask: MASK });
  assert.equal(m.tokenizer_hash, 'words-100');
  assert.deepEqual(m.sources, [path.join(corpus.dir, 'a.txt'), path.join(corpus.dir, 'sub', 'b.txt')]);
  assert.deepEqual(r.skipped.map((s) => path.basename(s.path)), ['blob.bin']);
  assert.match(logged.join('\n'), /skipped .*blob\.bin: binary/);
  assert.equal(m.shards.length, 1);
  assert.equal(fs.statSync(path.join(out, 'shard-00000.bin')).size, m.num_tokens * 2);
  assert.equal(fs.statSync(path.join(out, 'shard-00000.idx')).size, (m.num_sequences + 1) * 4);
  assert.deepEqual(fs.readdirSync(out).sort(), ['meta.json', 'order.bin', 'shard-00000.bin', 'shard-00000.idx', 'token_counts.bin']);
  checkContents(out, corpus.expected, 100);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'meta.json'), 'utf8')), { ...m });
});

test('shards roll over at --shard-tokens and read back across shard boundaries', async () => {
  const out = fresh('sharded');
  const { meta } = await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out, shardTokens: 1000, batchLines: 7, maxInFlight: 2 });
  assert.ok(meta.shards.length > 5, `${meta.shards.length} shards`);
  meta.shards.forEach((s, i) => {
    assert.equal(s.bin, `shard-${String(i).padStart(5, '0')}.bin`);
    if (i < meta.shards.length - 1) assert.ok(s.tokens >= 1000 && s.tokens < 1000 + 512, `shard ${i}: ${s.tokens} tokens`);
    assert.equal(fs.statSync(path.join(out, s.bin)).size, s.tokens * 2);
    assert.equal(fs.statSync(path.join(out, s.idx)).size, (s.sequences + 1) * 4);
  });
  checkContents(out, corpus.expected, 100);
});

test('ids are uint16 below 65536 vocab entries and int32 from 65536', async () => {
  for (const [vocab, dtype, bytes] of [[65535, 'uint16', 2], [65536, 'int32', 4], [70000, 'int32', 4]] as const) {
    const file = path.join(fresh('big'), 'big.txt');
    fs.mkdirSync(path.dirname(file));
    const inner = Array.from({ length: 12 }, (_, j) => vocab - 1 - j * 1000);
    fs.writeFileSync(file, `${text(inner)}\n${text(inner.slice().reverse())}\n`);
    const out = fresh('big-data');
    const { meta } = await run({ inputs: [file], tokenizer: new WordTokenizer(vocab), out });
    assert.equal(meta.dtype, dtype);
    assert.equal(fs.statSync(path.join(out, 'shard-00000.bin')).size, 2 * 14 * bytes);
    assert.equal(fs.statSync(path.join(out, 'token_counts.bin')).size, vocab * 8);
    checkContents(out, [wrap(inner), wrap(inner.slice().reverse())], vocab);
  }
});

test('the order is a function of the seed: same seed same bytes, other seed another order', async () => {
  const a = fresh('seed1'), b = fresh('seed1-again'), c = fresh('seed2');
  await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out: a, seed: 1, batchLines: 5 });
  await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out: b, seed: 1, batchLines: 64, maxInFlight: 1 });
  await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out: c, seed: 2 });
  for (const f of ['order.bin', 'shard-00000.bin', 'shard-00000.idx', 'token_counts.bin']) {
    assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs for the same seed`);
  }
  assert.ok(!fs.readFileSync(path.join(a, 'order.bin')).equals(fs.readFileSync(path.join(c, 'order.bin'))));
  assert.ok(fs.readFileSync(path.join(a, 'shard-00000.bin')).equals(fs.readFileSync(path.join(c, 'shard-00000.bin'))), 'shards are in input order');
  assert.deepEqual(Array.from(readOrder(a)), Array.from(seededPermutation(corpus.expected.length, 1)));
});

test('a failure part-way leaves no --out and no partial directory; missing input is named', async () => {
  const parent = fresh('atomic');
  fs.mkdirSync(parent);
  const out = path.join(parent, 'data');
  await assert.rejects(run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(100, 5), out, batchLines: 10, shardTokens: 500 }), /tokenizer exploded/);
  assert.deepEqual(fs.readdirSync(parent), []);
  const missing = path.join(parent, 'nope.txt');
  await assert.rejects(run({ inputs: [corpus.dir, missing], tokenizer: new WordTokenizer(), out }), (e: Error) => e.message.includes(`input not found: ${missing}`));
  assert.deepEqual(fs.readdirSync(parent), []);
  const bin = path.join(corpus.dir, 'blob.bin');
  await assert.rejects(run({ inputs: [bin], tokenizer: new WordTokenizer(), out }), /blob\.bin is not a text file/);
  const abort = new AbortController();
  abort.abort();
  await assert.rejects(run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out, signal: abort.signal }), /interrupted/);
  assert.deepEqual(fs.readdirSync(parent), []);
});

test('an existing --out is an error unless overwrite, which replaces it', async () => {
  const out = fresh('existing');
  fs.mkdirSync(out);
  fs.writeFileSync(path.join(out, 'keep.txt'), 'x');
  await assert.rejects(run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out }), /already exists; pass --overwrite/);
  assert.ok(fs.existsSync(path.join(out, 'keep.txt')));
  await run({ inputs: [corpus.dir], tokenizer: new WordTokenizer(), out, overwrite: true });
  assert.ok(!fs.existsSync(path.join(out, 'keep.txt')));
  assert.equal(openDataset(out).size, corpus.expected.length);
  assert.deepEqual(fs.readdirSync(path.dirname(out)).filter((n) => n.startsWith(path.basename(out))), [path.basename(out)]);
});

test('an empty corpus is an error naming the inputs and the reason', async () => {
  const blank = path.join(fresh('blank'), 'blank.txt');
  fs.mkdirSync(path.dirname(blank));
  fs.writeFileSync(blank, '\n   \n\t\r\n');
  const out = fresh('empty-out');
  await assert.rejects(run({ inputs: [blank], tokenizer: new WordTokenizer(), out }), (e: Error) => /empty corpus: no non-empty lines/.test(e.message) && e.message.includes(blank));
  const short = path.join(path.dirname(blank), 'short.txt');
  fs.writeFileSync(short, 't5 t6\nt7\nzzz zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz zzz\n');
  await assert.rejects(run({ inputs: [short], tokenizer: new WordTokenizer(), out }), /all 3 lines of .*short\.txt were dropped \(2 pieces shorter than min-len 12 tokens, 1 with >= 0.5 \[UNK\]\)/);
  const emptyDir = fresh('empty-dir');
  fs.mkdirSync(emptyDir);
  await assert.rejects(run({ inputs: [emptyDir], tokenizer: new WordTokenizer(), out }), /empty corpus: no text files in/);
  assert.ok(!fs.existsSync(out));
});

test('odd bytes and Unicode do not break the pipeline', async () => {
  const file = path.join(fresh('odd'), 'odd.txt');
  fs.mkdirSync(path.dirname(file));
  const body = Buffer.concat([
    Buffer.from('\ufeff' + text(words(12, 1)) + '\r\n'), // BOM, CRLF
    Buffer.from('t5 t6 t7 t8 t9 t10 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' t11 t12 t13 t14 t15 t16\n'), // invalid UTF-8
    Buffer.from('t5 😀 t6 \u202e t7 \u200b t8 e\u0301 t9 t10 t11 t12 t13 t14\n'),
    Buffer.from('\u2028\u00a0\u3000\n'), // only Unicode spaces: an empty line
  ]);
  fs.writeFileSync(file, body);
  const { meta } = await run({ inputs: [file], tokenizer: new WordTokenizer(), out: fresh('odd-data') });
  assert.equal(meta.num_lines, 3);
  assert.equal(meta.num_sequences, 3);
});

/**
 * Run in a child process with V8's heap capped at 16 MB old space and 1 MB semi-spaces: the
 * ids of a 20 MB corpus alone (5M tokens as JS numbers) would need over 40 MB, so success shows the
 * memory is bounded. It reports its RSS growth and the peak of live heap (after a forced GC).
 */
const MEMORY_CHILD = `
import { prepare } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'src', 'data', 'prepare.js')).href)};
const [file, out] = process.argv.slice(1);
const tok = { vocabSize: 100, padId: 0, unkId: 1, clsId: 2, sepId: 3, maskId: 4, hash: 'words',
  async encodeBatch(texts) { return texts.map((t) => [2, ...t.split(' ').map((w) => Number(w.slice(1))), 3]); } };
globalThis.gc();
const rss0 = process.memoryUsage.rss(), heap0 = process.memoryUsage().heapUsed;
let rss = 0, heap = 0, k = 0;
const r = await prepare({ inputs: [file], tokenizer: tok, out, log: () => {}, onProgress: () => {
  rss = Math.max(rss, process.memoryUsage.rss() - rss0);
  if (k++ % 8 === 0) { globalThis.gc(); heap = Math.max(heap, process.memoryUsage().heapUsed - heap0); }
} });
console.log(JSON.stringify({ rss, heap, tokens: r.meta.num_tokens }));
`;

test('memory stays bounded: a ~20 MB file prepares in a 16 MB heap, RSS grows well under the corpus', () => {
  const file = path.join(fresh('large'), 'large.txt');
  fs.mkdirSync(path.dirname(file));
  const fd = fs.openSync(file, 'w');
  let size = 0;
  for (let block = 0; size < 20e6; block++) {
    const lines: string[] = [];
    for (let k = 0; k < 1000; k++) lines.push(text(words(40 + ((block + k) % 90), block * 1000 + k)));
    const chunk = Buffer.from(lines.join('\n') + '\n');
    fs.writeSync(fd, chunk);
    size += chunk.length;
  }
  fs.closeSync(fd);
  const flags = ['--max-old-space-size=16', '--max-semi-space-size=1', '--expose-gc', '--input-type=module'];
  const r = spawnSync(process.execPath, [...flags, '-e', MEMORY_CHILD, file, fresh('large-data')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `prepare failed in a 16 MB heap: ${r.stderr.slice(-2000)}`);
  const m = JSON.parse(r.stdout) as { rss: number; heap: number; tokens: number };
  const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;
  const report = `${mb(size)} corpus, ${m.tokens} tokens: RSS +${mb(m.rss)}, live heap +${mb(m.heap)}`;
  assert.ok(m.tokens > 4e6, report);
  assert.ok(m.heap < size / 2, report); // about maxInFlight (4) batches of 1,000 lines and their ids
  // Coarse: RSS also holds V8's heap slack (up to the 16 MB cap), code and the I/O buffers.
  assert.ok(m.rss < size * 2, report);
});

test('Progress: redraws in place on a terminal, prints lines elsewhere', () => {
  let t = 0;
  const tty: string[] = [], log: string[] = [];
  const a = new Progress({ total: 100e6, unit: 'B', label: 'prepare', stream: { isTTY: true, write: (s) => tty.push(s) }, now: () => t });
  const b = new Progress({ total: 100e6, unit: 'B', label: 'prepare', stream: { isTTY: false, write: (s) => log.push(s) }, now: () => t, logEveryMs: 5000 });
  for (t = 1000; t <= 10000; t += 1000) {
    a.update(t * 1e3, '7 seq');
    b.update(t * 1e3, '7 seq');
  }
  a.done();
  b.done();
  assert.equal(tty.length, 11);
  assert.match(tty[0]!, /^\r\x1b\[2Kprepare  \[\.{24}\] +1\.0%  1\.0 MB \/ 100\.0 MB  1\.0 MB\/s  7 seq  ETA 1m39s  1s elapsed$/);
  assert.ok(tty.at(-1)!.endsWith('\n'));
  assert.equal(log.length, 3, log.join(''));
  assert.match(log[1]!, /^prepare +6\.0%  6\.0 MB \/ 100\.0 MB  1\.0 MB\/s  7 seq  ETA 1m34s  6s elapsed\n$/);
  // A resumed run: the 500 steps done before the start are not part of the rate.
  const lines: string[] = [];
  t = 0;
  const r = new Progress({ total: 1000, unit: 'steps', stream: { write: (s) => lines.push(s) }, now: () => t, initial: 500 });
  t = 10_000;
  r.update(520);
  assert.match(lines[0]!, /52\.0%  520 steps \/ 1,000 steps  2\.0 steps\/s  ETA 4m00s  10s elapsed/);
});

test('the real BERT tokenizer: ids of [CLS] text [SEP], [UNK] counting, odd Unicode', async () => {
  const dir = fresh('vocab');
  fs.mkdirSync(dir);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', '.', ',', '##s', 'and'];
  const vocabFile = path.join(dir, 'vocab.txt');
  fs.writeFileSync(vocabFile, vocab.join('\n') + '\n');
  const tok = BertTokenizer.fromVocab(vocabFile);
  const id = (w: string) => vocab.indexOf(w);
  const lines = [
    'The cat sat on the mat, and the dog ran on the mat.', // 17 tokens: kept
    'The cats sat on the mat and the dogs ran.', // cat ##s, dog ##s: 15 tokens
    'Zebras quux blorp the cat sat on a mat florb wibble zonk', // 6 [UNK] of 14: kept
    'Zebras quux blorp florb wibble zonk flarn the cat sat', // 7 [UNK] of 12: dropped
    'the cat sat.', // too short
    'the 😀 cat \u0001 sat \u202e on \u200b the mat é , a dog ran .',
  ];
  const file = path.join(dir, 'text.txt');
  fs.writeFileSync(file, Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0xc3, 0x28, 0x20, 0x74, 0x68, 0x65, 0x0a])]));
  const out = fresh('bert-data');
  const { meta } = await run({ inputs: [file], tokenizer: tok, out });
  assert.equal(meta.vocab_size, vocab.length);
  assert.equal(meta.tokenizer_hash, tok.hash);
  assert.deepEqual(meta.special_ids, { cls: 2, sep: 3, pad: 0, unk: 1, mask: 4 });
  assert.equal(meta.num_lines, 7);
  assert.deepEqual(meta.dropped, { too_short: 2, too_unknown: 1 });
  const ds = openDataset(out);
  const got = Array.from({ length: ds.size }, (_, i) => Array.from(ds.get(i)));
  const first = ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', ',', 'and', 'the', 'dog', 'ran', 'on', 'the', 'mat', '.', '[SEP]'].map(id);
  assert.ok(got.some((s) => JSON.stringify(s) === JSON.stringify(first)), 'first line encoded as [CLS] ... [SEP]');
  const second = ['[CLS]', 'the', 'cat', '##s', 'sat', 'on', 'the', 'mat', 'and', 'the', 'dog', '##s', 'ran', '.', '[SEP]'].map(id);
  assert.ok(got.some((s) => JSON.stringify(s) === JSON.stringify(second)), 'WordPiece continuations');
  assert.equal(ds.size, 4);
});

test('distil prepare on the command line: flags, progress lines on a non-terminal, summary', () => {
  const dir = fresh('cli');
  fs.mkdirSync(dir);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 40 }, (_, i) => `w${i}`)];
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  const lines = Array.from({ length: 300 }, (_, k) => Array.from({ length: 12 + (k % 30) }, (_, j) => `w${(k + j) % 40}`).join(' '));
  fs.writeFileSync(path.join(dir, 'text.txt'), lines.join('\n'));
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'prepare', ...args], { encoding: 'utf8' });
  const out = path.join(dir, 'data');
  const r = cli('--input', path.join(dir, 'text.txt'), '--tokenizer', dir, '--out', out, '--batch-lines', '50', '--shard-tokens', '2000', '--seed', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*data in [\d.]+ s: 300 sequences, \d+ tokens \(uint16\), \d+ shard\(s\)/);
  assert.match(r.stderr, /prepare +100\.0%/);
  const ds = openDataset(out);
  assert.equal(ds.size, 300);
  assert.equal(ds.meta.seed, 3);
  const again = cli('--input', path.join(dir, 'text.txt'), '--tokenizer', dir, '--out', out);
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /already exists; pass --overwrite/);
  const bad = cli('--input', 'x', '--tokenizer', dir, '--out', out, '--max-unk-ratio', '2');
  assert.match(bad.stderr, /--max-unk-ratio must be a number in \(0, 1\]/);
  const help = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'prepare', '--help'], { encoding: 'utf8' });
  for (const flag of ['--input', '--tokenizer', '--out', '--max-len', '--min-len', '--max-unk-ratio', '--seed', '--batch-lines', '--shard-tokens', '--overwrite']) {
    assert.ok(help.stdout.includes(flag), `--help lacks ${flag}`);
  }
});
