// Shared by the ONNX export tests (onnx.test.ts, onnx_quant.test.ts): onnxruntime-node on the
// PyTorch fixture batch, synthetic task-head checkpoints, and a transformers.js model directory
// for the tiny models.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../src/io/safetensors.js';
import { BertTokenizer } from '../src/text/tokenizer.js';
import { FIXTURES, fixture, int32 } from './helpers.js';

export const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

export const fwd = fixture('forward.safetensors');
export const [B, T] = fwd.info('input_ids').shape as [number, number];

/** Token ids of one batch, (batch, seqLen) row-major; token types default to zeros. */
export interface OrtBatch {
  inputIds: ArrayLike<number>;
  attentionMask: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
  batch: number;
  seqLen: number;
}

/** The PyTorch fixture batch (B, T): 3 sequences of 12 tokens, two of them padded. */
export const input = {
  inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), tokenTypeIds: int32(fwd, 'token_type_ids'),
  batch: B, seqLen: T,
};

/** Run `file` on `x` (default the fixture batch) as int64, feeding token_type_ids when the graph has that input. */
export async function runOrt(file: string, x: OrtBatch = input): Promise<Record<string, Ort.Tensor>> {
  const session = await ort.InferenceSession.create(file);
  const dims = [x.batch, x.seqLen];
  const i64 = (a: ArrayLike<number>) => new ort.Tensor('int64', BigInt64Array.from(Array.from(a), (v) => BigInt(v)), dims);
  const feeds: Record<string, Ort.Tensor> = { input_ids: i64(x.inputIds), attention_mask: i64(x.attentionMask) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = i64(x.tokenTypeIds ?? new Int32Array(x.batch * x.seqLen));
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

export const floats = (t: Ort.Tensor | undefined): Float32Array => {
  assert.ok(t, 'missing output');
  return t.data as Float32Array;
};

/** The decoded ONNX graph of `file`, for structural checks. */
export const readGraph = (file: string): onnxProto.onnx.IGraphProto => onnxProto.onnx.ModelProto.decode(readFileSync(file)).graph!;

/** Seeded uniform values with standard deviation `std` (an LCG, so head weights are the same on every run). */
export function rand(seed: number, n: number, std = 0.2): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * std * Math.sqrt(3);
  }
  return out;
}

/**
 * Write `dir` = the encoder of `base` (optionally without its `bert.`/`distilbert.` prefix, as a bare
 * BertModel saves it) plus `head` tensors, with `architectures` set.
 */
export function writeHeadModel(dir: string, base: string, arch: string, head: Record<string, [Float32Array, number[]]>,
  o: { stripPrefix?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  const src = readSafetensors(join(FIXTURES, base, 'model.safetensors'));
  const tensors: TensorToWrite[] = [];
  for (const [name, info] of src.tensors) {
    if (!/^(bert|distilbert)\./.test(name)) continue; // drop the MLM head
    tensors.push({ name: o.stripPrefix ? name.slice(o.stripPrefix.length) : name, dtype: 'F32', shape: info.shape, data: src.float32(name).slice() });
  }
  for (const [name, [data, shape]] of Object.entries(head)) tensors.push({ name, dtype: 'F32', shape, data });
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const config = JSON.parse(readFileSync(join(FIXTURES, base, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: [arch] }));
}

/** 99 tokens, as the tiny models' vocabulary: the five specials first, then words and pieces. */
function tinyVocab(): string[] {
  const words = ('the a an cat dog sat ran on in at mat hat big small red blue is was and or to of it he she we they ' +
    'you i my your his her our this that with for from by up down out over under good bad new old hot cold day night ' +
    'sun moon tree house car road . , ! ? ##s ##ed ##ing ##er ##ly').split(' ');
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words];
  for (let i = 0; tokens.length < 99; i++) {
    const t = String.fromCharCode(97 + (i % 26)) + (i >= 26 ? String(i) : '');
    if (!tokens.includes(t)) tokens.push(t);
  }
  return tokens;
}

/**
 * What transformers.js needs of a local model besides the ONNX file(s) under `dir/onnx/`: the tiny
 * fixture `model`'s config.json and tokenizer files over a 99-token vocabulary. Returns that tokenizer.
 */
export function writeHubFiles(dir: string, model: 'tiny-bert' | 'tiny-distilbert'): BertTokenizer {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(FIXTURES, model, 'config.json'), join(dir, 'config.json'));
  const vocabFile = join(dir, 'vocab.txt');
  const tokens = tinyVocab();
  assert.equal(tokens.length, 99);
  writeFileSync(vocabFile, tokens.map((t) => `${t}\n`).join(''));
  const tok = BertTokenizer.fromVocab(vocabFile);
  tok.save(dir);
  return tok;
}
