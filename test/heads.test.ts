// Downstream heads (docs/method.md §2) against PyTorch (scripts/reference/make_head_fixtures.py): each head's
// logits, loss and every parameter gradient; selectColumn against its reference and finite
// differences; saving and loading task directories with Hugging Face config keys.
// Legend: B batch, T sequence, C hidden, L num_labels.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BertForSequenceClassification, DistilBertForSequenceClassification } from '../src/models/classification.js';
import { BertForQuestionAnswering, DistilBertForQuestionAnswering, questionAnsweringLoss } from '../src/models/qa.js';
import {
  loadForQuestionAnswering, loadForSequenceClassification, readLabelConfig, saveTaskModel, type TaskModel,
} from '../src/models/task_pretrained.js';
import { selectColumn } from '../src/tensor/select.js';
import { backward, noGrad, Tensor } from '../src/tensor/tensor.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';
import { formatReport, testOp, type Reference } from './op_helper.js';

const fwd = fixture('forward.safetensors');
const heads = fixture('heads.safetensors');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'heads.json'), 'utf8'));
const [B, T] = fwd.info('input_ids').shape as [number, number];
const input = { inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), batch: B, seqLen: T };
const tokenTypeIds = int32(fwd, 'token_type_ids');
const wordRows = int32(heads, 'word_rows');

interface HeadInfo {
  architecture: string; base: string; head_params: string[]; loss: number; token_type_ids: boolean;
  num_labels?: number; problem_type?: string; labels?: number[]; start_positions?: number[]; end_positions?: number[];
}

/** The fixture model of `key`: the encoder loaded from its tiny directory, the head weights from heads.safetensors. */
function build(key: string): TaskModel {
  const g = golden.heads[key] as HeadInfo;
  const dir = join(FIXTURES, g.base);
  const model = g.architecture.endsWith('QuestionAnswering')
    ? loadForQuestionAnswering(dir)
    : loadForSequenceClassification(dir, { numLabels: g.num_labels! });
  assert.equal(model.architecture, g.architecture);
  assert.deepEqual([...model.newlyInitialized].sort(), g.head_params, 'the loader initialises exactly the head-only parameters');
  for (const n of g.head_params) model.params.view(n).set(heads.float32(`${key}.param.${n}`));
  return model;
}

/**
 * The stored form of a gradient: embedding tables keep only the rows the batch reads (word_rows,
 * positions 0..T-1); the other rows must be exactly 0.
 */
function storedRows(name: string, grad: Float32Array, C: number): Float32Array {
  const rows = name.endsWith('word_embeddings.weight') ? wordRows
    : name.endsWith('position_embeddings.weight') ? Int32Array.from({ length: T }, (_, t) => t) : null;
  if (!rows) return grad;
  const keep = new Set(rows);
  for (let r = 0; r < grad.length / C; r++)
    if (!keep.has(r)) assert.ok(grad.subarray(r * C, (r + 1) * C).every((v) => v === 0), `${name}: row ${r} should get no gradient`);
  const out = new Float32Array(rows.length * C);
  rows.forEach((r, i) => out.set(grad.subarray(r * C, (r + 1) * C), i * C));
  return out;
}

for (const key of Object.keys(golden.heads)) {
  test(`${key}: logits, loss and every parameter gradient match PyTorch`, () => {
    const g = golden.heads[key] as HeadInfo;
    const model = build(key);
    model.enableGrad();
    const x = g.token_type_ids ? { ...input, tokenTypeIds } : input;
    let loss: Tensor;
    let fwdErr = 0;
    if (model instanceof DistilBertForSequenceClassification || model instanceof BertForSequenceClassification) {
      assert.equal(model.labels.problemType, g.problem_type);
      const out = model.forward(x);
      assert.deepEqual(out.logits.shape, [B, g.num_labels]);
      fwdErr = assertClose(`${key}.logits`, out.logits.data, heads.float32(`${key}.logits`), 1e-5).maxRel;
      const labels = g.problem_type === 'regression' ? Float32Array.from(g.labels!) : Int32Array.from(g.labels!);
      loss = model.loss(out.logits, labels);
    } else {
      const out = model.forward(x);
      assert.deepEqual(out.startLogits.shape, [B, T]);
      fwdErr = Math.max(
        assertClose(`${key}.start_logits`, out.startLogits.data, heads.float32(`${key}.start_logits`), 1e-5).maxRel,
        assertClose(`${key}.end_logits`, out.endLogits.data, heads.float32(`${key}.end_logits`), 1e-5).maxRel);
      loss = questionAnsweringLoss(out.startLogits, out.endLogits, Int32Array.from(g.start_positions!), Int32Array.from(g.end_positions!));
    }
    const lossErr = Math.abs(loss.item() - g.loss) / Math.abs(g.loss);
    assert.ok(lossErr <= 1e-5, `loss ${loss.item()} vs ${g.loss}`);
    backward(loss);
    let worst = { name: '', rel: 0 };
    for (const name of model.params.names()) {
      const C = model.params.shape(name).at(-1)!;
      const got = storedRows(name, model.params.gradView(name), C);
      const want = heads.float32(`${key}.grad.${name}`);
      const d = assertClose(`${key} grad ${name}`, got, want, 1e-4, 1e-7);
      // Some gradients are 0 by construction, as softmax ignores a per-row shift: the key biases, and in
      // QA the last LayerNorm bias and qa_outputs.bias (softmax over positions). Only atol applies there.
      if (want.some((v) => Math.abs(v) > 1e-6) && d.maxRel > worst.rel) worst = { name, rel: d.maxRel };
    }
    console.log(`# ${key}: forward ${fwdErr.toExponential(2)}, loss ${lossErr.toExponential(2)}, ` +
      `worst gradient ${worst.rel.toExponential(2)} (${worst.name})`);
  });
}

