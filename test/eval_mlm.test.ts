// Held-out masked-LM evaluation (src/distill/eval_mlm.ts): the loss equals the cross-entropy op on
// the same fixed-seed batches, the accuracy their arg-max hit rate; the same seed scores the same
// targets; the CLI prints and writes the metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { evalBatches, evaluateMlm } from '../src/distill/eval_mlm.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { crossEntropy } from '../src/tensor/ops.js';
import { noGrad } from '../src/tensor/tensor.js';
import { fresh, makeCorpus, run, WordTokenizer } from './data_helpers.js';
import { FIXTURES, ROOT } from './helpers.js';

const data = fresh('mlm-eval');
await run({ inputs: [makeCorpus().dir], out: data, tokenizer: new WordTokenizer(99), maxLen: 32 }) // the tiny models have 40 positions;

test('evaluateMlm: loss = mean cross-entropy of the fixed-seed targets, accuracy = their arg-max hit rate', () => {
  const ds = openDataset(data);
  for (const name of ['tiny-bert', 'tiny-distilbert']) {
    const model = loadMaskedLM(join(FIXTURES, name));
    const r = evaluateMlm(model, ds, { maxSequences: 40, batchSize: 16, seed: 7 });
    let sum = 0, hits = 0, n = 0;
    for (const { batch, positions } of evalBatches(ds, 40, 16, 7)) {
      const logits = noGrad(() => model.forward({ ...batch, mlmPositions: positions }).logits);
      const labels = positions.map((p) => batch.mlmLabels[p]!);
      sum += crossEntropy(logits, labels).item() * positions.length;
      const V = logits.shape[1]!;
      labels.forEach((l, r) => {
        const row = Array.from(logits.data.subarray(r * V, (r + 1) * V));
        if (row.indexOf(Math.max(...row)) === l) hits++;
      });
      n += positions.length;
    }
    assert.equal(r.targets, n);
    assert.ok(n >= Math.floor(0.15 * 40 * 12), `${n} targets`);
    assert.ok(Math.abs(r.loss - sum / n) < 1e-4 * (sum / n), `${name}: loss ${r.loss} vs ${sum / n}`);
    assert.equal(r.mlm_accuracy, hits / n);
    assert.ok(Math.abs(r.perplexity - Math.exp(r.loss)) < 1e-9 * r.perplexity);
    assert.deepEqual(evaluateMlm(model, ds, { maxSequences: 40, batchSize: 16, seed: 7 }), r, 'same seed, same result');
    assert.ok(!model.training, 'left in eval mode as it was loaded');
  }
});

test('distil eval-mlm prints the metrics and writes them as JSON; a vocabulary mismatch is a clear error', () => {
  const dir = fresh('mlm-eval-cli');
  mkdirSync(dir);
  const out = join(dir, 'm.json');
  const cli = (model: string) => spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'eval-mlm', '--model', model,
    '--data', data, '--max-sequences', '20', '--out', out], { encoding: 'utf8' });
  const r = cli(join(FIXTURES, 'tiny-distilbert'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /mlm_accuracy +0\.\d{4}\nperplexity/);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).sequences, 20);
  const bad = fresh('other-vocab');
  return run({ inputs: [makeCorpus().dir], out: bad, tokenizer: new WordTokenizer(100), maxLen: 32 }).then(() => {
    assert.throws(() => evaluateMlm(loadMaskedLM(join(FIXTURES, 'tiny-bert')), openDataset(bad)), /100-token vocabulary but the model has vocab_size 99/);
  });
});
