// Kernel-level checks: dropout statistics, determinism and backward (also inside attention); the
// kernels' argument checks; kernel options the ops do not reach; the fused AdamW step and the
// gradient norm against their references; linearPacked.
// Legend: B batch, T sequence, C hidden, H heads, D head size, N rows, V vocabulary / classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { native } from '../src/tensor/native.js';
import { dropout } from '../src/tensor/ops.js';
import { reference as R } from '../src/tensor/reference.js';
import { noGrad, Tensor, tape } from '../src/tensor/tensor.js';
import { assertClose, diff } from './helpers.js';
import { backwardWith, randn, type Rng, seededRng } from './op_helper.js';
import { f64, IGNORE, probsThroughAttention } from './op_refs.js';

// ---------------------------------------------------------------------------------------------
// Dropout: statistics, determinism, backward; and the attention kernel's dropout on probabilities.

/** |count - n p| within 3 standard deviations of a binomial(n, p). */
function assertBinomial(what: string, count: number, n: number, p: number): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(count - n * p) <= 3 * sigma,
    `${what}: ${count} of ${n}, expected ${n * p} +- ${(3 * sigma).toFixed(0)} (3 sigma)`);
}

const N_DROP = 100_000;
const ones = (n: number, r: Rng): Float32Array => randn(r, n).map((v) => 1 + Math.abs(v)); // never 0

for (const p of [0.1, 0.5])
  test(`dropout p=${p}: fraction dropped within 3 sigma, kept values scaled by 1/(1-p)`, () => {
    const x = new Tensor(ones(N_DROP, seededRng(7)), [N_DROP]);
    const s = Math.fround(1 / (1 - p));
    for (const seed of [1, 2, 3]) {
      const y = noGrad(() => dropout(x, p, seed)).data;
      let dropped = 0;
      for (let i = 0; i < N_DROP; i++) {
        if (y[i] === 0) dropped++;
        else assert.equal(y[i], Math.fround(x.data[i]! * s), `element ${i} is not x / (1 - p)`);
      }
      assertBinomial(`seed ${seed}: dropped`, dropped, N_DROP, p);
      // The mask must not be correlated with position: check both halves too.
      let firstHalf = 0;
      for (let i = 0; i < N_DROP / 2; i++) if (y[i] === 0) firstHalf++;
      assertBinomial(`seed ${seed}: dropped in the first half`, firstHalf, N_DROP / 2, p);
    }
  });

test('dropout: same seed gives the same mask, a different seed a different one', () => {
  const p = 0.3, x = new Tensor(ones(N_DROP, seededRng(8)), [N_DROP]);
  const [a, b, c] = [11, 11, 12].map((seed) => noGrad(() => dropout(x, p, seed)).data);
  assert.deepEqual(a, b);
  let differ = 0;
  for (let i = 0; i < N_DROP; i++) if ((a![i] === 0) !== (c![i] === 0)) differ++;
  // Independent masks disagree with probability 2 p (1 - p).
  assertBinomial('masks of seeds 11 and 12 differ', differ, N_DROP, 2 * p * (1 - p));
  assert.equal(noGrad(() => dropout(x, 0, 11)), x, 'p = 0 is the identity');
});

test('dropout backward: d/dx sum(dropout(x) * g) = mask * g / (1 - p)', () => {
  const p = 0.25, n = 10_000, rng = seededRng(9), s = Math.fround(1 / (1 - p));
  const x = new Tensor(ones(n, rng), [n], true), g = randn(rng, n);
  tape.clear();
  const y = dropout(x, p, 42);
  backwardWith(y, g);
  for (let i = 0; i < n; i++) assert.equal(x.grad![i], y.data[i] === 0 ? 0 : Math.fround(g[i]! * s), `element ${i}`);
});

test('attention dropout 0.1: drops probabilities (not scores) within 3 sigma, kept ones scaled by 1/(1-p)', () => {
  const BH = 40, T = 16, p = 0.1, scores = randn(seededRng(10), BH * T * T);
  const P = f64(scores.length);
  R.maskedSoftmaxForward(P, scores, null, BH, T, T);
  const ctx = noGrad(() => probsThroughAttention(scores, null, BH, T, p, 99).ctx).data;
  let dropped = 0, maxErr = 0;
  for (let i = 0; i < ctx.length; i++) {
    if (ctx[i] === 0) dropped++;
    else maxErr = Math.max(maxErr, Math.abs(ctx[i]! - P[i]! / (1 - p)) / (P[i]! / (1 - p)));
  }
  assertBinomial('dropped probabilities', dropped, ctx.length, p);
  assert.ok(maxErr < 1e-5, `kept probabilities: max relative error ${maxErr.toExponential(2)}`);
  const again = noGrad(() => probsThroughAttention(scores, null, BH, T, p, 99).ctx).data;
  assert.deepEqual(again, ctx, 'same seed, same attention dropout');
});

