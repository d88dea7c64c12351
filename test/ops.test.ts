// Every differentiable op of ops.ts against the plain reference (src/tensor/reference.ts, via
// op_refs.ts) and finite differences (testOp). The PyTorch per-op fixture is checked in
// ops_fixtures.test.ts; dropout, argument checks and the optimizer kernels in kernels.test.ts.
// Legend: B batch, T sequence, C hidden, H heads, D head size, N rows, V vocabulary / classes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  add, attention, cosineEmbedding, crossEntropy, gatherRows, gelu, klDivTemperature, layerNorm, linear, matmul, mseSum,
  relu, tanh, weightedSum,
} from '../src/tensor/ops.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  backwardWith, formatReport, randn, type Reference, type Rng, seededRng, testOp, type TestOpOptions,
} from './op_helper.js';
import {
  addRef, attentionRef, cosineRef, crossEntropyRef, gatherRef, IGNORE, klRef, layerNormRef, linearRef, matmulRef,
  mseRef, unaryRef,
} from './op_refs.js';

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
