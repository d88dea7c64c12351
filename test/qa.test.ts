// Extractive QA end to end: SQuAD features (windows, answer tokens, [CLS] for an answer a window
// cuts), post-processing of hand-set logits, and a tiny random DistilBERT fine-tuned on a synthetic
// SQuAD file ("The capital of X is Y.") whose EM rises well above 0, with the question-answering
// pipeline giving the answers the evaluation gave.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pipeline } from '../src/infer/pipeline.js';
import { distilBertConfig } from '../src/io/config.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { saveDistilBert } from '../src/models/pretrained.js';
import { readSquad } from '../src/tasks/readers/squad.js';
import { answerTokens, qaFeatures, windowStarts } from '../src/tasks/qa/features.js';
import { evaluateQa, finetuneQa } from '../src/tasks/qa/finetune.js';
import { answerSpans, bestAnswers } from '../src/tasks/qa/postprocess.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { ROOT } from './helpers.js';

const tok = BertTokenizer.fromDir(defaultTokenizerDir());
const NUMBERS = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen';

test('encode gives character offsets in UTF-16 units, per text of a pair', async () => {
  const e = await tok.encode('Héllo 😀 world', 'x world');
  const world = e.tokens.indexOf('world');
  assert.deepEqual(e.offsets[world], [9, 14]);
  assert.equal('Héllo 😀 world'.slice(9, 14), 'world');
  assert.deepEqual(e.offsets[0], [0, 0]);
  assert.deepEqual(e.offsets[e.tokens.lastIndexOf('world')], [2, 7]);
});

test('windows overlap by doc_stride and cover the whole context', () => {
  assert.deepEqual(windowStarts(16, 8, 3), [0, 5, 10]);
  assert.deepEqual(windowStarts(8, 8, 3), [0]);
  assert.deepEqual(windowStarts(0, 8, 3), [0]);
  assert.deepEqual(answerTokens([null, [0, 3], [4, 7], [8, 11], null], 4, 7), [2, 2]);
  assert.deepEqual(answerTokens([null, [0, 3], [4, 7], [8, 11], null], 2, 9), [1, 3]); // chars inside tokens
  assert.deepEqual(answerTokens([null, [0, 3], [4, 7], null], 4, 11), [0, 0]); // runs past the window
});

