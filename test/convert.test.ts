// distil convert and the 16-bit encodings behind it: IEEE half rounding against known bit patterns
// and the reader's decoding, and a converted model that loads and computes like the original.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertModel } from '../src/io/convert.js';
import { f32ToF16Bits, toFloat16 } from '../src/io/half.js';
import { f16ToF32, readSafetensors } from '../src/io/safetensors.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { noGrad } from '../src/tensor/tensor.js';
import { FIXTURES } from './helpers.js';

test('f32 -> f16: exact values, ties to even, overflow, subnormals, NaN', () => {
  const cases: Array<[number, number]> = [
    [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00],
    [-Infinity, 0xfc00], [0, 0], [-0, 0x8000],
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1 + 2^-10 and 1 + 2^-9: to even (1 + 2^-9)
    [2 ** -24, 0x0001], [2 ** -25, 0], [1.5 * 2 ** -25, 0x0001], [2 ** -14, 0x0400], [2 ** -14 - 2 ** -24, 0x03ff],
  ];
  for (const [x, bits] of cases) assert.equal(f32ToF16Bits(x), bits, `${x} -> 0x${f32ToF16Bits(x).toString(16)}, want 0x${bits.toString(16)}`);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16Bits(NaN))));
  // Every half value survives the round trip; values between two halves go to the nearer one.
  for (let h = 0; h < 0x7c00; h++) {
    const v = f16ToF32(h);
    assert.equal(f32ToF16Bits(v), h);
    if (h < 0x7bff) {
      const next = f16ToF32(h + 1);
      assert.equal(f32ToF16Bits(Math.fround(v + 0.3 * (next - v))), h);
      assert.equal(f32ToF16Bits(Math.fround(v + 0.7 * (next - v))), h + 1);
    }
  }
  assert.deepEqual([...toFloat16(Float32Array.of(1, -2, 65520))], [0x3c00, 0xc000, 0x7c00]);
});

test('distil convert: F16 and BF16 copies load, keep every file and compute like the fp32 model', () => {
  const dir = join(FIXTURES, 'tiny-bert');
  const ref = loadMaskedLM(dir);
  const ids = Int32Array.from({ length: 12 }, (_, i) => 5 + ((i * 37) % 90));
  const input = { inputIds: ids, attentionMask: null, batch: 1, seqLen: ids.length };
  const want = noGrad(() => ref.forward(input)).logits.data.slice();
  for (const [dtype, tol] of [['F16', 2e-3], ['BF16', 2e-2], ['F32', 0]] as const) {
    const out = mkdtempSync(join(tmpdir(), 'distil-convert-'));
    const r = convertModel(dir, out, dtype);
    assert.deepEqual(readdirSync(out).sort(), readdirSync(dir).sort());
    const file = readSafetensors(join(out, 'model.safetensors'));
    assert.ok([...file.tensors.values()].every((t) => t.dtype === dtype || t.dtype === 'I64'));
    if (dtype !== 'F32') assert.ok(r.bytesOut < 0.6 * r.bytesIn, `${dtype}: ${r.bytesOut} of ${r.bytesIn} bytes`);
    assert.ok(r.maxRelError <= (dtype === 'F16' ? 2 ** -11 : dtype === 'BF16' ? 2 ** -8 : 0), `${dtype} rounding ${r.maxRelError}`);
    const got = noGrad(() => loadMaskedLM(out).forward(input)).logits.data;
    let worst = 0, scale = 0;
    for (let i = 0; i < want.length; i++) {
      worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    assert.ok(worst <= tol * scale, `${dtype}: logits differ by ${worst} (scale ${scale})`);
  }
  assert.throws(() => convertModel(dir, dir, 'F16'), /is the --model directory/);
  assert.throws(() => convertModel(join(FIXTURES, 'nope'), mkdtempSync(join(tmpdir(), 'distil-convert-')), 'F16'), /no such file/);
});
