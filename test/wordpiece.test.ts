// Learning a WordPiece vocabulary (src/text/wordpiece_trainer.ts, `distil train-tokenizer`): merges by
// pair frequency, "##" continuations, the alphabet limit, determinism, and the tokenizer built on the
// result (the `tokenizers` WordPiece model) encoding the training words into the learned pieces.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { countWords, trainWordPiece } from '../src/text/wordpiece_trainer.js';
import { cli } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distil-wp-'));

test('trainWordPiece: specials, the alphabet alone and as ##c, then merges of the most frequent pairs in order', () => {
  const counts = new Map([['low', 5], ['lower', 2], ['newest', 6], ['widest', 3]]);
  const vocab = trainWordPiece(counts, { vocabSize: 100, minFrequency: 2 });
  assert.deepEqual(vocab.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  const chars = ['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w'];
  assert.deepEqual(vocab.slice(5, 15), chars);
  assert.deepEqual(vocab.slice(15, 25), chars.map((c) => `##${c}`));
  // Pair counts: ##e ##s 9 (newest 6 + widest 3), ##s ##t 9, l ##o 7, ##o ##w 7, ... Ties go to the
  // smaller pair of ids, so ##e ##s comes first; ##es ##t (9) then follows.
  assert.deepEqual(vocab.slice(25, 28), ['##es', '##est', 'lo']);
  // Merging goes on until every word is one token (no pair left), short of the 100 asked for.
  for (const w of counts.keys()) assert.ok(vocab.includes(w), w);
  assert.ok(vocab.length < 100);
  assert.equal(new Set(vocab).size, vocab.length, 'no token twice');
  assert.deepEqual(trainWordPiece(counts, { vocabSize: 100, minFrequency: 2 }), vocab, 'deterministic');
  assert.deepEqual(trainWordPiece(counts, { vocabSize: 27, minFrequency: 2 }), vocab.slice(0, 27), 'a smaller size stops earlier on the same path');
});

test('trainWordPiece: stops when no pair is frequent enough; the alphabet limit drops rare characters; bad sizes are errors', () => {
  const counts = new Map([['ab', 3], ['cd', 1], ['é', 1]]);
  const v = trainWordPiece(counts, { vocabSize: 100, minFrequency: 2 });
  assert.ok(v.includes('ab') && !v.includes('cd'), 'cd is seen once: not merged');
  const limited = trainWordPiece(counts, { vocabSize: 100, limitAlphabet: 2 });
  assert.deepEqual(limited.slice(5), ['a', 'b', '##a', '##b', 'ab'], 'only the two most frequent characters; words with others are left out');
  assert.throws(() => trainWordPiece(counts, { vocabSize: 5 }), /vocab size must be an integer in \[6,/);
  assert.throws(() => trainWordPiece(counts, { vocabSize: 8 }), /the alphabet alone needs 15 tokens/);
});

test('distil train-tokenizer: a BERT tokenizer directory whose WordPiece splits words into the learned pieces', async () => {
  const text = path.join(tmp, 'corpus.txt');
  const line = 'The Whale swam; the whales swam faster. Whaling ships hunted whales in the northern seas, naïvely.';
  fs.writeFileSync(text, Array.from({ length: 300 }, (_, i) => `${line} Line ${i % 17}.`).join('\n') + '\n');
  const counts = await countWords([text]);
  assert.equal(counts.get('whales'), 600);
  assert.equal(counts.get('naively'), 300, 'normalized as the BERT tokenizer does: lowercase, accents stripped');
  assert.equal(counts.get(';'), 300, 'punctuation is a word of its own');
  const out = path.join(tmp, 'tok');
  const r = cli('train-tokenizer', '--input', text, '--out', out, '--vocab-size', '90');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /90 tokens learned from [\d,]+ words/);
  for (const f of ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  const tok = BertTokenizer.fromDir(out);
  assert.equal(tok.vocabSize, 90);
  assert.deepEqual([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId], [0, 1, 2, 3, 4]);
  const vocab = fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8').trim().split('\n');
  const enc = await tok.encode('whales swam');
  assert.equal(enc.ids[0], tok.clsId);
  assert.deepEqual(enc.ids.slice(1, -1).map((id) => vocab[id]), ['whales', 'swam'], 'frequent words become single tokens');
  const rare = await tok.encode('shipwhale');
  const pieces = rare.ids.slice(1, -1).map((id) => vocab[id]!);
  assert.ok(pieces.length > 1 && pieces.slice(1).every((p) => p.startsWith('##')) && pieces.join('').replace(/##/g, '') === 'shipwhale', pieces.join(' '));
  const bad = cli('train-tokenizer', '--input', text, '--out', path.join(tmp, 'x'), '--vocab-size', '3');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--vocab-size must be an integer in \[6, \.\.\.\], got "3"/);
});
