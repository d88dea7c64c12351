// k-fold cross-validation (src/tasks/classification/crossval.ts, `distil crossval`): stratified folds that do not
// depend on the training seed, the bootstrap interval of the mean, and the command on a small
// real-text task that a tiny BERT learns (the label is whether the sentence praises or pans).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assignFolds, bootstrapMeanCi, type CrossValResult } from '../src/tasks/classification/crossval.js';
import { cli, tinyBertDir } from './helpers.js';

test('assignFolds: stratified, sizes within one, fixed by its seed', () => {
  const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 70 ? 0 : i < 100 ? 1 : 2));
  const f = assignFolds(labels, 5, 56);
  const size = (k: number, l?: number) => [...f.keys()].filter((i) => f[i] === k && (l === undefined || labels[i] === l)).length;
  const sizes = [0, 1, 2, 3, 4].map((k) => size(k));
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  for (const l of [0, 1, 2]) {
    const per = [0, 1, 2, 3, 4].map((k) => size(k, l));
    assert.ok(Math.max(...per) - Math.min(...per) <= 1, `label ${l} per fold ${per}`);
  }
  assert.deepEqual(assignFolds(labels, 5, 56), f);
  assert.notDeepEqual(assignFolds(labels, 5, 57), f);
});

test('bootstrapMeanCi: brackets the mean, collapses for equal scores, deterministic', () => {
  const xs = [0.71, 0.74, 0.69, 0.75, 0.72, 0.7, 0.73];
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const [lo, hi] = bootstrapMeanCi(xs);
  assert.ok(lo < mean && mean < hi && hi - lo < 0.04, `${lo} ${mean} ${hi}`);
  assert.deepEqual(bootstrapMeanCi(xs), [lo, hi]);
  const [a, b] = bootstrapMeanCi([0.8, 0.8, 0.8]);
  assert.ok(Math.abs(a - 0.8) < 1e-12 && Math.abs(b - 0.8) < 1e-12, `${a} ${b}`);
});

test('distil crossval: every example held out once per seed; mean accuracy, interval and JSON', () => {
  const work = mkdtempSync(join(tmpdir(), 'distil-crossval-'));
  const model = tinyBertDir(join(work, 'bert'));
  const good = ['a wonderful film', 'truly great acting', 'a delight from start to end', 'brilliant and moving', 'i loved every minute'];
  const bad = ['a terrible film', 'truly awful acting', 'a bore from start to end', 'dull and lifeless', 'i hated every minute'];
  const rows = (words: string[], label: string) => words.flatMap((w, i) => [0, 1, 2, 3].map((k) => `${w} , take ${i * 4 + k} .\t${label}`));
  const [a, b] = [join(work, 'a.tsv'), join(work, 'b.tsv')];
  writeFileSync(a, ['sentence\tlabel', ...rows(good, 'positive').slice(0, 12), ...rows(bad, 'negative').slice(0, 12)].join('\n') + '\n');
  writeFileSync(b, ['sentence\tlabel', ...rows(good, 'positive').slice(12), ...rows(bad, 'negative').slice(12)].join('\n') + '\n');
  const out = join(work, 'cv.json');
  const r = cli('crossval', '--model', model, '--data', a, b, '--folds', '4', '--seeds', '1,2', '--n-epoch', '20', '--learning-rate', '3e-3',
    '--batch-size', '8', '--max-length', '16', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /seed 2 fold 4: accuracy [\d.]+ on 10 held out \(trained on 30\) \[8\/8\]/);
  assert.match(r.stdout, /40 examples, 4 folds x 2 seed\(s\): accuracy [\d.]+ \(95% CI [\d.]+-[\d.]+, sd [\d.]+\)/);
  const res = JSON.parse(readFileSync(out, 'utf8')) as CrossValResult;
  assert.equal(res.results.length, 8);
  assert.deepEqual(res.labels, ['negative', 'positive']);
  assert.equal(res.results.reduce((n, f) => n + f.test, 0), 2 * 40, 'each example is held out once per seed');
  assert.ok(res.accuracy.mean > 0.75, `the task is learnable: mean accuracy ${res.accuracy.mean}`);
  assert.ok(res.accuracy.ci95[0] <= res.accuracy.mean && res.accuracy.mean <= res.accuracy.ci95[1]);
  const bad2 = cli('crossval', '--model', model, '--data', a, '--folds', '1');
  assert.notEqual(bad2.status, 0);
  assert.match(bad2.stderr, /--folds must be an integer in \[2, \.\.\.\], got "1"/);
});
