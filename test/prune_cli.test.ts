// `distil prune-heads` on a tiny DistilBERT fine-tuned for a moment on a slice of MR: the output
// directory (pruned weights, HF pruned_heads, tokenizer files, importance scores) loads and evaluates;
// bad --n-heads, missing files and a model without a classifier are clear errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { distilBertConfig } from '../src/io/config.js';
import { projectRoot } from '../src/io/paths.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { saveDistilBert } from '../src/models/pretrained.js';
import { evaluate, finetune } from '../src/tasks/classification/finetune.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { ROOT } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'distil-prune-cli-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });

/** The header and the first n examples of an MR split. */
function slice(split: string, n: number): string {
  const lines = readFileSync(join(projectRoot(), 'assets', 'datasets', 'mr', `${split}.tsv`), 'utf8').split('\n');
  const file = join(work, `${split}.tsv`);
  writeFileSync(file, lines.slice(0, n + 1).join('\n') + '\n');
  return file;
}

test('distil prune-heads writes a smaller model that loads, with its scores; bad arguments are clear errors', async () => {
  const student = join(work, 'student');
  const config = distilBertConfig({ dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64 }); // 8 heads
  const m = new DistilBertForMaskedLM(config);
  m.params.initialize(3);
  saveDistilBert(student, m, config);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) cpSync(join(defaultTokenizerDir(), f), join(student, f));
  const [train, dev] = [slice('train', 64), slice('dev', 32)];
  const tuned = join(work, 'tuned');
  await finetune({ model: student, train, eval: dev, out: tuned, params: { n_epoch: 1, batch_size: 16, max_length: 32, learning_rate: 1e-3 } });

  const out = join(work, 'pruned');
  const r = cli('prune-heads', '--model', tuned, '--data', train, '--eval', dev, '--n-heads', '3', '--out', out,
    '--batch-size', '16', '--max-length', '32');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /heads kept +8 \/ 8 +5 \/ 8/);
  assert.match(r.stdout, /parameters +[\d,]+ +[\d,]+/);
  assert.match(r.stdout, /eval accuracy +0\.\d{4} +0\.\d{4}/);
  assert.match(r.stdout, /ms \/ sentence \(b1\) +[\d.]+ +[\d.]+/);
  assert.match(r.stderr, /head importance/, 'a progress line');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'head_importance.json'])
    assert.ok(existsSync(join(out, f)), f);
  const pruned = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).pruned_heads as Record<string, number[]>;
  assert.equal(Object.values(pruned).flat().length, 3);
  const scores = JSON.parse(readFileSync(join(out, 'head_importance.json'), 'utf8'));
  assert.equal(scores.importance.length, 2);
  assert.equal(scores.importance[0].length, 4);
  assert.deepEqual(scores.model_pruned_heads, pruned);
  const metrics = await evaluate({ model: out, data: dev, maxLength: 32 });
  assert.ok(metrics.accuracy! >= 0 && metrics.accuracy! <= 1);

  // Pruning the pruned model: scores of the 3 removed heads are null, the rest are pruned in turn.
  const again = join(work, 'again');
  const r2 = cli('prune-heads', '--model', out, '--data', train, '--n-heads', '4', '--out', again, '--max-length', '32');
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /heads kept +5 \/ 8 +1 \/ 8/);
  assert.equal(JSON.parse(readFileSync(join(again, 'head_importance.json'), 'utf8')).importance.flat().filter((v: unknown) => v === null).length, 3);

  const fails: Array<[string[], RegExp]> = [
    [['--model', out, '--data', train, '--n-heads', '5', '--out', join(work, 'x')], /--n-heads 5: the model has 5 heads and at least one must remain; give 1 to 4/],
    [['--model', tuned, '--data', train, '--n-heads', '0', '--out', join(work, 'x')], /--n-heads must be an integer in \[1, \.\.\.\], got "0"/],
    [['--model', tuned, '--data', join(work, 'nope.tsv'), '--n-heads', '1', '--out', join(work, 'x')], /--data .*nope\.tsv: file not found/],
    [['--model', join(work, 'none'), '--data', train, '--n-heads', '1', '--out', join(work, 'x')], /config\.json: cannot read config \(file not found\)/],
    [['--model', student, '--data', train, '--n-heads', '1', '--out', join(work, 'x')], /needs a fine-tuned classifier/],
  ];
  for (const [args, re] of fails) {
    const f = cli('prune-heads', ...args);
    assert.notEqual(f.status, 0);
    assert.match(f.stderr, re);
  }
  assert.ok(!existsSync(join(work, 'x')), 'nothing written on an error');
});