// ---------------------------------------------------------------------------------------------
// Kernel arguments: a bad call is a JS Error (checked before any write), never a crash.

test('native kernels reject bad calls with a JS Error and leave outputs untouched', () => {
  const f = (n: number): Float32Array => new Float32Array(n);
  const asF32 = (x: unknown): Float32Array => x as Float32Array;
  const asI32 = (x: unknown): Int32Array => x as Int32Array;
  const out = f(8);
  const bad: Array<[() => unknown, RegExp]> = [
    // wrong buffer length
    [() => native.add(f(3), f(4), f(4), 4), /^add: 'out' has 3 elements, expected 4$/],
    [() => native.matmul(out, f(6), f(5), null, 1, 2, 4, 3, false, false, false), /matmul: 'B' has 5 elements, expected 12/],
    [() => native.matmul(out, f(6), f(12), f(3), 1, 2, 4, 3, false, false, false), /'bias' has 3 elements, expected 4/],
    [() => native.attentionForward(out, f(8), f(8), f(8), f(7), null, 1, 2, 2, 2, 0, 0), /'v' has 7 elements, expected 8/],
    [() => native.attentionForward(out, f(4), f(8), f(8), f(8), null, 1, 2, 2, 2, 0, 0), /'probs' has 4 elements, expected 8/],
    [() => native.layernormForward(out, f(2), f(1), f(8), f(4), f(4), 2, 4, 1e-5), /'rstd' has 1 elements, expected 2/],
    [() => native.adamwStep(out, f(8), f(8), f(8), new Uint8Array(7), 8, 1e-3, 0.9, 0.999, 1e-8, 0, 1, 1), /'decay_mask' has 7/],
    // wrong typed-array kind
    [() => native.add(out, asF32(new Float64Array(8)), f(8), 8), /'x' must be a Float32Array/],
    [() => native.geluForward(out, asF32([1, 2, 3, 4, 5, 6, 7, 8]), 8), /'inp' must be a Float32Array/],
    [() => native.embeddingForward(out, asI32(f(2)), f(12), 2, 4, 3), /'ids' must be a Int32Array/],
    [() => native.crossEntropyForward(f(6), asI32(new Uint32Array(2)), 2, 3, IGNORE), /'targets' must be a Int32Array/],
    [() => native.attentionForward(out, f(8), f(8), f(8), f(8), asI32(new Uint8Array(2)), 1, 2, 2, 2, 0, 0), /'mask' must be a Int32Array/],
    // negative or non-integer dimensions, bad scalars, missing arguments
    [() => native.matmul(out, f(8), f(8), null, -1, 2, 4, 1, false, false, false), /'batch' must be a non-negative integer/],
    [() => native.reluForward(out, f(8), -8), /'n' must be a non-negative integer/],
    [() => native.layernormForward(out, f(2), f(2), f(8), f(4), f(4), 2.5, 4, 1e-5), /'N' must be a non-negative integer/],
    [() => native.biasGrad(f(4), f(8), Number.NaN, 4), /'M' must be a non-negative integer/],
    [() => native.dropoutForward(out, f(8), 8, 1, 0), /dropout probability must be in \[0, 1\)/],
    [() => native.attentionForward(out, f(8), f(8), f(8), f(8), null, 1, 2, 2, 2, -0.1, 0), /dropout probability/],
    [() => native.dropoutForward(out, f(8), 8, 0.1, -1), /'seed' must be a non-negative integer/],
    [() => native.klDivForward(f(6), f(6), 2, 3, 0), /temperature must be positive/],
    [() => native.adamwStep(out, f(8), f(8), f(8), null, 8, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1), /step counts from 1/],
    [() => native.adamwStep(out, f(8), f(8), f(8), null, 8, 1e-3, 1, 0.999, 1e-8, 0, 1, 1), /betas must be in \[0, 1\)/],
    [() => (native.add as unknown as (...a: unknown[]) => void)(out, f(8)), /missing argument 'n'/],
    [() => native.matmul(out, f(8), f(8), null, 1, 2, 4, 1, 0 as unknown as boolean, false, false), /'transA' must be a boolean/],
    // out-of-range embedding ids and cross-entropy targets
    [() => native.embeddingForward(out, Int32Array.of(0, 3), f(12), 2, 4, 3), /id 3 at position 1 is outside \[0, 3\)/],
    [() => native.embeddingForward(out, Int32Array.of(-1, 0), f(12), 2, 4, 3), /id -1 at position 0 is outside/],
    [() => native.embeddingBackward(f(12), out, Int32Array.of(1, 7), 2, 4, 3, -1), /id 7 is outside the table/],
    [() => native.crossEntropyForward(f(6), Int32Array.of(0, 3), 2, 3, IGNORE), /target 3 at row 1 is outside \[0, 3\)/],
    [() => native.crossEntropyForward(f(6), Int32Array.of(-1, 0), 2, 3, IGNORE), /target -1 at row 0 .* not the ignore index/],
    [() => native.crossEntropyBackward(f(6), f(6), Int32Array.of(5, 0), 2, 3, IGNORE, 1), /target 5 at row 0/],
  ];
  for (const [call, message] of bad) assert.throws(call, (e: unknown) => e instanceof Error && message.test(e.message), String(call));
  assert.ok(out.every((v) => v === 0), 'a rejected call wrote into its output');
  // The addon still works after all of that.
  native.add(out, Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), new Float32Array(8).fill(1), 8);
  assert.deepEqual([...out], [2, 3, 4, 5, 6, 7, 8, 9]);
});

