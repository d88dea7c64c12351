// Inference pipelines on the tiny fixture models with a 99-token vocabulary: fill-mask and
// feature-extraction give the same answers batched (dynamic padding, length sorting) as one by one,
// and match a direct forward pass.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { extractFeatures, fillMask, pipeline } from '../src/infer/pipeline.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { noGrad } from '../src/tensor/tensor.js';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { assertClose, FIXTURES } from './helpers.js';

/** The tiny models' vocabulary: specials at 0..4 as make_fixtures.py, then 94 lowercase words. */
function tinyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'distil-infer-'));
  cpSync(join(FIXTURES, 'tiny-distilbert'), dir, { recursive: true });
  const words = Array.from({ length: 94 }, (_, i) => `w${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`);
  writeFileSync(join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words].join('\n') + '\n');
  BertTokenizer.fromVocab(join(dir, 'vocab.txt')).save(dir);
  return dir;
}

const texts = ['waa wba [MASK] wda', 'wea [MASK]', 'wfa wga wha wia wja wka [MASK] wla wma', 'wna wob [MASK]'];

test('fill-mask: batched equals one by one, scores sorted, and equal to softmax of the logits', async () => {
  const dir = tinyDir();
  const model = loadMaskedLM(dir);
  const tok = BertTokenizer.fromDir(dir);
  const batched = await fillMask(model, tok, texts, 3, { batchSize: 4 });
  for (let i = 0; i < texts.length; i++) {
    const single = (await fillMask(model, tok, [texts[i]!], 3))[0]!;
    assert.deepEqual(batched[i]!.map((r) => r.token), single.map((r) => r.token));
    assertClose(`scores ${i}`, batched[i]!.map((r) => r.score), single.map((r) => r.score), 1e-5);
    assert.ok(single[0]!.score >= single[1]!.score && single[1]!.score >= single[2]!.score);
  }
  const ids = Int32Array.from(await tok.encodeBatch([texts[1]!]).then((r) => r[0]!));
  const logits = noGrad(() => model.eval().forward({ inputIds: ids, attentionMask: null, batch: 1, seqLen: ids.length })).logits.data;
  const at = ids.indexOf(tok.maskId);
  const row = logits.slice(at * 99, (at + 1) * 99);
  const best = row.indexOf(Math.max(...row));
  assert.equal(batched[1]![0]!.token, best);
  const unmasker = await pipeline('fill-mask', dir);
  const out = (await unmasker(texts[1]!, { topk: 2 })) as Array<{ token: number; sequence: string }>;
  assert.equal(out.length, 2);
  assert.equal(out[0]!.token, best);
  assert.ok(!out[0]!.sequence.includes('[MASK]'));
  await assert.rejects(unmasker('no mask here'), /no \[MASK\] token/);
});

test('feature-extraction: mean/cls pooling and normalisation, batched equals single', async () => {
  const dir = tinyDir();
  const model = loadMaskedLM(dir);
  const tok = BertTokenizer.fromDir(dir);
  const mean = await extractFeatures(model, tok, texts, { pooling: 'mean', normalize: true, batchSize: 3 });
  const cls = await extractFeatures(model, tok, texts, { pooling: 'cls' });
  const tokens = await extractFeatures(model, tok, texts, { pooling: 'none' });
  for (let i = 0; i < texts.length; i++) {
    const one = await extractFeatures(model, tok, [texts[i]!], { pooling: 'mean', normalize: true });
    assertClose(`mean ${i}`, mean[i]!, one[0]!, 1e-5);
    assert.ok(Math.abs(Math.hypot(...mean[i]!) - 1) < 1e-5);
    assertClose(`cls ${i}`, cls[i]!, tokens[i]!.subarray(0, 32), 1e-6);
  }
});
