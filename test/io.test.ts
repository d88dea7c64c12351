// Tests for src/io/: safetensors reader/writer, config.json handling, state-dict loading.
// Files are built in a fresh temporary directory; malformed files are assembled byte by byte.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ParamStore, type ParamSpec } from '../src/tensor/params.js';
import { atomicWriteFile } from '../src/io/atomic.js';
import {
  BERT_DEFAULTS,
  DISTILBERT_DEFAULTS,
  bertConfig,
  distilBertConfig,
  readModelConfig,
  writeBertConfig,
  writeDistilBertConfig,
} from '../src/io/config.js';
import { bf16ToF32, f16ToF32, f32ToBf16, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { loadStateDict, saveStateDict } from '../src/io/state_dict.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distilbert-io-'));
let counter = 0;
const fresh = (name: string): string => path.join(tmp, `${counter++}-${name}`);

/** A safetensors file from a header (object or literal JSON text) and raw data bytes; `headerLen` forges the length field. */
function rawFile(header: object | string, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  const file = fresh('raw.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Asserts `fn` throws and the message contains every fragment. */
function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: Error) => {
    for (const f of fragments) assert.ok(e.message.includes(f), `message lacks ${JSON.stringify(f)}: ${e.message}`);
    return true;
  });
}

// ---------------------------------------------------------------- safetensors

test('writer matches the reference Rust serializer byte for byte', () => {
  // Expected bytes from safetensors/src/tensor.rs tests test_serialization and test_empty.
  const a = fresh('a.safetensors');
  writeSafetensors(a, [{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  const want = Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(header), Buffer.from(bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])))]);
  assert.deepEqual(fs.readFileSync(a), want);

  const b = fresh('b.safetensors');
  writeSafetensors(b, [], { framework: 'pt' });
  assert.deepEqual(fs.readFileSync(b), Buffer.concat([Buffer.from([40, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]));
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temporary files left behind');
});

test('round trip of every written dtype, in reference order, aligned', () => {
  const file = fresh('all.safetensors');
  const f32 = new Float32Array([1.5, -2.25, 3e-8, 65504]);
  const i64 = new BigInt64Array([1n, -2n, 3n ** 30n]);
  const i32 = new Int32Array([7, -8, 2147483647]);
  const bf16 = new Uint16Array([0x3f80, 0xc040, 0x7f80]); // 1, -3, +inf
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001]); // 1, -2, 2^-24
  writeSafetensors(
    file,
    [
      { name: 'z.f16', dtype: 'F16', shape: [3], data: f16 },
      { name: 'b.f32', dtype: 'F32', shape: [2, 2], data: f32 },
      { name: 'a.f32', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'y.bf16', dtype: 'BF16', shape: [3], data: bf16 },
      { name: 'x.i32', dtype: 'I32', shape: [3], data: i32 },
      { name: 'w.i64', dtype: 'I64', shape: [3, 1], data: i64 },
    ],
    { format: 'pt', note: 'round trip' },
  );
  const st = readSafetensors(file);
  // Descending alignment (I64, F32, I32, BF16, F16), then by name.
  assert.deepEqual([...st.tensors.keys()], ['w.i64', 'a.f32', 'b.f32', 'x.i32', 'y.bf16', 'z.f16']);
  assert.deepEqual(st.metadata, { format: 'pt', note: 'round trip' });
  const size: Record<string, number> = { I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2 };
  for (const [name, t] of st.tensors) assert.equal(t.byteOffset % size[t.dtype], 0, `${name} is aligned in the file`);
  assert.deepEqual(st.tensors.get('w.i64'), { dtype: 'I64', shape: [3, 1], byteOffset: st.tensors.get('w.i64')?.byteOffset, byteLength: 24 });
  assert.deepEqual(st.float32('b.f32'), f32);
  assert.deepEqual(st.float32('a.f32'), new Float32Array(0));
  assert.deepEqual(st.int64('w.i64'), i64);
  assert.deepEqual(st.int32('x.i32'), i32);
  assert.deepEqual(st.int64('x.i32'), new BigInt64Array([7n, -8n, 2147483647n]));
  assert.deepEqual(st.float32('y.bf16'), new Float32Array([1, -3, Infinity]));
  assert.deepEqual(st.float32('z.f16'), new Float32Array([1, -2, 2 ** -24]));
  // Aligned F32 is a view on the file buffer, not a copy.
  assert.equal(st.float32('b.f32').buffer, st.float32('b.f32').buffer);
});

