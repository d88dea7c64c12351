// Tests for src/io/: config.json handling and state-dict loading (safetensors: io.test.ts).
// Files are built in a fresh temporary directory.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ParamStore, type ParamSpec } from '../src/tensor/param_store.js';
import {
  BERT_DEFAULTS,
  DISTILBERT_DEFAULTS,
  bertConfig,
  distilBertConfig,
  readModelConfig,
  writeBertConfig,
  writeDistilBertConfig,
} from '../src/io/config.js';
import { bf16ToF32, f32ToBf16, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadStateDict, saveStateDict } from '../src/io/state_dict.js';
import { fresh, throwsWith } from './io_helpers.js';

// ---------------------------------------------------------------- config

test('configs: defaults, overrides, unknown keys and wrong types', () => {
  assert.deepEqual(bertConfig(), BERT_DEFAULTS);
  assert.deepEqual(distilBertConfig(), DISTILBERT_DEFAULTS);
  const tiny = distilBertConfig({ vocab_size: 100, dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 64 });
  assert.equal(tiny.dim, 32);
  assert.equal(tiny.seq_classif_dropout, 0.2);
  throwsWith(() => distilBertConfig({ n_layer: 3 } as never), 'unknown DistilBertConfig key "n_layer"', 'allowed keys: vocab_size, dim, n_layers');
  throwsWith(() => bertConfig({ hidden_size: '768' } as never), 'hidden_size', 'integer', '"768"');
  throwsWith(() => bertConfig({ hidden_dropout_prob: 1 }), 'hidden_dropout_prob', '[0, 1)');
  throwsWith(() => bertConfig({ layer_norm_eps: 0 }), 'layer_norm_eps', '> 0');
  throwsWith(() => distilBertConfig({ dim: 100 }), 'dim 100 is not divisible by n_heads 12');
  throwsWith(() => distilBertConfig({ activation: 'relu' } as never), 'activation', 'not supported', 'gelu');
  throwsWith(() => distilBertConfig({ sinusoidal_pos_embds: true } as never), 'sinusoidal_pos_embds', 'not supported');
  throwsWith(() => distilBertConfig({ tie_weights_: 1 } as never), 'tie_weights_', 'true or false');
  throwsWith(() => bertConfig({ vocab_size: 10, pad_token_id: 10 }), 'pad_token_id 10');
});

/** distilbert-base-uncased's config.json as published on the Hub. */
const HUB_DISTILBERT = {
  activation: 'gelu',
  architectures: ['DistilBertForMaskedLM'],
  attention_dropout: 0.1,
  dim: 768,
  dropout: 0.1,
  hidden_dim: 3072,
  initializer_range: 0.02,
  max_position_embeddings: 512,
  model_type: 'distilbert',
  n_heads: 12,
  n_layers: 6,
  pad_token_id: 0,
  qa_dropout: 0.1,
  seq_classif_dropout: 0.2,
  sinusoidal_pos_embds: false,
  tie_weights_: true,
  transformers_version: '4.10.0.dev0',
  vocab_size: 30522,
};

/** bert-base-uncased's config.json as published on the Hub, plus classifier keys. */
const HUB_BERT = {
  architectures: ['BertForMaskedLM'],
  attention_probs_dropout_prob: 0.1,
  gradient_checkpointing: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 3072,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  transformers_version: '4.6.0.dev0',
  type_vocab_size: 2,
  use_cache: true,
  vocab_size: 30522,
  id2label: { '0': 'NEGATIVE', '1': 'POSITIVE' },
  label2id: { NEGATIVE: 0, POSITIVE: 1 },
  problem_type: 'single_label_classification',
};

function configDir(json: unknown): string {
  const dir = fresh('model');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof json === 'string' ? json : JSON.stringify(json));
  return dir;
}

test('readModelConfig reads Hub configs and keeps unknown keys in raw', () => {
  const d = readModelConfig(configDir(HUB_DISTILBERT));
  assert.equal(d.kind, 'distilbert');
  assert.deepEqual(d.config, DISTILBERT_DEFAULTS);
  assert.deepEqual(d.raw.architectures, ['DistilBertForMaskedLM']);
  const b = readModelConfig(configDir(HUB_BERT));
  assert.equal(b.kind, 'bert');
  assert.deepEqual(b.config, BERT_DEFAULTS);
  assert.deepEqual(b.raw.id2label, { '0': 'NEGATIVE', '1': 'POSITIVE' });
  // Keys missing from an old config.json take the defaults.
  const old = readModelConfig(configDir({ model_type: 'distilbert', n_layers: 3 }));
  assert.equal(old.kind === 'distilbert' && old.config.n_layers, 3);
});

