// bf16 and int8 compute (src/tensor/precision.ts): the kernels against their plain references
// (src/tensor/reference_lowp.ts), exactly where the inputs are representable, and the ops' switch.
// Legend: M rows, N output features, K input features.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { native } from '../src/tensor/native.js';
import { linear } from '../src/tensor/ops.js';
import { getPrecision, parsePrecision, withPrecision } from '../src/tensor/precision.js';
import { reference as R } from '../src/tensor/reference.js';
import { bf16Round, linearInt8, quantizeRowsS8, quantizeU8 } from '../src/tensor/reference_lowp.js';
import { noGrad, Tensor } from '../src/tensor/tensor.js';
import { assertClose, diff } from './helpers.js';
import { randn, seededRng } from './op_helper.js';

/** Values k / 16 for small integers k: exact in bf16, and their products' sums exact in fp32. */
const bf16Exact = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (((i * 7 + seed * 13) % 31) - 15) / 16);

test('bf16 rounding: nearest, ties to even, as PyTorch .to(torch.bfloat16)', () => {
  const C = new Float32Array(1);
  // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one, 1.
  for (const [x, want] of [[1 + 2 ** -8, 1], [1 + 3 * 2 ** -8, 1 + 2 ** -6], [1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -7], [-3.0000001, -3]] as const) {
    assert.equal(bf16Round(x), want, `reference rounds ${x}`);
    native.matmul(C, Float32Array.of(x), Float32Array.of(1), null, 1, 1, 1, 1, false, false, false, true);
    assert.equal(C[0], want, `bf16 matmul rounds ${x}`);
  }
});

test('bf16 matmul: exact on bf16-representable inputs for every transpose, batch, bias and accumulate', () => {
  const [M, N, K] = [9, 17, 33];
  for (const batch of [1, 2])
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const acc of [false, true]) {
          const A = bf16Exact(batch * M * K, 1), B = bf16Exact(batch * K * N, 2), b = bf16Exact(N, 3);
          const C = bf16Exact(batch * M * N, 4), want = Float64Array.from(C);
          native.matmul(C, A, B, b, batch, M, N, K, tA, tB, acc, true);
          R.matmul(want, A, B, b, batch, M, N, K, tA, tB, acc);
          assert.deepEqual(Array.from(C), Array.from(want), `batch ${batch} tA ${tA} tB ${tB} acc ${acc}`);
        }
});

test('bf16 matmul on random inputs: equals fp32 on bf16-rounded operands; ~3e-3 from full fp32', (t) => {
  const rng = seededRng(5), [M, N, K] = [64, 48, 256];
  const A = randn(rng, M * K), B = randn(rng, N * K);
  const C = new Float32Array(M * N), exact = new Float64Array(M * N), rounded = new Float64Array(M * N);
  native.matmul(C, A, B, null, 1, M, N, K, false, true, false, true);
  R.matmul(exact, A, B, null, 1, M, N, K, false, true, false);
  R.matmul(rounded, A.map(bf16Round), B.map(bf16Round), null, 1, M, N, K, false, true, false);
  assertClose('bf16 vs rounded operands', C, rounded, 1e-6);
  const d = diff(C, exact);
  t.diagnostic(`bf16 vs fp32: max relative error ${d.maxRel.toExponential(2)}`);
  assert.ok(d.maxRel > 1e-5 && d.maxRel < 1e-2, `bf16 error ${d.maxRel} should be that of 8-bit mantissas`);
});

test('int8 quantization references: ranges, zero points and rounding', () => {
  const x = quantizeU8(Float32Array.of(-1, 0, 0.5, 3));
  assert.ok(Math.abs(x.scale - 4 / 255) < 1e-7);
  assert.equal(x.zeroPoint, 64); // round(1 / (4 / 255)) = round(63.75)
  assert.deepEqual(Array.from(x.q), [0, 64, 96, 255]);
  assert.equal(quantizeU8(Float32Array.of(2, 5)).zeroPoint, 0, 'the range always includes 0');
  const w = quantizeRowsS8(Float32Array.of(0.5, -1, 0.25, 0, 0, 0), 2, 3);
  assert.deepEqual(Array.from(w.q), [64, -127, 32, 0, 0, 0]);
  assert.deepEqual(Array.from(w.scale), [Math.fround(1 / 127), 1]);
});

test('linearPacked: bf16 exact on representable inputs; int8 equals its reference and stays ~1% from fp32', (t) => {
  const [M, N, K] = [7, 40, 96];
  const X = bf16Exact(M * K, 5), W = bf16Exact(N * K, 6), b = bf16Exact(N, 7);
  const want = new Float32Array(M * N), got = new Float32Array(M * N);
  native.matmul(want, X, W, b, 1, M, N, K, false, true, false);
  native.linearPacked(got, X, W, b, M, N, K, 11, 1);
  assert.deepEqual(Array.from(got), Array.from(want), 'bf16');

  const rng = seededRng(9);
  const Xr = randn(rng, M * K), Wr = randn(rng, N * K, 0.05), br = randn(rng, N, 0.1);
  const fp32 = new Float32Array(M * N), int8 = new Float32Array(M * N), ref = new Float32Array(M * N);
  native.matmul(fp32, Xr, Wr, br, 1, M, N, K, false, true, false);
  native.linearPacked(int8, Xr, Wr, br, M, N, K, 12, 2);
  linearInt8(ref, Xr, Wr, br, M, N, K);
  assertClose('int8 vs reference', int8, ref, 1e-5);
  const d = diff(int8, fp32);
  t.diagnostic(`int8 vs fp32: max relative error ${d.maxRel.toExponential(2)}`);
  assert.ok(d.maxRel > 1e-4 && d.maxRel < 3e-2, `int8 error ${d.maxRel}`);
  assert.throws(() => native.linearPacked(int8, Xr, Wr, br, M, N, K, 12, 3), /precision must be 0/);
});

test('precision switch: linear follows it, withPrecision restores it, int8 refuses gradients', () => {
  const rng = seededRng(3), [M, N, K] = [4, 8, 16];
  const x = new Tensor(randn(rng, M * K), [M, K], true);
  const w = new Tensor(randn(rng, N * K), [N, K], true);
  const fp32 = noGrad(() => linear(x, w, null).data.slice());
  const bf16 = withPrecision('bf16', () => noGrad(() => linear(x, w, null).data.slice()));
  assert.equal(getPrecision(), 'fp32');
  assert.ok(diff(bf16, fp32).maxRel > 0 && diff(bf16, fp32).maxRel < 2e-2);
  assert.throws(() => withPrecision('int8', () => linear(x, w, null)), /int8 is for inference only/);
  assert.equal(getPrecision(), 'fp32', 'restored after a throw');
  assert.throws(() => parsePrecision('int8', ['fp32', 'bf16']), /--precision must be one of fp32, bf16.*int8 is for inference/);
  assert.throws(() => withPrecision('fp16' as never, () => 0), /unknown precision "fp16"/);
});

test('withPrecision scopes an async function until its promise settles', async () => {
  const seen: string[] = [];
  const done = withPrecision('bf16', async () => {
    seen.push(getPrecision());
    await new Promise((r) => setTimeout(r, 5));
    seen.push(getPrecision());
    return 7;
  });
  assert.equal(await done, 7);
  assert.deepEqual(seen, ['bf16', 'bf16']);
  assert.equal(getPrecision(), 'fp32', 'restored once the promise settled');
  await assert.rejects(withPrecision('int8', async () => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(getPrecision(), 'fp32', 'restored after a rejection');
});