test('features: a long context split into windows; answer positions per window, [CLS] when cut', async () => {
  const context = NUMBERS; // 16 one-token words
  const q = 'where?'; // 2 tokens: room = 13 - 2 - 3 = 8 context tokens a window, windows at 0, 5, 10
  const at = (w: string): number => context.indexOf(w);
  const examples = [
    { question: q, context, answers: [{ text: 'fourteen', answer_start: at('fourteen') }] }, // only in the third window
    { question: q, context, answers: [{ text: 'seven eight nine', answer_start: at('seven') }] }, // cut by the first window's edge
  ];
  const f = await qaFeatures(tok, examples, { maxLength: 13, docStride: 3 });
  assert.equal(f.length, 6);
  assert.deepEqual(f.map((x) => x.exampleIndex), [0, 0, 0, 1, 1, 1]);
  const first = f[0]!;
  assert.equal(first.ids.length, 13);
  assert.equal(tok.decode(first.ids), '[CLS] where? [SEP] one two three four five six seven eight [SEP]');
  assert.deepEqual(first.typeIds, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(first.offsets.slice(0, 4).every((o) => o === null) && first.offsets[12] === null, true);
  assert.equal(tok.decode(f[1]!.ids), '[CLS] where? [SEP] six seven eight nine ten eleven twelve thirteen [SEP]');
  assert.equal(tok.decode(f[2]!.ids), '[CLS] where? [SEP] eleven twelve thirteen fourteen fifteen sixteen [SEP]');
  // "fourteen": [CLS] in the first two windows, token 4 + 3 in the third.
  assert.deepEqual(f.slice(0, 3).map((x) => [x.startPosition, x.endPosition]), [[0, 0], [0, 0], [7, 7]]);
  // "seven eight nine": the first window ends at "eight" -> [CLS]; whole in the second (tokens 5..7).
  assert.deepEqual(f.slice(3).map((x) => [x.startPosition, x.endPosition]), [[0, 0], [5, 7], [0, 0]]);
  for (const x of f) {
    const o = x.offsets;
    if (x.startPosition > 0) assert.equal(context.slice(o[x.startPosition]![0], o[x.endPosition]![1]), examples[x.exampleIndex]!.answers[0]!.text);
  }
  // The question is cut to max_query_length tokens.
  const long = await qaFeatures(tok, [{ question: 'one two three four five', context: 'six' }], { maxLength: 16, docStride: 2, maxQueryLength: 3 });
  assert.equal(tok.decode(long[0]!.ids), '[CLS] one two three [SEP] six [SEP]');
  await assert.rejects(qaFeatures(tok, examples, { maxLength: 8, docStride: 3 }), /doc_stride/);
});

test('post-processing picks the best valid span from hand-set logits', async () => {
  const context = 'alpha beta gamma delta';
  const [f] = await qaFeatures(tok, [{ question: 'which?', context }]);
  // [CLS] which ? [SEP] alpha beta gamma delta [SEP]: context tokens are 4..7.
  assert.equal(f!.ids.length, 9);
  const start = [0, 9, 0, 0, 1, 5, 0, 0, 8];
  const end = [0, 0, 9, 0, 0, 1, 4, 7, 8];
  // Higher sums that must lose: a start on the question (token 1), an end on the question (2) or on [SEP] (8).
  const spans = answerSpans(context, [f!], [{ start, end }]);
  assert.equal(spans[0]!.text, 'beta gamma delta');
  assert.deepEqual([spans[0]!.startToken, spans[0]!.endToken, spans[0]!.logit], [5, 7, 12]);
  assert.deepEqual([spans[0]!.start, spans[0]!.end], [context.indexOf('beta'), context.length]);
  assert.ok(spans.every((s) => s.startToken >= 4 && s.endToken <= 7 && s.endToken >= s.startToken));
  // max_answer_length 2 forbids beta..delta (3 tokens): beta..gamma (5 + 4) wins.
  assert.equal(answerSpans(context, [f!], [{ start, end }], { maxAnswerLength: 2 })[0]!.text, 'beta gamma');
  // Probabilities: softmax over [CLS] and the context tokens only.
  const s = spans[0]!;
  const soft = (x: number[], i: number): number => Math.exp(x[i]!) / [0, 4, 5, 6, 7].reduce((a, j) => a + Math.exp(x[j]!), 0);
  assert.ok(Math.abs(s.probability - soft(start, 5) * soft(end, 7)) < 1e-12);
  // Two windows of one example: the best span of either wins; feature indices are global.
  const other = { start: start.map(() => 0), end: end.map(() => 0) };
  const best = bestAnswers([{ question: 'which?', context }], [f!, f!], [other, { start, end }]);
  assert.equal(best[0]!.text, 'beta gamma delta');
  assert.equal(best[0]!.feature, 1);
});

/** A SQuAD v1.1 file of "The capital of X is Y." facts among sentences without "is". */
function syntheticSquad(file: string, pairs: Array<[string, string]>, fillers: string[]): void {
  const data = pairs.map(([country, city], i) => {
    const fact = `The capital of ${country} is ${city}.`;
    const filler = fillers[i % fillers.length]!.replace('X', country);
    const context = i % 2 === 0 ? `${fact} ${filler}` : `${filler} ${fact}`;
    return {
      title: country,
      paragraphs: [{ context, qas: [{ id: `q${i}`, question: `What is the capital of ${country}?`, answers: [{ text: city, answer_start: context.indexOf(` is ${city}.`) + 4 }] }] }],
    };
  });
  writeFileSync(file, JSON.stringify({ version: '1.1', data }));
}

test('a tiny DistilBERT fine-tuned on synthetic SQuAD learns the answers; the pipeline agrees with the evaluation', async () => {
  const work = mkdtempSync(join(tmpdir(), 'distil-qa-'));
  const base = join(work, 'base');
  const c = distilBertConfig({ dim: 64, n_layers: 2, n_heads: 2, hidden_dim: 128 });
  const m = new DistilBertForMaskedLM(c);
  m.params.initialize(3);
  saveDistilBert(base, m, c);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) cpSync(join(defaultTokenizerDir(), f), join(base, f));
  const countries = ['france', 'spain', 'italy', 'germany', 'poland', 'austria', 'norway', 'sweden', 'finland', 'denmark', 'greece', 'turkey',
    'egypt', 'kenya', 'japan', 'china', 'india', 'peru', 'chile', 'brazil', 'canada', 'mexico', 'cuba', 'ireland'];
  const cities = ['paris', 'madrid', 'rome', 'berlin', 'warsaw', 'vienna', 'oslo', 'stockholm', 'helsinki', 'copenhagen', 'athens', 'ankara',
    'cairo', 'nairobi', 'tokyo', 'beijing', 'delhi', 'lima', 'santiago', 'brasilia', 'ottawa', 'havana', 'dublin', 'london'];
  const fillers = ['Many people in X like music.', 'X has old roads and rivers.', 'We visited X last summer with friends.', 'Tea from X tastes good.'];
  const train = join(work, 'train.json');
  syntheticSquad(train, countries.map((x, i) => [x, cities[i]!]), fillers);
  const out = join(work, 'qa');
  const t0 = performance.now();
  const r = await finetuneQa({
    model: base, train, eval: train, out,
    params: { n_epoch: 8, learning_rate: 2e-3, batch_size: 8, max_length: 48, doc_stride: 16, warmup_prop: 0.1, seed: 1 },
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(`# ${r.epochs.map((e) => `epoch ${e.epoch}: loss ${e.train_loss.toFixed(3)} EM ${e.metrics.exact_match!.toFixed(1)} F1 ${e.metrics.f1!.toFixed(1)}`).join('; ')} (${seconds.toFixed(1)} s)`);
  assert.equal(r.trainFeatures, countries.length);
  assert.ok(r.epochs[r.epochs.length - 1]!.train_loss < r.epochs[0]!.train_loss, 'training loss does not fall');
  assert.ok(r.best.metrics.exact_match! >= 50, `EM ${r.best.metrics.exact_match} on the training questions`);
  const saved = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
  assert.equal(saved.exact_match, r.best.metrics.exact_match);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).architectures, ['DistilBertForQuestionAnswering']);

  // The saved directory scores the same, and the pipeline returns the evaluation's answers with their offsets.
  const ev = await evaluateQa({ model: out, data: train, maxLength: 48, docStride: 16 });
  assert.equal(ev.exact_match, r.best.metrics.exact_match);
  const predictions = JSON.parse(readFileSync(join(out, 'predictions.json'), 'utf8')) as Record<string, string>;
  assert.deepEqual(Object.fromEntries(ev.predictions), predictions);
  const qa = await pipeline('question-answering', out);
  const examples = readSquad(train).examples;
  const answers = await qa(examples.map((e) => ({ question: e.question, context: e.context })), { maxLength: 48, docStride: 16, maxAnswerLength: 30 });
  answers.forEach((a, i) => {
    const e = examples[i]!;
    assert.equal(a.answer, predictions[e.id], e.question);
    assert.equal(e.context.slice(a.start, a.end), a.answer);
    assert.ok(a.score > 0 && a.score <= 1);
  });
  const one = await qa({ question: examples[0]!.question, context: examples[0]!.context });
  assert.equal(one.answer, predictions[examples[0]!.id]);

  // The CLI: evaluate on SQuAD JSON, predict over JSONL of {question, context}.
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
  const evalRun = cli('evaluate', '--model', out, '--data', train);
  assert.equal(evalRun.status, 0, evalRun.stderr);
  assert.match(evalRun.stdout, /exact_match\s+[\d.]+/);
  const inputs = join(work, 'questions.jsonl');
  writeFileSync(inputs, examples.slice(0, 3).map((e) => JSON.stringify({ question: e.question, context: e.context })).join('\n') + '\n');
  const predictRun = cli('predict', '--task', 'question-answering', '--model', out, '--input', inputs);
  assert.equal(predictRun.status, 0, predictRun.stderr);
  const lines = predictRun.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.equal(typeof lines[0].output.answer, 'string');
  writeFileSync(inputs, '{"question": 1}\n');
  assert.match(cli('predict', '--task', 'question-answering', '--model', out, '--input', inputs).stderr, /questions\.jsonl:1: needs string fields/);
});