test('readModelConfig errors name the file, the field and the fix', () => {
  const cases: Array<[unknown, string[]]> = [
    ['{"model_type": ', ['not valid JSON', 'save_pretrained']],
    [[1], ['JSON object']],
    [{ dim: 768 }, ['model_type is missing', '"distilbert"']],
    [{ model_type: 'roberta' }, ['"roberta" is not supported', '"bert"']],
    [{ ...HUB_DISTILBERT, n_heads: '12' }, ['n_heads', 'integer', '"12"']],
    [{ ...HUB_DISTILBERT, n_layers: 0 }, ['n_layers', '>= 1']],
    [{ ...HUB_DISTILBERT, dim: 770 }, ['dim 770 is not divisible by n_heads 12']],
    [{ ...HUB_DISTILBERT, sinusoidal_pos_embds: true }, ['sinusoidal_pos_embds', 'not supported', 'false']],
    [{ ...HUB_BERT, hidden_act: 'gelu_new' }, ['hidden_act', '"gelu_new" is not supported']],
    [{ ...HUB_BERT, hidden_size: -768 }, ['hidden_size', '>= 1']],
    [{ ...HUB_BERT, position_embedding_type: 'relative_key' }, ['position_embedding_type', 'absolute']],
  ];
  for (const [json, fragments] of cases) {
    const dir = configDir(json);
    throwsWith(() => readModelConfig(dir), path.join(dir, 'config.json'), ...fragments);
  }
  const empty = fresh('empty');
  throwsWith(() => readModelConfig(empty), path.join(empty, 'config.json'), 'file not found');
});

test('written configs are full HF JSON and read back', () => {
  const dir = fresh('out');
  const student = distilBertConfig({ n_layers: 3 });
  writeDistilBertConfig(dir, student);
  const text = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  const json = JSON.parse(text);
  assert.ok(text.startsWith('{\n  "activation": "gelu",\n  "architectures": [\n'), 'sorted, 2-space indent');
  assert.ok(text.endsWith('}\n'));
  assert.deepEqual(Object.keys(json), [...Object.keys(json)].sort());
  assert.equal(json.model_type, 'distilbert');
  assert.equal(json.transformers_version, '4.46.0');
  assert.deepEqual(json.architectures, ['DistilBertForMaskedLM']);
  assert.deepEqual(readModelConfig(dir).config, student);

  writeDistilBertConfig(dir, student, { architectures: ['DistilBertForSequenceClassification'], id2label: { 0: 'neg', 1: 'pos' } });
  const cls = readModelConfig(dir);
  assert.deepEqual(cls.raw.architectures, ['DistilBertForSequenceClassification']);
  assert.deepEqual(cls.raw.id2label, { 0: 'neg', 1: 'pos' });
  throwsWith(() => writeDistilBertConfig(dir, student, { dim: 5 }), 'extra key "dim"');
  throwsWith(() => writeDistilBertConfig(dir, { ...student, dim: 5 }), 'dim 5 is not divisible');

  const bdir = fresh('bert');
  writeBertConfig(bdir, bertConfig({ num_hidden_layers: 2 }));
  const b = readModelConfig(bdir);
  assert.equal(b.kind, 'bert');
  assert.equal(b.kind === 'bert' && b.config.num_hidden_layers, 2);
  assert.deepEqual(b.raw.architectures, ['BertForMaskedLM']);
});

// ---------------------------------------------------------------- state dict

const SPECS: ParamSpec[] = [
  { name: 'distilbert.embeddings.word_embeddings.weight', shape: [5, 4], init: { kind: 'normal', std: 0.02 } },
  { name: 'distilbert.embeddings.LayerNorm.weight', shape: [4], init: { kind: 'const', value: 1 } },
  { name: 'distilbert.embeddings.LayerNorm.bias', shape: [4], init: { kind: 'const', value: 0 } },
  { name: 'vocab_projector.bias', shape: [5], init: { kind: 'const', value: 0 } },
];

function source(seed = 1): ParamStore {
  const s = new ParamStore(SPECS);
  s.initialize(seed);
  s.view('distilbert.embeddings.LayerNorm.bias').set([0.1, 0.2, 0.3, 0.4]);
  return s;
}

test('saveStateDict + loadStateDict round trip', () => {
  const file = fresh('model.safetensors');
  const src = source();
  saveStateDict(file, src);
  const st = readSafetensors(file);
  assert.deepEqual(st.metadata, { format: 'pt' });
  const dst = new ParamStore(SPECS);
  const report = loadStateDict(dst, st);
  assert.deepEqual(report, { loaded: dst.names(), ignored: [], missing: [] });
  assert.deepEqual(dst.data, src.data);

  saveStateDict(file, src, { skip: ['vocab_projector.bias'], metadata: { step: '7' } });
  const skipped = readSafetensors(file);
  assert.equal(skipped.tensors.has('vocab_projector.bias'), false);
  assert.deepEqual(skipped.metadata, { format: 'pt', step: '7' });
  throwsWith(() => saveStateDict(file, src, { skip: ['nope'] }), '"nope"');
});

