// A tokenizer must fit its model (src/text/fit.ts): ids beyond vocab_size are refused at load time
// with both files named (init-student, prepare with a model directory, fine-tuning), while a
// vocab_size padded beyond the tokenizer's (as many Hub models have) is accepted all the way
// through prepare, init-student and distill.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, ROOT, tinyBertDir } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'distil-fit-'));

/** A tiny BERT with `vocab` rows and the bert-base-uncased tokenizer (30,522 tokens). */
const bertWithTokenizer = (name: string, vocab: number): string => tinyBertDir(join(work, name), { vocab_size: vocab });

test('a tokenizer larger than the model is refused at load time, naming both files', () => {
  const small = bertWithTokenizer('small-vocab', 152);
  const want = new RegExp(`${small}/tokenizer\\.json has a 30522-token vocabulary but ${small}/config\\.json has vocab_size 152: ids 152\\.\\.30521 have no embedding`);
  const init = cli('init-student', '--teacher', small, '--out', join(work, 'student'));
  assert.notEqual(init.status, 0);
  assert.match(init.stderr, want);
  const text = join(work, 'text.txt');
  writeFileSync(text, 'the quick brown fox jumps over the lazy dog and keeps on running far away\n');
  const prep = cli('prepare', '--input', text, '--tokenizer', small, '--out', join(work, 'data-small'));
  assert.notEqual(prep.status, 0);
  assert.match(prep.stderr, want);
  const mr = join(ROOT, 'assets', 'datasets', 'mr');
  const ft = cli('finetune', '--model', small, '--train', join(mr, 'dev.tsv'), '--out', join(work, 'ft'));
  assert.notEqual(ft.status, 0);
  assert.match(ft.stderr, want);
});

test('a vocab_size padded beyond the tokenizer is accepted: prepare, init-student, distill', () => {
  const padded = bertWithTokenizer('padded-vocab', 30528);
  const text = join(work, 'lines.txt');
  writeFileSync(text, Array.from({ length: 64 }, (_, i) => `sentence ${i} of a small corpus that is long enough to be kept by prepare`).join('\n') + '\n');
  const data = join(work, 'data-padded');
  for (const args of [
    ['prepare', '--input', text, '--tokenizer', padded, '--out', data, '--max-len', '32'],
    ['init-student', '--teacher', padded, '--out', join(work, 'padded-student')],
    ['distill', '--teacher', padded, '--student', join(work, 'padded-student'), '--data', data, '--out', join(work, 'padded-out'),
      '--batch-size', '8', '--gradient-accumulation-steps', '1', '--max-steps', '2'],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
});
