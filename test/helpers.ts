// Shared test helpers: fixture paths and by-name comparison with the max error reported
// (llm.c test_gpt2.c style).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bertConfig, type BertConfig } from '../src/io/config.js';
import { readSafetensors, type SafeFile } from '../src/io/safetensors.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { saveBert } from '../src/models/pretrained.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';

/** Repository root, from dist/test/helpers.js or test/helpers.ts. */
export const ROOT = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!d.endsWith('dist') && d !== '/') d = dirname(d);
  return d === '/' ? join(dirname(fileURLToPath(import.meta.url)), '..') : dirname(d);
})();

export const FIXTURES = join(ROOT, 'test', 'fixtures');

/**
 * A random-weight BertForMaskedLM directory at `dir` (2 layers x 32 unless overridden) with the
 * bert-base-uncased tokenizer files, as a small stand-in for a Hub checkpoint.
 */
export function tinyBertDir(dir: string, overrides: Partial<BertConfig> = {}, seed = 1): string {
  const m = new BertForMaskedLM(bertConfig({ hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, ...overrides }));
  m.params.initialize(seed);
  saveBert(dir, m, m.config);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) cpSync(join(defaultTokenizerDir(), f), join(dir, f));
  return dir;
}

/** Run the built `distil` command line with `args`; stdout and stderr as text. */
export const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });

export const fixture = (name: string): SafeFile => readSafetensors(join(FIXTURES, name));

export interface Diff {
  maxAbs: number;
  maxRel: number;
}

/** Max absolute error and max error relative to the largest reference magnitude. */
export function diff(got: ArrayLike<number>, want: ArrayLike<number>): Diff {
  assert.equal(got.length, want.length, 'length mismatch');
  let maxAbs = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return { maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs };
}

/**
 * Assert `got` matches `want` to `rtol` relative to the tensor's largest magnitude, or to `atol`
 * absolute (for tensors that are ~0 by construction). Returns the diff for reporting.
 */
export function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5, atol = 1e-7): Diff {
  const d = diff(got, want);
  assert.ok(d.maxRel <= rtol || d.maxAbs <= atol,
    `${name}: max abs error ${d.maxAbs.toExponential(2)}, relative ${d.maxRel.toExponential(2)} > ${rtol}`);
  return d;
}

export function int32(f: SafeFile, name: string): Int32Array {
  return Int32Array.from(f.int64(name), (v) => Number(v));
}
