// Fused ops (src/tensor/fused.ts) against their unfused chains: forward and every gradient, and the
// inference paths (GELU as a matmul post-op, in fp32, bf16 and int8).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addLayerNorm, linearGelu } from '../src/tensor/fused.js';
import { native } from '../src/tensor/native.js';
import { add, gelu, layerNorm, linear } from '../src/tensor/ops.js';
import { withPrecision, type Precision } from '../src/tensor/precision.js';
import { reference as R } from '../src/tensor/reference.js';
import { backward, noGrad, Tensor } from '../src/tensor/tensor.js';
import { assertClose } from './helpers.js';
import { randn, seededRng } from './op_helper.js';

const [N, C] = [6, 24];

function inputs(seed: number): Tensor[] {
  const rng = seededRng(seed);
  return [randn(rng, N * C), randn(rng, N * C), randn(rng, C, 0.5).map((v) => 1 + v), randn(rng, C, 0.1)]
    .map((d, i) => new Tensor(d, i < 2 ? [2, 3, C] : [C], true, `t${i}`));
}

/** Forward value and every input gradient of sum(out * g) for a fixed upstream g. */
function run(f: (t: Tensor[]) => Tensor, ts: Tensor[], g: Float32Array): { out: Float32Array; grads: Float32Array[] } {
  for (const t of ts) t.grad = null;
  const out = f(ts);
  const loss = linear(out.view([1, N * C]), new Tensor(g, [1, N * C]), null); // sum(out * g)
  backward(loss);
  return { out: out.data.slice(), grads: ts.map((t) => t.grad?.slice() ?? new Float32Array(0)) };
}

test('addLayerNorm equals layerNorm(add(x, y)): forward, and gradients of x, y, weight and bias', () => {
  const g = randn(seededRng(2), N * C);
  for (const same of [false, true]) {
    const ts = inputs(1);
    const pick = (t: Tensor[]): [Tensor, Tensor] => [t[0]!, same ? t[0]! : t[1]!];
    const fused = run((t) => addLayerNorm(...pick(t), t[2]!, t[3]!, 1e-12), ts, g);
    const plain = run((t) => layerNorm(add(...pick(t)), t[2]!, t[3]!, 1e-12), ts, g);
    assertClose('forward', fused.out, plain.out, 1e-6);
    for (const i of [0, 1, 2, 3]) if (!(same && i === 1)) assertClose(`grad ${i} (x === y: ${same})`, fused.grads[i]!, plain.grads[i]!, 1e-6);
  }
  const [x, y, w, b] = inputs(3);
  const inference = noGrad(() => addLayerNorm(x!, y!, w!, b!, 1e-5).data.slice());
  const want = new Float64Array(N * C);
  R.addLayernormForward(want, null, new Float64Array(N), new Float64Array(N), x!.data, y!.data, w!.data, b!.data, N, C, 1e-5);
  assertClose('inference (no saved sum) vs the reference kernel', inference, want, 1e-5);
  assert.throws(() => addLayerNorm(x!, new Tensor(new Float32Array(C), [C]), w!, b!, 1e-5), /addLayerNorm: shapes/);
});

test('linearGelu at inference (GELU as a post-op) equals gelu(linear(x)) in fp32, bf16 and int8', () => {
  const rng = seededRng(4), [M, F, K] = [5, 48, 32];
  const x = new Tensor(randn(rng, M * K), [M, K]);
  const data = randn(rng, F * K + F, 0.2);
  // A weight with a version, as model parameters have, so the packed inference path is taken.
  const w = Object.assign(new Tensor(data.subarray(0, F * K), [F, K]), { version: () => 41 });
  const b = Object.assign(new Tensor(data.subarray(F * K), [F]), { version: () => 41 });
  for (const p of ['fp32', 'bf16', 'int8'] as Precision[]) {
    const [fused, plain] = withPrecision(p, () => noGrad(() => [linearGelu(x, w, b).data.slice(), gelu(linear(x, w, b)).data.slice()]));
    // fp32/bf16 use oneDNN's erf inside the post-op, int8 the same GELU kernel as gelu().
    if (p === 'int8') assert.deepEqual(fused, plain);
    else assertClose(`${p} fused GELU`, fused!, plain!, 1e-5);
  }
  native.clearPacked();
});

test('linearGelu with gradients is linear then gelu (same values and gradients)', () => {
  const rng = seededRng(5), [M, F, K] = [4, 8, 6];
  const mk = (n: number, shape: number[]): Tensor => new Tensor(randn(rng, n), shape, true);
  const ts = [mk(M * K, [M, K]), mk(F * K, [F, K]), mk(F, [F])];
  const g = randn(rng, M * F);
  const lg = (f: (t: Tensor[]) => Tensor) => {
    for (const t of ts) t.grad = null;
    const out = f(ts);
    backward(linear(out.view([1, M * F]), new Tensor(g, [1, M * F]), null));
    return [out.data.slice(), ...ts.map((t) => t.grad!.slice())];
  };
  const fused = lg((t) => linearGelu(t[0]!, t[1]!, t[2]!)), plain = lg((t) => gelu(linear(t[0]!, t[1]!, t[2]!)));
  fused.forEach((v, i) => assert.deepEqual(v, plain[i]));
});
