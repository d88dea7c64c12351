// Untied MLM decoders (config.json "tie_word_embeddings": false, scripts/reference/make_untied_fixtures.py):
// BERT's cls.predictions.decoder.weight and DistilBERT's vocab_projector.weight are weights of their
// own in the forward, the gradients, saving, init-student and the ONNX export, matching PyTorch.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initStudent } from '../src/distill/init_student.js';
import { exportOnnx } from '../src/infer/onnx_export.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { loadMaskedLM, saveBert, saveDistilBert, type MaskedLM } from '../src/models/pretrained.js';
import { crossEntropy } from '../src/tensor/ops.js';
import { backward, noGrad } from '../src/tensor/tensor.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';
import { floats, runOrt } from './onnx_helpers.js';

const fwd = fixture('forward.safetensors');
const want = fixture('untied.safetensors');
const [B, T] = fwd.info('input_ids').shape as [number, number];
const input = { inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), batch: B, seqLen: T };
const labels = int32(fwd, 'mlm_labels');
const work = mkdtempSync(join(tmpdir(), 'distil-untied-'));

const cases = [
  { key: 'bert', dir: 'tiny-bert-untied', decoder: 'cls.predictions.decoder.weight', word: 'bert.embeddings.word_embeddings.weight' },
  { key: 'distilbert', dir: 'tiny-distilbert-untied', decoder: 'vocab_projector.weight', word: 'distilbert.embeddings.word_embeddings.weight' },
] as const;

for (const c of cases)
  test(`${c.key} with tie_word_embeddings false: logits, loss and every gradient (the decoder's too) match PyTorch`, () => {
    const model = loadMaskedLM(join(FIXTURES, c.dir));
    assert.equal(model.config.tie_word_embeddings, false);
    assert.ok(model.params.names().includes(c.decoder), `${c.decoder} is a parameter`);
    model.enableGrad();
    model.eval();
    const out = model.forward(input);
    assertClose(`${c.key} logits`, out.logits.data, want.float32(`${c.key}.logits`));
    const V = model.config.vocab_size;
    const loss = crossEntropy(out.logits.view([B * T, V]), labels);
    assert.ok(Math.abs(loss.item() - want.float32(`${c.key}.loss`)[0]!) < 1e-5, `loss ${loss.item()}`);
    backward(loss);
    for (const name of model.params.names()) assertClose(`${c.key} grad ${name}`, model.params.gradView(name), want.float32(`${c.key}.grad.${name}`), 1e-4, 1e-7);
  });

/** Logits of the fixture batch. */
const logitsOf = (m: MaskedLM): Float32Array => noGrad(() => m.eval().forward(input).logits.data.slice());

test('an untied model saves its decoder and tie_word_embeddings: false, and reloads to the same logits', () => {
  for (const c of cases) {
    const model = loadMaskedLM(join(FIXTURES, c.dir));
    const dir = join(work, `saved-${c.key}`);
    if (model instanceof BertForMaskedLM) saveBert(dir, model, model.config);
    else saveDistilBert(dir, model as DistilBertForMaskedLM, model.config);
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).tie_word_embeddings, false);
    assert.ok(readSafetensors(join(dir, 'model.safetensors')).tensors.has(c.decoder));
    assert.deepEqual(logitsOf(loadMaskedLM(dir)), logitsOf(model));
  }
});

test('init-student from an untied teacher: an untied student whose projector is the teacher decoder', () => {
  const out = join(work, 'student');
  initStudent(join(FIXTURES, 'tiny-bert-untied'), out, [0, 2]);
  const student = loadMaskedLM(out);
  assert.ok(student instanceof DistilBertForMaskedLM);
  assert.equal(student.config.tie_word_embeddings, false);
  assert.deepEqual(student.params.view('vocab_projector.weight'), loadMaskedLM(join(FIXTURES, 'tiny-bert-untied')).params.view('cls.predictions.decoder.weight'));
});

test('fill-mask ONNX export of an untied model gives our logits in onnxruntime', async () => {
  for (const c of cases) {
    const file = exportOnnx(join(FIXTURES, c.dir), { task: 'fill-mask', outFile: join(work, `${c.key}.onnx`) });
    const ort = await runOrt(file, input);
    assertClose(`${c.key} ORT logits`, floats(ort.logits), logitsOf(loadMaskedLM(join(FIXTURES, c.dir))), 1e-4, 1e-5);
  }
});