/** A checkpoint with the given keys (in file naming) holding `src`'s values, stored as `dtype`. */
function checkpoint(src: ParamStore, keyFor: (name: string) => string | null, dtype: 'F32' | 'BF16' = 'F32'): string {
  const file = fresh('ckpt.safetensors');
  const tensors = src.entries.flatMap((e) => {
    const name = keyFor(e.name);
    if (name === null) return [];
    const v = src.view(e.name);
    return [dtype === 'F32' ? { name, dtype, shape: e.shape, data: v } : { name, dtype, shape: e.shape, data: Uint16Array.from(v, f32ToBf16) }];
  });
  writeSafetensors(file, tensors);
  return file;
}

test('loadStateDict converts BF16, renames gamma/beta and adds the base prefix', () => {
  const src = source();
  const dst = new ParamStore(SPECS);
  loadStateDict(dst, readSafetensors(checkpoint(src, (n) => n, 'BF16')));
  for (let i = 0; i < dst.size; i++) assert.equal(dst.data[i], bf16ToF32(f32ToBf16(src.data[i])));

  const tf = checkpoint(src, (n) => n.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'));
  const dst2 = new ParamStore(SPECS);
  const r = loadStateDict(dst2, readSafetensors(tf));
  assert.equal(r.loaded.length, 4);
  assert.deepEqual(dst2.data, src.data);

  // Saved from the bare DistilBertModel: no "distilbert." prefix; the head key keeps its name.
  const bare = checkpoint(src, (n) => n.replace(/^distilbert\./, ''));
  throwsWith(() => loadStateDict(new ParamStore(SPECS), readSafetensors(bare)), 'missing');
  const dst3 = new ParamStore(SPECS);
  loadStateDict(dst3, readSafetensors(bare), { basePrefix: 'distilbert.' });
  assert.deepEqual(dst3.data, src.data);

  const renamed = checkpoint(src, (n) => `model.${n}`);
  const dst4 = new ParamStore(SPECS);
  loadStateDict(dst4, readSafetensors(renamed), { rename: (k) => k.replace(/^model\./, '') });
  assert.deepEqual(dst4.data, src.data);
});

test('loadStateDict errors: missing, unexpected, shape, dtype; the store is left untouched', () => {
  const src = source();
  const dst = new ParamStore(SPECS);
  dst.initialize(9);
  const before = Float32Array.from(dst.data);

  const noBias = checkpoint(src, (n) => (n === 'vocab_projector.bias' ? null : n));
  throwsWith(
    () => loadStateDict(dst, readSafetensors(noBias), { basePrefix: 'distilbert.' }),
    noBias,
    '1 parameters missing',
    'vocab_projector.bias',
    'Is this a distilbert checkpoint?',
  );
  const partial = loadStateDict(new ParamStore(SPECS), readSafetensors(noBias), { allowMissing: [/^vocab_projector\./] });
  assert.deepEqual(partial.missing, ['vocab_projector.bias']);

  const extra = fresh('extra.safetensors');
  const tensors = src.entries.map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: src.view(e.name) }));
  writeSafetensors(extra, [...tensors, { name: 'cls.seq_relationship.bias', dtype: 'F32', shape: [2], data: new Float32Array(2) }]);
  throwsWith(() => loadStateDict(dst, readSafetensors(extra)), extra, 'unexpected', 'cls.seq_relationship.bias', 'ignore');
  const report = loadStateDict(new ParamStore(SPECS), readSafetensors(extra), { ignore: [/^cls\.seq_relationship\./] });
  assert.deepEqual(report.ignored, ['cls.seq_relationship.bias']);

  const wrong = fresh('wrong.safetensors');
  writeSafetensors(wrong, tensors.map((t) => (t.name.endsWith('word_embeddings.weight') ? { ...t, shape: [4, 5] } : t)));
  throwsWith(
    () => loadStateDict(dst, readSafetensors(wrong)),
    'config.json does not match the weights',
    wrong,
    'distilbert.embeddings.word_embeddings.weight',
    '[4, 5]',
    '[5, 4]',
  );

  const ints = fresh('ints.safetensors');
  writeSafetensors(ints, tensors.map((t) => (t.name === 'vocab_projector.bias' ? { ...t, dtype: 'I32' as const, data: new Int32Array(5) } : t)));
  throwsWith(() => loadStateDict(dst, readSafetensors(ints)), ints, '"vocab_projector.bias"', 'I32');

  const twice = checkpoint(src, (n) => n);
  const both = fresh('both.safetensors');
  const st = readSafetensors(twice);
  writeSafetensors(both, [...tensors, { name: 'distilbert.embeddings.LayerNorm.gamma', dtype: 'F32', shape: [4], data: st.float32('distilbert.embeddings.LayerNorm.weight') }]);
  throwsWith(() => loadStateDict(dst, readSafetensors(both)), both, 'LayerNorm.gamma', 'both map to');

  assert.deepEqual(dst.data, before);
});
