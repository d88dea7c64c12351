// Every op of ops.ts against the PyTorch per-op fixture (ops.safetensors, written by
// scripts/reference/make_fixtures.py): forward and every recorded gradient, for the native ops and
// the reference alike; masked softmax probabilities through the attention kernel.
// Legend: B batch, T sequence, C hidden, H heads, D head size, N rows, V vocabulary / classes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  attention, cosineEmbedding, crossEntropy, gatherRows, gelu, klDivTemperature, layerNorm, linear, matmul, mseSum, relu,
  tanh,
} from '../src/tensor/ops.js';
import { reference as R } from '../src/tensor/reference.js';
import { noGrad, Tensor, tape } from '../src/tensor/tensor.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';
import { backwardWith, randn, type Reference, seededRng } from './op_helper.js';
import {
  attentionRef, cosineRef, crossEntropyRef, f64, gatherRef, klRef, layerNormRef, linearRef, matmulRef, mseRef,
  probsThroughAttention, unaryRef,
} from './op_refs.js';

// ---------------------------------------------------------------------------------------------
// The PyTorch per-op fixture: forward and every recorded gradient, for the native ops and the
// reference alike.

const fx = fixture('ops.safetensors');
const opsJson = JSON.parse(readFileSync(join(FIXTURES, 'ops.json'), 'utf8')) as {
  ops: Record<string, { tensors: string[]; attrs: Record<string, unknown> }>;
};

/**
 * Runs `impl` on the fixture inputs `<op>.<input>` (shapes from the file unless given), backward
 * with `<op>.dout`, and compares `<op>.out` and every `<op>.grad_<input>` the fixture records.
 */
function checkFixture(op: string, inputs: string[], ref: Reference, impl: (xs: Tensor[]) => Tensor,
  opts: { shapes?: number[][]; constants?: string[] } = {}): string {
  const xs = inputs.map((n) => fx.float32(`${op}.${n}`).slice());
  const ts = inputs.map((n, i) =>
    new Tensor(xs[i]!, opts.shapes?.[i] ?? fx.info(`${op}.${n}`).shape, !opts.constants?.includes(n), n));
  tape.clear();
  const out = impl(ts);
  const want = fx.float32(`${op}.out`), dout = fx.float32(`${op}.dout`).slice();
  const errs: string[] = [];
  const check = (what: string, got: ArrayLike<number>, w: ArrayLike<number>): void => {
    const d = assertClose(what, got, w, 1e-5);
    errs.push(`${what} ${d.maxRel.toExponential(1)}`);
  };
  check('out', out.data, want);
  check('out (reference)', ref.forward(xs), want);
  backwardWith(out, dout);
  const refGrads = ref.backward(xs, Float64Array.from(dout));
  const grads = opsJson.ops[op]!.tensors.filter((n) => n.startsWith(`${op}.grad_`));
  assert.ok(grads.length > 0, `${op}: the fixture records no gradient`);
  for (const g of grads) {
    const i = inputs.indexOf(g.slice(op.length + 6));
    assert.ok(i >= 0 && ts[i]!.requiresGrad, `${op}: no differentiable input for ${g}`);
    check(g.slice(op.length + 1), ts[i]!.grad!, fx.float32(g));
    check(`${g.slice(op.length + 1)} (reference)`, refGrads[i]!, fx.float32(g));
  }
  return `${op}: ${errs.join(', ')}`;
}

/** softmax_masked has no standalone kernel: see its test below. */
const fixtureChecks: Record<string, () => string> = {
  linear: () => checkFixture('linear', ['x', 'weight', 'bias'], linearRef(5, 6, 7, true), ([x, w, b]) => linear(x!, w!, b!)),
  matmul_nt: () => checkFixture('matmul_nt', ['a', 'b'], matmulRef(6, 4, 6, 5, false, true),
    ([a, b]) => matmul(a!, b!, false, true), { shapes: [[6, 4, 5], [6, 6, 5]] }),
  matmul_tn: () => checkFixture('matmul_tn', ['a', 'b'], matmulRef(2, 4, 6, 5, true, false),
    ([a, b]) => matmul(a!, b!, true, false)),
  layernorm: () => {
    const eps = opsJson.ops['layernorm']!.attrs['eps'] as number;
    return checkFixture('layernorm', ['x', 'weight', 'bias'], layerNormRef(6, 10, eps), ([x, w, b]) => layerNorm(x!, w!, b!, eps));
  },
  gelu: () => checkFixture('gelu', ['x'], unaryRef('gelu'), ([x]) => gelu(x!)),
  tanh: () => checkFixture('tanh', ['x'], unaryRef('tanh'), ([x]) => tanh(x!)),
  relu: () => checkFixture('relu', ['x'], unaryRef('relu'), ([x]) => relu(x!)),
  attention: () => {
    const mask = int32(fx, 'attention.mask'), heads = opsJson.ops['attention']!.attrs['heads'] as number;
    const [B, T, C] = fx.info('attention.q').shape as [number, number, number];
    return checkFixture('attention', ['q', 'k', 'v'], attentionRef(B, T, heads, C / heads, mask),
      ([q, k, v]) => attention(q!, k!, v!, mask, heads, 0, 0));
  },
  embedding: () => {
    const ids = int32(fx, 'embedding.ids'), [V, C] = fx.info('embedding.weight').shape as [number, number];
    return checkFixture('embedding', ['weight'], gatherRef(ids, V, C, -1), ([w]) => gatherRows(w!, ids, [3, 5]));
  },
  cross_entropy: () => {
    const targets = int32(fx, 'cross_entropy.targets');
    return checkFixture('cross_entropy', ['logits'], crossEntropyRef(targets, 9), ([x]) => crossEntropy(x!, targets));
  },
  kl_temperature: () => {
    const T = opsJson.ops['kl_temperature']!.attrs['T'] as number;
    return checkFixture('kl_temperature', ['s', 't'], klRef(5, 9, T), ([s, t]) => klDivTemperature(s!, t!, T),
      { constants: ['t'] });
  },
  cosine_embedding: () => checkFixture('cosine_embedding', ['a', 'b'], cosineRef(6, 8), ([a, b]) => cosineEmbedding(a!, b!)),
  mse: () => checkFixture('mse', ['a', 'b'], mseRef, ([a, b]) => mseSum(a!, b!), { constants: ['b'] }),
};

