// BERT and DistilBERT against PyTorch fixtures (scripts/reference/make_fixtures.py): every hidden
// state and the logits, loading the Hugging Face directories the script wrote.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { bertConfig, distilBertConfig, readModelConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { encoderSpecs } from '../src/models/encoder.js';
import { DISTILBERT } from '../src/models/family.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { noGrad } from '../src/tensor/tensor.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';

const fwd = fixture('forward.safetensors');
const [B, T] = fwd.info('input_ids').shape as [number, number];
const input = {
  inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), tokenTypeIds: int32(fwd, 'token_type_ids'),
  batch: B, seqLen: T,
};

test('BertForMaskedLM matches PyTorch: every hidden state and the logits', () => {
  const teacher = loadMaskedLM(join(FIXTURES, 'tiny-bert')).eval();
  assert.ok(teacher instanceof BertForMaskedLM);
  const out = noGrad(() => teacher.forward(input));
  assert.equal(out.hiddenStates.length, 5);
  out.hiddenStates.forEach((h, k) => assertClose(`teacher.hidden_states.${k}`, h.data, fwd.float32(`teacher.hidden_states.${k}`)));
  assert.deepEqual(out.logits.shape, [B, T, 99]);
  assertClose('teacher.logits', out.logits.data, fwd.float32('teacher.logits'));
});

test('DistilBertForMaskedLM matches PyTorch: every hidden state and the logits', () => {
  const student = loadMaskedLM(join(FIXTURES, 'tiny-distilbert')).eval();
  assert.ok(student instanceof DistilBertForMaskedLM);
  const out = noGrad(() => student.forward(input));
  assert.equal(out.hiddenStates.length, 3);
  out.hiddenStates.forEach((h, k) => assertClose(`student.hidden_states.${k}`, h.data, fwd.float32(`student.hidden_states.${k}`)));
  assertClose('student.logits', out.logits.data, fwd.float32('student.logits'));
});

test('MLM head on selected positions equals the same rows of the full projection', () => {
  const student = loadMaskedLM(join(FIXTURES, 'tiny-distilbert')).eval();
  const positions = Int32Array.of(0, 5, 13, 30);
  const sel = noGrad(() => student.forward({ ...input, mlmPositions: positions }));
  assert.deepEqual(sel.logits.shape, [4, 99]);
  const full = fwd.float32('student.logits');
  positions.forEach((p, r) =>
    assertClose(`row ${p}`, sel.logits.data.subarray(r * 99, (r + 1) * 99), full.subarray(p * 99, (p + 1) * 99)));
});

test('parameter counts at base size are exact', () => {
  const distil = new DistilBertForMaskedLM(distilBertConfig());
  const encoder = encoderSpecs(DISTILBERT, DISTILBERT.dims(distilBertConfig())).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(encoder, 66_362_880);
  assert.equal(distil.numParameters(), 66_985_530);
  const bert = BertForMaskedLM.specs(bertConfig(), true)
    .filter((s) => s.name.startsWith('bert.'))
    .reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(bert, 109_482_240);
});

test('config.json of the fixtures reads back as the right model kinds', () => {
  assert.equal(readModelConfig(join(FIXTURES, 'tiny-bert')).kind, 'bert');
  assert.equal(readModelConfig(join(FIXTURES, 'tiny-distilbert')).kind, 'distilbert');
});
