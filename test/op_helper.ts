// One op-test helper (STYLE 8; tinygrad's helper_test_op, ggml's test-backend-ops): `testOp` draws
// seeded random inputs, builds the op through ops.ts on the tape, and checks
//   (a) the forward output against the plain reference (src/tensor/reference.ts),
//   (b) the tape's input gradients for a random upstream gradient against the reference backward,
//   (c) those gradients against central finite differences of the native forward.
// Errors are relative to the largest reference magnitude of the tensor (helpers.ts `diff`).
import assert from 'node:assert/strict';
import { linear } from '../src/tensor/ops.js';
import { numel } from '../src/tensor/param_store.js';
import { backward, noGrad, Tensor, tape } from '../src/tensor/tensor.js';
import { assertClose } from './helpers.js';

export type Rng = () => number;

/** mulberry32: a small seeded uniform [0, 1) generator, so every test input is reproducible. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n draws from N(0, scale^2) (Box-Muller), rounded to float32. */
export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rng(), v = rng();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** FNV-1a of a string: a per-op default seed. */
const hashSeed = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/**
 * Runs the tape backward from `out` (any shape) with upstream gradient `dout`: the scalar
 * sum(out * dout) is built as a (1, n) x (1, n)^T linear, whose backward hands out exactly dout.
 */
export function backwardWith(out: Tensor, dout: Float32Array): void {
  const n = out.size;
  backward(linear(out.view([1, n]), new Tensor(dout, [1, n]), null)); // (1, 1)
}

/** The float64 reference of an op on its float inputs (integer inputs are captured by the closures). */
export interface Reference {
  forward(xs: readonly Float32Array[]): Float64Array;
  /** d(sum(out * dout))/d(input) for each input; null for an input the op treats as constant. */
  backward(xs: readonly Float32Array[], dout: Float64Array): Array<Float64Array | null>;
}

export interface TestOpOptions {
  /** RNG seed (default: a hash of the op name). */
  seed?: number;
  /** Input generators by input index (default: N(0, 1)). */
  init?: Array<((n: number, rng: Rng) => Float32Array) | undefined>;
  /** Inputs built with requiresGrad false (e.g. the teacher logits of the KL loss). */
  constants?: number[];
  /** Forward tolerance, relative to the largest reference magnitude (default 1e-5). */
  rtol?: number;
  /** Tape vs reference gradient tolerance, relative (default 1e-5). */
  gradRtol?: number;
  /** Finite-difference step, applied in float32 (default 1e-2). */
  fdEps?: number;
  /** Finite-difference tolerance, relative to the largest tape gradient of the input (default 5e-3). */
  fdRtol?: number;
  /** Elements perturbed per input (default 12). */
  fdSamples?: number;
  /** Elements left out of the finite-difference check (e.g. an embedding's padding row). */
  fdSkip?: (input: number, index: number) => boolean;
}

/** Max relative errors: forward, and per input the reference-gradient and finite-difference checks (NaN: not run). */
export interface OpReport {
  name: string;
  forward: number;
  grad: number[];
  fd: number[];
}

export const formatReport = (r: OpReport): string => {
  const e = (x: number): string => (Number.isNaN(x) ? '-' : x.toExponential(1));
  return `${r.name}: forward ${e(r.forward)}, grad [${r.grad.map(e).join(', ')}], fd [${r.fd.map(e).join(', ')}]`;
};

/**
 * Checks op `impl` (built through ops.ts from input Tensors that require grad) on random inputs of
 * the given shapes against `reference` (null: only the finite-difference check, e.g. with dropout).
 */
export function testOp(name: string, shapes: number[][], reference: Reference | null,
  impl: (xs: Tensor[]) => Tensor, opts: TestOpOptions = {}): OpReport {
  const rng = seededRng(opts.seed ?? hashSeed(name));
  const consts = new Set(opts.constants ?? []);
  const xs = shapes.map((s, i) => (opts.init?.[i] ?? ((n: number, r: Rng) => randn(r, n)))(numel(s), rng));
  xs.forEach((x, i) => assert.equal(x.length, numel(shapes[i]!), `${name}: init of input ${i} has the wrong length`));
  const build = (): Tensor => impl(xs.map((x, i) => new Tensor(x, shapes[i]!, !consts.has(i), `${name}.${i}`)));
  const report: OpReport = { name, forward: NaN, grad: xs.map(() => NaN), fd: xs.map(() => NaN) };

  tape.clear();
  const inputs = xs.map((x, i) => new Tensor(x, shapes[i]!, !consts.has(i), `${name}.${i}`));
  const out = impl(inputs);
  assert.ok(out.requiresGrad, `${name}: the output does not require grad`);
  const dout = randn(rng, out.size);
  if (reference) report.forward = assertClose(`${name} forward`, out.data, reference.forward(xs), opts.rtol ?? 1e-5).maxRel;

  // (b) the tape's gradients against the reference backward.
  backwardWith(out, dout);
  assert.equal(tape.length, 0, `${name}: backward left nodes on the tape`);
  const want = reference?.backward(xs, Float64Array.from(dout));
  inputs.forEach((t, i) => {
    if (consts.has(i)) return;
    assert.ok(t.grad, `${name}: input ${i} got no gradient`);
    assert.equal(t.grad.length, t.size, `${name}: gradient of input ${i} has the wrong size`);
    if (!want) return;
    const w = want[i];
    assert.ok(w, `${name}: the reference has no gradient for input ${i}`);
    report.grad[i] = assertClose(`${name} grad of input ${i}`, t.grad, w, opts.gradRtol ?? 1e-5).maxRel;
  });

  // (c) central differences of f = sum(out * dout), accumulated in float64 over the native forward.
  const f = (): number =>
    noGrad(() => {
      const y = build().data;
      let s = 0;
      for (let j = 0; j < y.length; j++) s += y[j]! * dout[j]!;
      return s;
    });
  const eps = opts.fdEps ?? 1e-2, tol = opts.fdRtol ?? 5e-3;
  inputs.forEach((t, i) => {
    if (consts.has(i)) return;
    const x = xs[i]!, grad = t.grad!;
    const candidates = [...x.keys()].filter((j) => !opts.fdSkip?.(i, j));
    let maxErr = 0, scale = 0;
    for (const g of grad) scale = Math.max(scale, Math.abs(g));
    for (let s = 0; s < Math.min(opts.fdSamples ?? 12, candidates.length); s++) {
      const j = candidates.splice(Math.floor(rng() * candidates.length), 1)[0]!;
      const x0 = x[j]!, hi = Math.fround(x0 + eps), lo = Math.fround(x0 - eps);
      x[j] = hi;
      const fp = f();
      x[j] = lo;
      const fm = f();
      x[j] = x0;
      maxErr = Math.max(maxErr, Math.abs((fp - fm) / (hi - lo) - grad[j]!));
    }
    report.fd[i] = scale > 0 ? maxErr / scale : maxErr;
    assert.ok(report.fd[i]! <= tol,
      `${name} finite differences, input ${i}: max error ${maxErr.toExponential(2)}, relative ${report.fd[i]!.toExponential(2)} > ${tol}`);
  });
  return report;
}