test('reads hand-built F16, BF16, F64 and I64 tensors, aligned or not', () => {
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x3555]);
  const bf16 = new Uint16Array([0x3f80, 0xbf80, 0x4049, 0xff80]);
  const f64 = new Float64Array([0.1, -1e300]);
  const i64 = new BigInt64Array([5n, -6n, 2n ** 40n]);
  const data = Buffer.concat([f16, bf16, f64, i64].map((a) => Buffer.from(bytesOf(a))));
  const header = {
    h: { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
    b: { dtype: 'BF16', shape: [4], data_offsets: [16, 24] },
    d: { dtype: 'F64', shape: [2], data_offsets: [24, 40] },
    i: { dtype: 'I64', shape: [3], data_offsets: [40, 64] },
  };
  // Pad the JSON to an odd length so the data section starts unaligned and the reader must copy.
  for (const pad of ['', ' ']) {
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8) + pad;
    const st = readSafetensors(rawFile(json, data));
    assert.deepEqual(st.float32('h'), new Float32Array([1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0, 0.333251953125]));
    assert.deepEqual(st.float32('b'), new Float32Array([1, -1, 3.140625, -Infinity]));
    assert.deepEqual(st.float32('d'), new Float32Array([0.1, -Infinity]));
    assert.deepEqual(st.int64('i'), i64);
    throwsWith(() => st.int32('i'), st.path, '"i"', 'int32');
    throwsWith(() => st.float32('i'), st.path, '"i"', 'int64()');
    throwsWith(() => st.int64('h'), st.path, '"h"', 'float32()');
    throwsWith(() => st.float32('nope'), st.path, '"nope"');
  }
  const small = readSafetensors(rawFile({ i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, bytesOf(new BigInt64Array([-3n, 4n]))));
  assert.deepEqual(small.int32('i'), new Int32Array([-3, 4]));
});

test('half-precision helpers: exact widening, bf16 rounds to nearest even', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.equal(bf16ToF32(0xc0a0), -5);
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // halfway, rounds to the even 0x3f80
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // halfway, rounds to the even 0x3f82
  assert.equal(f32ToBf16(1 + 2 ** -8 + 2 ** -20), 0x3f81); // above halfway rounds up
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.equal(f32ToBf16(3.4e38), 0x7f80); // rounds past the largest bf16 to +inf, as PyTorch does
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  for (const x of [0.1, -7.3, 1e-30]) assert.ok(Math.abs(bf16ToF32(f32ToBf16(x)) - x) <= Math.abs(x) * 2 ** -8);
});

test('every malformed file is rejected with the file, the tensor and a fix', () => {
  const f32 = (n: number): Uint8Array => bytesOf(new Float32Array(n));
  const short = fresh('short.safetensors');
  fs.writeFileSync(short, Buffer.from([1, 2, 3]));
  throwsWith(() => readSafetensors(short), short, 'shorter than', 're-download');
  let f = rawFile('{}', undefined, 1000n);
  throwsWith(() => readSafetensors(f), f, 'larger than the file');
  f = rawFile('{}', undefined, 200_000_000n);
  throwsWith(() => readSafetensors(f), f, 'oversized header');
  f = rawFile('{"a": ');
  throwsWith(() => readSafetensors(f), f, 'not valid UTF-8 JSON');
  f = rawFile('[1, 2]');
  throwsWith(() => readSafetensors(f), f, 'not a JSON object');
  f = rawFile({ __metadata__: { n: 1 } });
  throwsWith(() => readSafetensors(f), f, '__metadata__');
  f = rawFile({ w: 3 });
  throwsWith(() => readSafetensors(f), f, '"w"', 'not an object');
  for (const dtype of ['F8_E4M3', 'toString', 7]) {
    f = rawFile({ w: { dtype, shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'unknown dtype', JSON.stringify(dtype), 'convert');
  }
  for (const shape of [[-1], [1.5], ['2'], 4, null]) {
    f = rawFile({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }, f32(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'shape');
  }
  for (const offsets of [[0], [0, '8'], [0.5, 8], [0, 8, 9], null]) {
    f = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: offsets } }, f32(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'data_offsets');
  }
  f = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2));
  throwsWith(() => readSafetensors(f), f, '"w"', 'needs 12');
  f = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, f32(3));
  throwsWith(() => readSafetensors(f), f, '"w"', 'outside the data section');
  f = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3));
  throwsWith(() => readSafetensors(f), f, '"b"', 'overlap', '"a"');
  // Trailing bytes after the last tensor, and gaps, are tolerated.
  f = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, f32(5));
  assert.deepEqual(readSafetensors(f).float32('a'), new Float32Array(1));
});

test('writer rejects inconsistent tensors', () => {
  const file = fresh('bad.safetensors');
  throwsWith(() => writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [3], data: new Float32Array(2) }]), file, '"w"', 'shape [3]');
  throwsWith(() => writeSafetensors(file, [{ name: 'w', dtype: 'I64', shape: [2], data: new Float32Array(2) }]), file, '"w"', 'BigInt64Array');
  const t = { name: 'w', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
  throwsWith(() => writeSafetensors(file, [t, t]), file, '"w"', 'unique');
  assert.equal(fs.existsSync(file), false);
});

test('atomicWriteFile replaces content and cleans up on failure', () => {
  const file = fresh('atomic.txt');
  atomicWriteFile(file, 'one');
  atomicWriteFile(file, [Buffer.from('tw'), Buffer.from('o')]);
  assert.equal(fs.readFileSync(file, 'utf8'), 'two');
  assert.throws(() => atomicWriteFile(path.join(tmp, 'no-such-dir', 'x'), 'x'));
  // A rename onto a directory fails after the temporary file was written; it must be removed.
  const dir = fresh('a-dir');
  fs.mkdirSync(dir);
  assert.throws(() => atomicWriteFile(dir, 'x'));
  assert.equal(fs.existsSync(`${dir}.tmp-${process.pid}`), false);
});

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

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