test('selectColumn: forward, backward and finite differences against the reference', () => {
  const [N, K] = [7, 3];
  for (let j = 0; j < K; j++) {
    const ref: Reference = {
      forward: ([x]) => Float64Array.from({ length: N }, (_, i) => x![i * K + j]!),
      backward: (_, dy) => {
        const dx = new Float64Array(N * K);
        for (let i = 0; i < N; i++) dx[i * K + j] = dy[i]!;
        return [dx];
      },
    };
    const r = testOp(`selectColumn(${j})`, [[N, K]], ref, ([x]) => selectColumn(x!, j), { fdSamples: N * K });
    console.log(`# ${formatReport(r)}`);
  }
  assert.deepEqual([...selectColumn(new Tensor(Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]), 1).data], [2, 4, 6]);
  assert.throws(() => selectColumn(new Tensor(new Float32Array(6), [3, 2]), 2), /column 2 is out of range for 2 columns/);
  assert.throws(() => selectColumn(new Tensor(new Float32Array(6), [6]), 0), /must be 2-D/);
});

test('questionAnsweringLoss clamps positions to [0, T] and ignores T (HF)', () => {
  const start = new Tensor(Float32Array.of(0, 1, 2, 3, 3, 2, 1, 0), [2, 4]);
  const ce = (row: number[], t: number): number => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[t]!;
  // Row 0: start -5 -> 0, end 9 -> ignored; row 1: start 2, end 1.
  const loss = questionAnsweringLoss(start, start, Int32Array.of(-5, 2), Int32Array.of(9, 1)).item();
  const want = ((ce([0, 1, 2, 3], 0) + ce([3, 2, 1, 0], 2)) / 2 + ce([3, 2, 1, 0], 1)) / 2;
  assert.ok(Math.abs(loss - want) < 1e-6, `${loss} vs ${want}`);
});

test('dropout of the heads acts in training mode only', () => {
  const model = build('distilbert_cls');
  assert.ok(model instanceof DistilBertForSequenceClassification);
  const want = heads.float32('distilbert_cls.logits');
  const evalLogits = noGrad(() => model.forward(input).logits.data);
  assertClose('eval logits', evalLogits, want);
  model.train(); // seq_classif_dropout 0.2 in tiny-distilbert/config.json
  const trainLogits = noGrad(() => model.forward(input).logits.data);
  assert.ok(trainLogits.some((v, i) => Math.abs(v - want[i]!) > 1e-4), 'dropout changed nothing in training mode');
});