// ---------------------------------------------------------------------------------------------
// Kernel options the ops do not reach (bias with batch, accumulate, alpha, null gradients).

test('matmul kernel: every transpose, batch, bias and accumulate combination matches the reference', (t) => {
  const rng = seededRng(12), [M, N, K] = [3, 4, 5];
  let worst = 0;
  for (const batch of [1, 3])
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const bias of [false, true])
          for (const acc of [false, true]) {
            const A = randn(rng, batch * M * K), B = randn(rng, batch * K * N), b = bias ? randn(rng, N) : null;
            const C = randn(rng, batch * M * N), want = Float64Array.from(C);
            native.matmul(C, A, B, b, batch, M, N, K, tA, tB, acc);
            R.matmul(want, A, B, b, batch, M, N, K, tA, tB, acc);
            worst = Math.max(worst, assertClose(`batch ${batch} tA ${tA} tB ${tB} bias ${bias} acc ${acc}`, C, want).maxRel);
          }
  t.diagnostic(`matmul kernel: max relative error ${worst.toExponential(1)}`);
});

test('small kernels: biasGrad, addInto with alpha, layernormBackward without dw/db, embeddingBackward +=', () => {
  const rng = seededRng(13);
  for (const N of [5, 130]) { // 130: several of the kernel's 64-column blocks
    const dY = randn(rng, 6 * N), db = randn(rng, N), dbRef = Float64Array.from(db);
    native.biasGrad(db, dY, 6, N);
    R.biasGrad(dbRef, dY, 6, N);
    assertClose(`biasGrad N=${N}`, db, dbRef);
  }
  const dst = randn(rng, 9), src = randn(rng, 9), dstRef = Float64Array.from(dst);
  native.addInto(dst, src, 9, -0.5);
  R.addInto(dstRef, src, 9, -0.5);
  assertClose('addInto', dst, dstRef);
  const [Nr, C] = [3, 6], x = randn(rng, Nr * C), w = randn(rng, C), b = randn(rng, C), g = randn(rng, Nr * C);
  const y = new Float32Array(Nr * C), mean = new Float32Array(Nr), rstd = new Float32Array(Nr);
  native.layernormForward(y, mean, rstd, x, w, b, Nr, C, 1e-5);
  const dx = randn(rng, Nr * C), dxRef = Float64Array.from(dx);
  native.layernormBackward(dx, null, null, g, x, mean, rstd, w, Nr, C);
  R.layernormBackward(dxRef, null, null, g, x, mean, rstd, w, Nr, C);
  assertClose('layernormBackward dinp', dx, dxRef);
  const ids = Int32Array.of(2, 0, 2, 1), dW = randn(rng, 3 * 4), dWRef = Float64Array.from(dW), go = randn(rng, 4 * 4);
  native.embeddingBackward(dW, go, ids, 4, 4, 3, 1);
  R.embeddingBackward(dWRef, go, ids, 4, 4, 3, 1);
  assertClose('embeddingBackward', dW, dWRef);
});

