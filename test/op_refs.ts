// Plain references of each differentiable op (built from src/tensor/reference.ts) and the
// attention probe, shared by ops.test.ts, ops_fixtures.test.ts and kernels.test.ts.
// Legend: B batch, T sequence, C hidden, H heads, D head size, N rows, V vocabulary / classes.
import { attention } from '../src/tensor/ops.js';
import { reference as R, type Vec } from '../src/tensor/reference.js';
import { Tensor } from '../src/tensor/tensor.js';
import type { Reference } from './op_helper.js';

export const f64 = (n: number): Float64Array => new Float64Array(n);
export const IGNORE = -100;

// ---------------------------------------------------------------------------------------------
// References of each op, built from the reference kernels.

export function linearRef(M: number, N: number, K: number, bias: boolean): Reference {
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
export function transpose(x: Vec, batch: number, rows: number, cols: number): Float64Array {
  const y = f64(x.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[(b * cols + j) * rows + i] = x[(b * rows + i) * cols + j]!;
  return y;
}

/** Derived independently of ops.ts: op(A), op(B) materialized, then dop(A) = dC op(B)^T, dop(B) = op(A)^T dC. */
export function matmulRef(batch: number, M: number, N: number, K: number, tA: boolean, tB: boolean): Reference {
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

export function layerNormRef(N: number, C: number, eps: number): Reference {
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

export function unaryRef(kind: 'gelu' | 'tanh' | 'relu'): Reference {
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

export const addRef: Reference = {
  forward: ([x, y]) => {
    const o = f64(x!.length);
    R.add(o, x!, y!, x!.length);
    return o;
  },
  backward: (_, dy) => [Float64Array.from(dy), Float64Array.from(dy)],
};

export function gatherRef(ids: Int32Array, V: number, C: number, paddingIdx: number): Reference {
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

export function attentionRef(B: number, T: number, H: number, D: number, mask: Int32Array | null): Reference {
  const run = (q: Vec, k: Vec, v: Vec): [Float64Array, Float64Array] => {
    const ctx = f64(B * T * H * D), probs = f64(B * H * T * T);
    R.attentionForward(ctx, probs, q, k, v, mask, B, T, H, D, 0, 0);
    return [ctx, probs];
  };
  return {
    forward: ([q, k, v]) => run(q!, k!, v!)[0],
    backward: ([q, k, v], dctx) => {
      const n = B * T * H * D, dq = f64(n), dk = f64(n), dv = f64(n);
      R.attentionBackward(dq, dk, dv, dctx, null, q!, k!, v!, mask, B, T, H, D, 0, 0);
      return [dq, dk, dv];
    },
  };
}

export function crossEntropyRef(targets: Int32Array, V: number): Reference {
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

export function klRef(N: number, V: number, T: number): Reference {
  return {
    forward: ([s, t]) => Float64Array.of(R.klDivForward(s!, t!, N, V, T)),
    backward: ([s, t], [g]) => {
      const ds = f64(N * V);
      R.klDivBackward(ds, s!, t!, N, V, T, g!);
      return [ds, null];
    },
  };
}

export function cosineRef(N: number, C: number): Reference {
  return {
    forward: ([x, y]) => Float64Array.of(R.cosineEmbeddingForward(x!, y!, N, C)),
    backward: ([x, y], [g]) => {
      const dx = f64(N * C), dy = f64(N * C);
      R.cosineEmbeddingBackward(dx, dy, x!, y!, N, C, g!);
      return [dx, dy];
    },
  };
}

export const mseRef: Reference = {
  forward: ([x, y]) => Float64Array.of(R.mseForward(x!, y!, x!.length)),
  backward: ([x, y], [g]) => {
    const dx = f64(x!.length), dy = f64(x!.length);
    R.mseBackward(dx, dy, x!, y!, x!.length, g!);
    return [dx, dy];
  },
};

/**
 * Attention with one head of size D = T whose context is its probabilities: q holds the wanted
 * scores (rows), k = sqrt(D) I so that q k^T / sqrt(D) = scores, and v = I so that ctx = P; then
 * dq = dscores. scores (BH, T, T) and mask (BH, T) per (batch, head) pair.
 */
export function probsThroughAttention(scores: Float32Array, mask: Int32Array | null, BH: number, T: number, p: number,
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
