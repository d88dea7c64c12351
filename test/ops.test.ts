// Every differentiable op of ops.ts against the plain reference (src/tensor/reference.ts) and
// finite differences (testOp), and against the PyTorch per-op fixture (ops.safetensors, written by
// scripts/reference/make_fixtures.py); dropout statistics; the kernels' argument checks; the fused
// AdamW step and the gradient norm against their references.
// Legend: B batch, T sequence, C hidden, H heads, D head size, N rows, V vocabulary / classes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { native } from '../src/tensor/native.js';
import {
  add, attention, cosineEmbedding, crossEntropy, dropout, gatherRows, gelu, klDivTemperature, layerNorm, linear, matmul,
  mseSum, relu, tanh, weightedSum,
} from '../src/tensor/ops.js';
import { reference as R, type Vec } from '../src/tensor/reference.js';
import { noGrad, Tensor, tape } from '../src/tensor/tensor.js';
import { assertClose, diff, FIXTURES, fixture, int32 } from './helpers.js';
import { backwardWith, formatReport, randn, type Reference, type Rng, seededRng, testOp, type TestOpOptions } from './op_helper.js';

const f64 = (n: number): Float64Array => new Float64Array(n);
const IGNORE = -100;

// ---------------------------------------------------------------------------------------------
// References of each op, built from the reference kernels.

function linearRef(M: number, N: number, K: number, bias: boolean): Reference {
  return {
    forward: ([x, w, b]) => {
      const y = f64(M * N);
      R.matmul(y, x!, w!, bias ? b! : null, 1, M, N, K, false, true, false);
      return y;
    },
    backward: ([x, w], dy) => {
      const dx = f64(M * K), dw = f64(N * K), db = f64(N);
      R.matmul(dx, dy, w!, null, 1, M, K, N, false, false, false); // dx (M, K) = dy (M, N) W (N, K)
      R.matmul(dw, dy, x!, null, 1, N, K, M, true, false, false); // dW (N, K) = dy^T x
      R.biasGrad(db, dy, M, N);
      return bias ? [dx, dw, db] : [dx, dw];
    },
  };
}