test('every op of the PyTorch fixture has a check', () => {
  assert.deepEqual(Object.keys(opsJson.ops).sort(), [...Object.keys(fixtureChecks), 'softmax_masked'].sort());
});

for (const [op, run] of Object.entries(fixtureChecks))
  test(`PyTorch fixture: ${op}`, (t) => {
    t.diagnostic(run());
  });

test('PyTorch fixture: softmax_masked, in the reference and through the attention kernel', (t) => {
  const [B, H, Tq, T] = fx.info('softmax_masked.scores').shape as [number, number, number, number];
  const scores = fx.float32('softmax_masked.scores'), mask = int32(fx, 'softmax_masked.mask');
  const dout = fx.float32('softmax_masked.dout'), wantP = fx.float32('softmax_masked.out');
  const wantDs = fx.float32('softmax_masked.grad_scores');
  const P = f64(scores.length), dS = f64(scores.length);
  R.maskedSoftmaxForward(P, scores, mask, B, H * Tq, T);
  R.softmaxBackward(dS, dout, P, B * H * Tq, T);
  const errs = [assertClose('reference out', P, wantP).maxRel, assertClose('reference grad_scores', dS, wantDs).maxRel];

  // Native: one (T, T) attention per (batch, head) pair; query rows past Tq are zero, with zero dout.
  const q = new Float32Array(B * H * T * T), dctx = new Float32Array(B * H * T * T), m = new Int32Array(B * H * T);
  for (let bh = 0; bh < B * H; bh++) {
    q.set(scores.subarray(bh * Tq * T, (bh + 1) * Tq * T), bh * T * T);
    dctx.set(dout.subarray(bh * Tq * T, (bh + 1) * Tq * T), bh * T * T);
    m.set(mask.subarray(Math.floor(bh / H) * T, Math.floor(bh / H) * T + T), bh * T);
  }
  tape.clear();
  const { q: tq, ctx } = probsThroughAttention(q, m, B * H, T, 0, 0);
  backwardWith(ctx, dctx);
  const rows = (x: Float32Array): Float32Array => {
    const out = new Float32Array(B * H * Tq * T);
    for (let bh = 0; bh < B * H; bh++) out.set(x.subarray(bh * T * T, bh * T * T + Tq * T), bh * Tq * T);
    return out;
  };
  const probs = rows(ctx.data);
  for (let i = 0; i < probs.length; i++)
    if (mask[Math.floor(i / (H * Tq * T)) * T + (i % T)] === 0) assert.equal(probs[i], 0, 'a padded key has probability exactly 0');
  errs.push(assertClose('native probabilities', probs, wantP).maxRel, assertClose('native grad_scores', rows(tq.grad!), wantDs).maxRel);
  t.diagnostic(`softmax_masked: reference out ${errs[0]!.toExponential(1)}, grad ${errs[1]!.toExponential(1)}; ` +
    `native out ${errs[2]!.toExponential(1)}, grad ${errs[3]!.toExponential(1)}`);
});

test('attention: padded keys get probability exactly 0, an all-padded row is exactly uniform', () => {
  const BH = 3, T = 6, scores = randn(seededRng(16), BH * T * T, 3);
  const mask = Int32Array.of(1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const P = f64(scores.length);
  R.maskedSoftmaxForward(P, scores, mask, BH, T, T);
  const ctx = noGrad(() => probsThroughAttention(scores, mask, BH, T, 0, 0).ctx).data;
  assertClose('probabilities', ctx, P);
  for (let i = 0; i < ctx.length; i++) {
    const b = Math.floor(i / (T * T)), key = i % T;
    if (b === 2) assert.equal(ctx[i], Math.fround(1 / T), `all-padded row, entry ${i}`);
    else if (mask[b * T + key] === 0) assert.equal(ctx[i], 0, `padded key, entry ${i}`);
  }
});
