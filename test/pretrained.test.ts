// Saving a DistilBERT directory and loading it back, in the layout Hugging Face writes: the key set
// equals the one the PyTorch reference wrote (save_pretrained drops the tied vocab_projector.weight),
// config.json round-trips, and bad directories fail with errors that name the file and tensor.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readModelConfig } from '../src/io/config.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { loadMaskedLM, saveDistilBert } from '../src/models/pretrained.js';
import { FIXTURES } from './helpers.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'distil-pretrained-'));

test('a saved DistilBERT has the Hugging Face key set and loads back bit-exact', () => {
  const src = loadMaskedLM(join(FIXTURES, 'tiny-distilbert'));
  assert.ok(src instanceof DistilBertForMaskedLM);
  const dir = tmp();
  saveDistilBert(dir, src, readModelConfig(join(FIXTURES, 'tiny-distilbert')).config as never);
  const ours = readSafetensors(join(dir, 'model.safetensors'));
  const theirs = readSafetensors(join(FIXTURES, 'tiny-distilbert', 'model.safetensors'));
  assert.deepEqual([...ours.tensors.keys()].sort(), [...theirs.tensors.keys()].sort());
  assert.equal(ours.metadata.format, 'pt');
  for (const [k, info] of theirs.tensors) assert.deepEqual(ours.info(k).shape, info.shape, k);
  const back = loadMaskedLM(dir);
  assert.deepEqual(back.params.data, src.params.data);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'distilbert');
  assert.deepEqual(cfg.architectures, ['DistilBertForMaskedLM']);
  assert.equal(cfg.dim, 32);
  assert.equal(cfg.n_layers, 2);
});

test('a checkpoint whose config does not match its weights names the file, tensor and both shapes', () => {
  const dir = tmp();
  copyFileSync(join(FIXTURES, 'tiny-distilbert', 'model.safetensors'), join(dir, 'model.safetensors'));
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'tiny-distilbert', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, hidden_dim: 48 }));
  assert.throws(() => loadMaskedLM(dir), (e: Error) =>
    e.message.includes('model.safetensors') && e.message.includes('ffn.lin1.weight') && e.message.includes('48'));
});

test('missing weights, missing tensors and truncated files are reported with the file name', () => {
  const dir = tmp();
  copyFileSync(join(FIXTURES, 'tiny-distilbert', 'config.json'), join(dir, 'config.json'));
  assert.throws(() => loadMaskedLM(dir), /model\.safetensors: not found/);

  const full = readSafetensors(join(FIXTURES, 'tiny-distilbert', 'model.safetensors'));
  const kept = [...full.tensors.keys()].filter((k) => k !== 'vocab_layer_norm.weight');
  writeSafetensors(join(dir, 'model.safetensors'), kept.map((k) => ({
    name: k, dtype: 'F32' as const, shape: full.info(k).shape, data: full.float32(k),
  })));
  assert.throws(() => loadMaskedLM(dir), (e: Error) => e.message.includes('vocab_layer_norm.weight') && e.message.includes(dir));

  const bytes = readFileSync(join(FIXTURES, 'tiny-distilbert', 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadMaskedLM(dir), (e: Error) => e.message.includes('model.safetensors'));
});

test('a Hub-style BERT checkpoint (gamma/beta names, NSP head, position_ids) loads', () => {
  const dir = tmp();
  copyFileSync(join(FIXTURES, 'tiny-bert', 'config.json'), join(dir, 'config.json'));
  const full = readSafetensors(join(FIXTURES, 'tiny-bert', 'model.safetensors'));
  const tensors = [...full.tensors.keys()].map((k) => ({
    name: k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'),
    dtype: 'F32' as const, shape: full.info(k).shape, data: full.float32(k),
  }));
  tensors.push({ name: 'cls.seq_relationship.weight', dtype: 'F32', shape: [2, 32], data: new Float32Array(64) });
  tensors.push({ name: 'cls.seq_relationship.bias', dtype: 'F32', shape: [2], data: new Float32Array(2) });
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const model = loadMaskedLM(dir);
  const ref = loadMaskedLM(join(FIXTURES, 'tiny-bert'));
  assert.deepEqual(model.params.data, ref.params.data);
});