// ---------------------------------------------------------------------------------------------
// Optimizer kernels.

test('fused AdamW step matches the reference, with a decay mask and a gradient scale', (t) => {
  const n = 2000, rng = seededRng(14);
  const hp = { lr: 1e-2, b1: 0.9, b2: 0.98, eps: 1e-6, wd: 0.3 };
  const report: string[] = [];
  for (const masked of [true, false]) {
    const p0 = randn(rng, n), mask = masked ? Uint8Array.from({ length: n }, () => (rng() < 0.5 ? 1 : 0)) : null;
    const p = p0.slice(), m = new Float32Array(n), v = new Float32Array(n);
    const pr = Float64Array.from(p0), mr = f64(n), vr = f64(n);
    for (let step = 1; step <= 3; step++) {
      const grad = randn(rng, n, 2), scale = 0.37; // the clipping factor max_norm / norm
      native.adamwStep(p, grad, m, v, mask, n, hp.lr, hp.b1, hp.b2, hp.eps, hp.wd, step, scale);
      R.adamwStep(pr, grad, mr, vr, mask, n, hp.lr, hp.b1, hp.b2, hp.eps, hp.wd, step, scale);
    }
    // Compare the updates p - p0 (float32 p itself would hide errors of the order of lr).
    const upd = Float64Array.from(p, (x, i) => x - p0[i]!), updRef = pr.map((x, i) => x - p0[i]!);
    const e = [assertClose('update', upd, updRef, 1e-4).maxRel, assertClose('exp_avg', m, mr, 1e-5).maxRel,
      assertClose('exp_avg_sq', v, vr, 1e-5).maxRel];
    report.push(`${masked ? 'masked' : 'no mask'}: update ${e[0]!.toExponential(1)}, m ${e[1]!.toExponential(1)}, v ${e[2]!.toExponential(1)}`);
    if (mask) {
      // Decay must really be masked: without it the masked-off entries would move by lr * wd * p.
      const unmasked = Float64Array.from(p0), m2 = f64(n), v2 = f64(n);
      R.adamwStep(unmasked, Float32Array.from(p0, () => 0), m2, v2, null, n, hp.lr, hp.b1, hp.b2, hp.eps, hp.wd, 1, 1);
      assert.ok(diff(unmasked, p0).maxAbs > 100 * diff(upd, updRef).maxAbs, 'the test cannot see weight decay');
    }
  }
  t.diagnostic(`adamwStep: ${report.join('; ')}`);
});

test('gradNorm matches the reference, in float64 accumulation', () => {
  const g = randn(seededRng(15), 100_001, 3);
  const got = native.gradNorm(g, g.length), want = R.gradNorm(g, g.length);
  assert.ok(Math.abs(got - want) <= 1e-12 * want, `gradNorm ${got} vs ${want}`);
  // Squares past the float32 range: a float32 accumulator would overflow to Infinity.
  assert.equal(native.gradNorm(Float32Array.of(3e20, 4e20), 2), R.gradNorm(Float32Array.of(3e20, 4e20), 2));
  assert.ok(Math.abs(native.gradNorm(Float32Array.of(3e20, 4e20), 2) / 5e20 - 1) < 1e-7);
  assert.equal(native.gradNorm(new Float32Array(0), 0), 0);
});

test('linearPacked (inference, repacked weights) equals matmul, and a new weight version invalidates the copy', () => {
  const [M, N, K] = [5, 7, 6];
  const rnd = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s));
  const X = rnd(M * K, 1), W = rnd(N * K, 2), b = rnd(N, 3);
  const want = new Float32Array(M * N), got = new Float32Array(M * N);
  native.matmul(want, X, W, b, 1, M, N, K, false, true, false);
  native.linearPacked(got, X, W, b, M, N, K, 1);
  assert.ok(got.every((v, i) => Math.abs(v - want[i]!) < 1e-5));
  W.fill(0.5);
  native.matmul(want, X, W, b, 1, M, N, K, false, true, false);
  native.linearPacked(got, X, W, b, M, N, K, 1);
  assert.ok(got.some((v, i) => Math.abs(v - want[i]!) > 1e-3), 'same version: the cached copy is used');
  native.linearPacked(got, X, W, b, M, N, K, 2);
  assert.ok(got.every((v, i) => Math.abs(v - want[i]!) < 1e-5), 'new version: repacked');
  assert.throws(() => native.linearPacked(got, X, W.subarray(1), b, M, N, K, 3), /'W' has/);
});