test('saveTaskModel -> load round trip keeps weights, id2label / label2id / problem_type', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heads-'));
  try {
    const model = loadForSequenceClassification(join(FIXTURES, 'tiny-distilbert'), { id2label: ['negative', 'neutral', 'positive'], seed: 7 });
    saveTaskModel(dir, model);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(cfg.architectures, ['DistilBertForSequenceClassification']);
    assert.equal(cfg.model_type, 'distilbert');
    assert.deepEqual(cfg.id2label, { 0: 'negative', 1: 'neutral', 2: 'positive' });
    assert.deepEqual(cfg.label2id, { negative: 0, neutral: 1, positive: 2 });
    assert.equal(cfg.problem_type, 'single_label_classification');
    assert.ok(!('num_labels' in cfg), 'num_labels is not a config.json key (HF derives it from id2label)');
    const back = loadForSequenceClassification(dir);
    assert.ok(back instanceof DistilBertForSequenceClassification);
    assert.deepEqual(back.newlyInitialized, []);
    assert.deepEqual(back.labels, model.labels);
    assert.deepEqual(back.params.data, model.params.data);
    const a = noGrad(() => model.forward(input).logits.data), b = noGrad(() => back.forward(input).logits.data);
    assert.deepEqual(b, a);
    // The same directory as a QA model: the classifier keys are skipped, qa_outputs initialised.
    const qa = loadForQuestionAnswering(dir);
    assert.ok(qa instanceof DistilBertForQuestionAnswering);
    assert.deepEqual(qa.newlyInitialized, ['qa_outputs.weight', 'qa_outputs.bias']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BERT heads: regression and QA directories round-trip; the pooler is kept or skipped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heads-'));
  try {
    const reg = loadForSequenceClassification(join(FIXTURES, 'tiny-bert'), { numLabels: 1, seed: 3 });
    assert.ok(reg instanceof BertForSequenceClassification);
    assert.equal(reg.labels.problemType, 'regression');
    saveTaskModel(join(dir, 'reg'), reg);
    const cfg = JSON.parse(readFileSync(join(dir, 'reg', 'config.json'), 'utf8'));
    assert.deepEqual([cfg.architectures, cfg.id2label, cfg.problem_type], [['BertForSequenceClassification'], { 0: 'LABEL_0' }, 'regression']);
    const back = loadForSequenceClassification(join(dir, 'reg'));
    assert.deepEqual([back.newlyInitialized, back.labels], [[], reg.labels]);
    assert.deepEqual(back.params.data, reg.params.data);
    const qa = loadForQuestionAnswering(join(dir, 'reg')); // pooler and classifier skipped
    assert.ok(qa instanceof BertForQuestionAnswering);
    assert.deepEqual(qa.newlyInitialized, ['qa_outputs.weight', 'qa_outputs.bias']);
    assert.deepEqual(qa.params.view('bert.encoder.layer.3.output.dense.weight'), reg.params.view('bert.encoder.layer.3.output.dense.weight'));
    saveTaskModel(join(dir, 'qa'), qa);
    const qaBack = loadForQuestionAnswering(join(dir, 'qa'));
    assert.deepEqual(qaBack.newlyInitialized, []);
    assert.deepEqual(qaBack.params.data, qa.params.data);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'qa', 'config.json'), 'utf8')).architectures, ['BertForQuestionAnswering']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a masked-LM checkpoint loads into a classification head: encoder equal, head initialised', () => {
  const model = loadForSequenceClassification(join(FIXTURES, 'tiny-distilbert'), { numLabels: 3, seed: 1 });
  assert.ok(model instanceof DistilBertForSequenceClassification);
  const file = fixture('tiny-distilbert/model.safetensors');
  const encoder = model.params.names().filter((n) => n.startsWith('distilbert.'));
  assert.equal(encoder.length, model.params.names().length - 4);
  for (const n of encoder) assert.deepEqual(model.params.view(n), file.float32(n), n);
  assert.deepEqual(model.newlyInitialized, ['pre_classifier.weight', 'pre_classifier.bias', 'classifier.weight', 'classifier.bias']);
  assert.deepEqual(model.labels, readLabelConfig({}, { numLabels: 3 }));
  assert.deepEqual(model.labels.id2label, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
  for (const w of ['pre_classifier.weight', 'classifier.weight']) {
    const v = model.params.view(w);
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    assert.ok(std > 0.012 && std < 0.028, `${w}: std ${std}, want ~initializer_range 0.02`);
  }
  for (const b of ['pre_classifier.bias', 'classifier.bias']) assert.ok(model.params.view(b).every((x) => x === 0), b);
  // BERT: the MLM checkpoint has no pooler, so it is initialised too; cls.* keys are skipped.
  const bert = loadForSequenceClassification(join(FIXTURES, 'tiny-bert'));
  assert.deepEqual(bert.newlyInitialized, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
  assert.equal(bert.labels.numLabels, 2);
});

test('a head checkpoint with another num_labels fails naming the tensor and both shapes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'heads-'));
  try {
    saveTaskModel(dir, loadForSequenceClassification(join(FIXTURES, 'tiny-distilbert'), { numLabels: 3 }));
    assert.throws(() => loadForSequenceClassification(dir, { numLabels: 5 }), (e: Error) => {
      assert.match(e.message, /num_labels 5/);
      assert.match(e.message, /tensor "classifier\.weight" is \[3, 32\] in the file but the model expects \[5, 32\]/);
      assert.match(e.message, /tensor "classifier\.bias" is \[3\] in the file but the model expects \[5\]/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readLabelConfig follows transformers: overrides, LABEL_i renames, problem_type', () => {
  const raw = { id2label: { 0: 'neg', 1: 'pos' }, label2id: { neg: 0, pos: 1 } };
  assert.deepEqual(readLabelConfig(raw),
    { numLabels: 2, id2label: ['neg', 'pos'], label2id: { neg: 0, pos: 1 }, problemType: 'single_label_classification' });
  assert.deepEqual(readLabelConfig(raw, { numLabels: 2 }).id2label, ['neg', 'pos']); // same size: names kept
  assert.deepEqual(readLabelConfig(raw, { numLabels: 3 }).id2label, ['LABEL_0', 'LABEL_1', 'LABEL_2']);
  assert.equal(readLabelConfig({}, { numLabels: 1 }).problemType, 'regression');
  assert.equal(readLabelConfig({ problem_type: 'regression' }, { numLabels: 2 }).problemType, 'regression');
  assert.throws(() => readLabelConfig({ problem_type: 'multi_label_classification' }), /not supported/);
  assert.throws(() => readLabelConfig({}, { numLabels: 2, id2label: ['a', 'b', 'c'] }), /contradicts/);
  assert.throws(() => readLabelConfig({ id2label: { 0: 'a', 2: 'b' } }), /id2label must map/);
});