/** (batch, rows, cols) -> (batch, cols, rows). */
function transpose(x: Vec, batch: number, rows: number, cols: number): Float64Array {
  const y = f64(x.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[(b * cols + j) * rows + i] = x[(b * rows + i) * cols + j]!;
  return y;
}

/** Derived independently of ops.ts: op(A), op(B) materialized, then dop(A) = dC op(B)^T, dop(B) = op(A)^T dC. */
function matmulRef(batch: number, M: number, N: number, K: number, tA: boolean, tB: boolean): Reference {
  const operands = (a: Vec, b: Vec): [Float64Array, Float64Array] =>
    [tA ? transpose(a, batch, K, M) : Float64Array.from(a), tB ? transpose(b, batch, N, K) : Float64Array.from(b)];
  return {
    forward: ([a, b]) => {
      const [A, B] = operands(a!, b!), c = f64(batch * M * N);
      R.matmul(c, A, B, null, batch, M, N, K, false, false, false);
      return c;
    },
    backward: ([a, b], dc) => {
      const [A, B] = operands(a!, b!), dA = f64(batch * M * K), dB = f64(batch * K * N);
      R.matmul(dA, dc, transpose(B, batch, K, N), null, batch, M, K, N, false, false, false);
      R.matmul(dB, transpose(A, batch, M, K), dc, null, batch, K, N, M, false, false, false);
      return [tA ? transpose(dA, batch, M, K) : dA, tB ? transpose(dB, batch, K, N) : dB];
    },
  };
}

function layerNormRef(N: number, C: number, eps: number): Reference {
  const run = (x: Vec, w: Vec, b: Vec): { y: Float64Array; mean: Float64Array; rstd: Float64Array } => {
    const y = f64(N * C), mean = f64(N), rstd = f64(N);
    R.layernormForward(y, mean, rstd, x, w, b, N, C, eps);
    return { y, mean, rstd };
  };
  return {
    forward: ([x, w, b]) => run(x!, w!, b!).y,
    backward: ([x, w, b], dy) => {
      const { mean, rstd } = run(x!, w!, b!), dx = f64(N * C), dw = f64(C), db = f64(C);
      R.layernormBackward(dx, dw, db, dy, x!, mean, rstd, w!, N, C);
      return [dx, dw, db];
    },
  };
}

function unaryRef(kind: 'gelu' | 'tanh' | 'relu'): Reference {
  const fwd = R[`${kind}Forward`], bwd = R[`${kind}Backward`];
  const forward = ([x]: readonly Float32Array[]): Float64Array => {
    const y = f64(x!.length);
    fwd(y, x!, x!.length);
    return y;
  };
  return {
    forward,
    backward: (xs, dy) => {
      const dx = f64(dy.length);
      bwd(dx, kind === 'tanh' ? forward(xs) : xs[0]!, dy, dy.length); // tanh's derivative uses its output
      return [dx];
    },
  };
}

const addRef: Reference = {
  forward: ([x, y]) => {
    const o = f64(x!.length);
    R.add(o, x!, y!, x!.length);
    return o;
  },
  backward: (_, dy) => [Float64Array.from(dy), Float64Array.from(dy)],
};

function gatherRef(ids: Int32Array, V: number, C: number, paddingIdx: number): Reference {
  const N = ids.length;
  return {
    forward: ([w]) => {
      const y = f64(N * C);
      R.embeddingForward(y, ids, w!, N, C, V);
      return y;
    },
    backward: (_, dy) => {
      const dw = f64(V * C);
      R.embeddingBackward(dw, dy, ids, N, C, V, paddingIdx);
      return [dw];
    },
  };
}

function attentionRef(B: number, T: number, H: number, D: number, mask: Int32Array | null): Reference {
  const run = (q: Vec, k: Vec, v: Vec): [Float64Array, Float64Array] => {
    const ctx = f64(B * T * H * D), probs = f64(B * H * T * T);
    R.attentionForward(ctx, probs, q, k, v, mask, B, T, H, D, 0, 0);
    return [ctx, probs];
  };
  return {
    forward: ([q, k, v]) => run(q!, k!, v!)[0],
    backward: ([q, k, v], dctx) => {
      const probs = run(q!, k!, v!)[1], n = B * T * H * D, dq = f64(n), dk = f64(n), dv = f64(n);
      R.attentionBackward(dq, dk, dv, dctx, probs, q!, k!, v!, B, T, H, D, 0, 0);
      return [dq, dk, dv];
    },
  };
}

function crossEntropyRef(targets: Int32Array, V: number): Reference {
  const N = targets.length, count = targets.filter((t) => t !== IGNORE).length;
  return {
    forward: ([x]) => Float64Array.of(R.crossEntropyForward(x!, targets, N, V, IGNORE)),
    backward: ([x], [g]) => {
      const dx = f64(N * V);
      R.crossEntropyBackward(dx, x!, targets, N, V, IGNORE, g! / count);
      return [dx];
    },
  };
}

function klRef(N: number, V: number, T: number): Reference {
  return {
    forward: ([s, t]) => Float64Array.of(R.klDivForward(s!, t!, N, V, T)),
    backward: ([s, t], [g]) => {
      const ds = f64(N * V);
      R.klDivBackward(ds, s!, t!, N, V, T, g!);
      return [ds, null];
    },
  };
}

function cosineRef(N: number, C: number): Reference {
  return {
    forward: ([x, y]) => Float64Array.of(R.cosineEmbeddingForward(x!, y!, N, C)),
    backward: ([x, y], [g]) => {
      const dx = f64(N * C), dy = f64(N * C);
      R.cosineEmbeddingBackward(dx, dy, x!, y!, N, C, g!);
      return [dx, dy];
    },
  };
}

const mseRef: Reference = {
  forward: ([x, y]) => Float64Array.of(R.mseForward(x!, y!, x!.length)),
  backward: ([x, y], [g]) => {
    const dx = f64(x!.length), dy = f64(x!.length);
    R.mseBackward(dx, dy, x!, y!, x!.length, g!);
    return [dx, dy];
  },
};

// ---------------------------------------------------------------------------------------------
// testOp: reference, tape and finite differences on seeded random inputs.

const scaled = (s: number, offset = 0) => (n: number, r: Rng): Float32Array => randn(r, n, s).map((v) => v + offset);
/** Values with |x| >= 0.1, so a finite-difference step of 1e-2 never crosses ReLU's kink. */
const awayFromZero = (n: number, r: Rng): Float32Array => randn(r, n).map((v) => (v >= 0 ? 0.1 + v : v - 0.1));
const lnInit = [scaled(2, 0.5), scaled(0.2, 1), scaled(0.2)];

interface Case {
  name: string;
  shapes: number[][];
  ref: Reference | null;
  impl: (xs: Tensor[]) => Tensor;
  opts?: TestOpOptions;
}

const cases: Case[] = [
  { name: 'linear (B, T, K) with bias', shapes: [[2, 3, 7], [5, 7], [5]], ref: linearRef(6, 5, 7, true),
    impl: ([x, w, b]) => linear(x!, w!, b!) },
  { name: 'linear without bias', shapes: [[4, 7], [5, 7]], ref: linearRef(4, 5, 7, false),
    impl: ([x, w]) => linear(x!, w!, null) },
];
for (const batch of [1, 3])
  for (const tA of [false, true])
    for (const tB of [false, true]) {
      const [M, N, K] = [4, 5, 6], lead = batch === 1 ? [] : [batch];
      cases.push({
        name: `matmul batch ${batch} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`,
        shapes: [[...lead, ...(tA ? [K, M] : [M, K])], [...lead, ...(tB ? [N, K] : [K, N])]],
        ref: matmulRef(batch, M, N, K, tA, tB), impl: ([a, b]) => matmul(a!, b!, tA, tB),
      });
    }
cases.push(
  { name: 'layerNorm eps 1e-12', shapes: [[4, 10], [10], [10]], ref: layerNormRef(4, 10, 1e-12),
    impl: ([x, w, b]) => layerNorm(x!, w!, b!, 1e-12), opts: { init: lnInit } },
  { name: 'layerNorm (B, T, C) eps 1e-5', shapes: [[2, 3, 8], [8], [8]], ref: layerNormRef(6, 8, 1e-5),
    impl: ([x, w, b]) => layerNorm(x!, w!, b!, 1e-5), opts: { init: lnInit } },
  { name: 'gelu', shapes: [[3, 7]], ref: unaryRef('gelu'), impl: ([x]) => gelu(x!), opts: { init: [scaled(2)] } },
  { name: 'tanh', shapes: [[3, 7]], ref: unaryRef('tanh'), impl: ([x]) => tanh(x!), opts: { init: [scaled(1.5)] } },
  { name: 'relu', shapes: [[3, 7]], ref: unaryRef('relu'), impl: ([x]) => relu(x!), opts: { init: [awayFromZero] } },
  { name: 'add', shapes: [[2, 3, 4], [2, 3, 4]], ref: addRef, impl: ([a, b]) => add(a!, b!) },
);

const gatherIds = Int32Array.of(1, 3, 3, 0, 6, 3, 1, 2);
const padIds = Int32Array.of(0, 2, 0, 5, 2, 0);
cases.push(
  { name: 'gatherRows, repeated ids', shapes: [[7, 4]], ref: gatherRef(gatherIds, 7, 4, -1),
    impl: ([w]) => gatherRows(w!, gatherIds, [2, 4]) },
  { name: 'gatherRows, paddingIdx 0', shapes: [[7, 4]], ref: gatherRef(padIds, 7, 4, 0),
    impl: ([w]) => gatherRows(w!, padIds, [2, 3], 0),
    // The padding row is used by the forward but, as PyTorch's padding_idx, gets no gradient.
    opts: { fdSkip: (_, j) => j < 4 } },
);

const qkv = (B: number, T: number, C: number): number[][] => [[B, T, C], [B, T, C], [B, T, C]];
const partialMask = Int32Array.of(1, 1, 1, 1, 1, 1, 1, 1, 0, 0);
const allPadMask = Int32Array.of(1, 1, 0, 1, 0, 0, 0, 0, 0, 0);
cases.push(
  { name: 'attention, no mask', shapes: qkv(2, 5, 8), ref: attentionRef(2, 5, 2, 4, null),
    impl: ([q, k, v]) => attention(q!, k!, v!, null, 2, 0, 0) },
  { name: 'attention, padding mask', shapes: qkv(2, 5, 8), ref: attentionRef(2, 5, 2, 4, partialMask),
    impl: ([q, k, v]) => attention(q!, k!, v!, partialMask, 2, 0, 0) },
  { name: 'attention, 3 heads of 4, T 7', shapes: qkv(1, 7, 12), ref: attentionRef(1, 7, 3, 4, null),
    impl: ([q, k, v]) => attention(q!, k!, v!, null, 3, 0, 0) },
  // Sequence 1 is all padding: its rows are uniform (a constant function of q and k, so finite
  // differences give 0), yet the kernel, like HF autograd through the finfo.min fill, passes the
  // softmax gradient through; only the reference checks q and k there.
  { name: 'attention, an all-padded sequence', shapes: qkv(2, 5, 8), ref: attentionRef(2, 5, 2, 4, allPadMask),
    impl: ([q, k, v]) => attention(q!, k!, v!, allPadMask, 2, 0, 0), opts: { fdSkip: (i, j) => i < 2 && j >= 40 } },
  // With dropout the mask is a pure function of the seed, so the output is smooth in q, k, v.
  { name: 'attention, dropout 0.2', shapes: qkv(2, 5, 8), ref: null,
    impl: ([q, k, v]) => attention(q!, k!, v!, partialMask, 2, 0.2, 1234) },
);

const ceTargets = Int32Array.of(3, IGNORE, 0, 8, IGNORE, 5);
const wsWeights = [0.5, -2, 0];
cases.push(
  { name: 'crossEntropy with ignored rows', shapes: [[6, 9]], ref: crossEntropyRef(ceTargets, 9),
    impl: ([x]) => crossEntropy(x!, ceTargets), opts: { init: [scaled(2)] } },
  { name: 'klDivTemperature T=2', shapes: [[5, 9], [5, 9]], ref: klRef(5, 9, 2),
    impl: ([s, t]) => klDivTemperature(s!, t!, 2), opts: { init: [scaled(2), scaled(2)], constants: [1] } },
  { name: 'klDivTemperature T=1 (B, T, V)', shapes: [[2, 3, 7], [2, 3, 7]], ref: klRef(6, 7, 1),
    impl: ([s, t]) => klDivTemperature(s!, t!, 1), opts: { constants: [1] } },
  { name: 'cosineEmbedding', shapes: [[6, 8], [6, 8]], ref: cosineRef(6, 8),
    impl: ([x, y]) => cosineEmbedding(x!, y!) },
  { name: 'mseSum', shapes: [[4, 9], [4, 9]], ref: mseRef, impl: ([x, y]) => mseSum(x!, y!) },
  { name: 'weightedSum of scalars', shapes: [[], [], []],
    ref: {
      forward: (xs) => Float64Array.of(xs.reduce((s, x, i) => s + wsWeights[i]! * x[0]!, 0)),
      backward: (_, [g]) => wsWeights.map((w) => Float64Array.of(w * g!)),
    },
    impl: (xs) => weightedSum(xs.map((x, i) => [x, wsWeights[i]!])) },
  // Two losses of the same inputs: the tape must add both contributions.
  { name: 'weightedSum of mseSum and cosineEmbedding of the same tensors', shapes: [[3, 5], [3, 5]],
    ref: {
      forward: (xs) => Float64Array.of(0.5 * mseRef.forward(xs)[0]! + 2 * cosineRef(3, 5).forward(xs)[0]!),
      backward: (xs, [g]) => {
        const m = mseRef.backward(xs, Float64Array.of(0.5 * g!)), c = cosineRef(3, 5).backward(xs, Float64Array.of(2 * g!));
        return m.map((d, i) => d!.map((v, j) => v + c[i]![j]!));
      },
    },
    impl: ([x, y]) => weightedSum([[mseSum(x!, y!), 0.5], [cosineEmbedding(x!, y!), 2]]) },
);

for (const c of cases)
  test(`testOp: ${c.name}`, (t) => {
    t.diagnostic(formatReport(testOp(c.name, c.shapes, c.ref, c.impl, c.opts)));
  });

test('crossEntropy with every row ignored is 0 and gives no gradient', () => {
  const x = new Tensor(randn(seededRng(5), 12), [3, 4], true);
  const loss = crossEntropy(x, Int32Array.of(IGNORE, IGNORE, IGNORE));
  assert.equal(loss.item(), 0);
  backwardWith(loss, Float32Array.of(1));
  assert.ok(!x.grad || x.grad.every((g) => g === 0));
});

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

/**
 * Attention with one head of size D = T whose context is its probabilities: q holds the wanted
 * scores (rows), k = sqrt(D) I so that q k^T / sqrt(D) = scores, and v = I so that ctx = P; then
 * dq = dscores. scores (BH, T, T) and mask (BH, T) per (batch, head) pair.
 */
function probsThroughAttention(scores: Float32Array, mask: Int32Array | null, BH: number, T: number, p: number,
  seed: number): { q: Tensor; ctx: Tensor } {
  const k = new Float32Array(BH * T * T), v = new Float32Array(BH * T * T);
  for (let b = 0; b < BH; b++)
    for (let j = 0; j < T; j++) {
      k[(b * T + j) * T + j] = Math.sqrt(T);
      v[(b * T + j) * T + j] = 1;
    }
  const q = new Tensor(scores, [BH, T, T], true);
  return { q, ctx: attention(q, new Tensor(k, [BH, T, T], true), new Tensor(v, [BH, T, T], true), mask, 1, p, seed) };
}

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
