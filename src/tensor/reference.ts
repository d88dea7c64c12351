// Plain TypeScript reference of every native kernel (native/*.cc), forward and backward: simple
// loops in float64, for small sizes only. It is the source of truth the native kernels are tested
// against (test/ops.test.ts), as llm.c keeps `matmul_forward_naive` beside its fast kernel.
// Argument conventions are those of NativeKernels (native.ts): outputs first, then inputs, then
// dimensions; backward functions accumulate (+=) into their gradient outputs. Buffers may be
// Float32Array or Float64Array: pass Float64Array outputs to keep the full float64 result.
// Dropout has no reference form, so `attentionForward` / `attentionBackward` accept only p = 0.
//
// Legend: B batch, T sequence, H heads, D head size, C hidden size (= H * D for attention),
// M/N/K matmul dimensions, N rows, V vocabulary (embedding rows), n elements.
import type { NativeKernels } from './native.js';
import { crossEntropyBackward, crossEntropyForward, cosineEmbeddingBackward, cosineEmbeddingForward, klDivBackward,
  klDivForward, mseBackward, mseForward } from './reference_losses.js';
import { adamwStep, gradNorm } from './reference_optim.js';

/** A float buffer the reference reads or writes. */
export type Vec = Float32Array | Float64Array;

/** Throws when a buffer does not have the length its dimensions imply (catches test wiring bugs). */
export function need(buf: ArrayLike<number>, len: number, what: string): void {
  if (buf.length !== len) throw new Error(`reference: '${what}' has ${buf.length} elements, expected ${len}`);
}

/**
 * C (batch, M, N) = op(A) . op(B) [+ bias (N)], or C += that when `accumulate` (bias included,
 * as oneDNN's sum post-op does). A is stored (batch, M, K), or (batch, K, M) when transA;
 * B is stored (batch, K, N), or (batch, N, K) when transB.
 */
export function matmul(C: Vec, A: Vec, B: Vec, bias: Vec | null, batch: number, M: number, N: number, K: number,
  transA: boolean, transB: boolean, accumulate: boolean): void {
  need(C, batch * M * N, 'C'); need(A, batch * M * K, 'A'); need(B, batch * K * N, 'B');
  if (bias) need(bias, N, 'bias');
  for (let b = 0; b < batch; b++) {
    const a0 = b * M * K, b0 = b * K * N, c0 = b * M * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = bias ? bias[j]! : 0;
        for (let p = 0; p < K; p++) {
          const a = transA ? A[a0 + p * M + i]! : A[a0 + i * K + p]!;
          const w = transB ? B[b0 + j * K + p]! : B[b0 + p * N + j]!;
          s += a * w;
        }
        const o = c0 + i * N + j;
        C[o] = accumulate ? C[o]! + s : s;
      }
  }
}

/** dbias (N) += column sums of dY (M, N). */
export function biasGrad(dbias: Vec, dY: Vec, M: number, N: number): void {
  need(dbias, N, 'dbias'); need(dY, M * N, 'dY');
  for (let j = 0; j < N; j++) {
    let s = 0;
    for (let i = 0; i < M; i++) s += dY[i * N + j]!;
    dbias[j] = dbias[j]! + s;
  }
}

/**
 * P (B, R, T) = softmax over the last dim of scores (B, R, T), where mask (B, T) (1 token,
 * 0 padding; null: none) is shared by the R rows of each batch element. Padded keys get
 * probability exactly 0 (HF adds finfo(f32).min); a row whose keys are all padding is uniform,
 * which is what that fill produces in float32. P may be the scores buffer itself.
 */
export function maskedSoftmaxForward(P: Vec, scores: Vec, mask: Int32Array | null, B: number, R: number, T: number): void {
  need(P, B * R * T, 'P'); need(scores, B * R * T, 'scores');
  if (mask) need(mask, B * T, 'mask');
  for (let b = 0; b < B; b++)
    for (let r = 0; r < R; r++) {
      const o = (b * R + r) * T;
      const keep = (j: number): boolean => !mask || mask[b * T + j] !== 0;
      let mx = -Infinity;
      for (let j = 0; j < T; j++) if (keep(j)) mx = Math.max(mx, scores[o + j]!);
      if (mx === -Infinity) {
        for (let j = 0; j < T; j++) P[o + j] = 1 / T;
        continue;
      }
      let sum = 0;
      const e = new Float64Array(T);
      for (let j = 0; j < T; j++) sum += e[j] = keep(j) ? Math.exp(scores[o + j]! - mx) : 0;
      for (let j = 0; j < T; j++) P[o + j] = e[j]! / sum;
    }
}

/** dscores (rows, T) += P * (dP - sum_j dP_j P_j), the softmax backward row by row. */
export function softmaxBackward(dscores: Vec, dP: Vec, P: Vec, rows: number, T: number): void {
  need(dscores, rows * T, 'dscores'); need(dP, rows * T, 'dP'); need(P, rows * T, 'P');
  for (let r = 0; r < rows; r++) {
    const o = r * T;
    let dot = 0;
    for (let j = 0; j < T; j++) dot += dP[o + j]! * P[o + j]!;
    for (let j = 0; j < T; j++) dscores[o + j] = dscores[o + j]! + P[o + j]! * (dP[o + j]! - dot);
  }
}

function noDropout(p: number): void {
  if (p !== 0) throw new Error('reference attention has no dropout: dropoutP must be 0');
}

/**
 * ctx (B, T, C) = softmax(q k^T / sqrt(D) + mask) v per head, heads read as columns h*D..h*D+D of
 * the (B, T, C) projections; probs (B, H, T, T), unless null, receives the softmax.
 */
export function attentionForward(ctx: Vec, probs: Vec | null, q: Vec, k: Vec, v: Vec, mask: Int32Array | null,
  B: number, T: number, H: number, D: number, dropoutP: number, _seed: number): void {
  noDropout(dropoutP);
  const C = H * D, scale = 1 / Math.sqrt(D);
  for (const [x, what] of [[ctx, 'ctx'], [q, 'q'], [k, 'k'], [v, 'v']] as const) need(x, B * T * C, what);
  const S = new Float64Array(B * H * T * T); // (B, H, T, T) scores, then probabilities
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[(b * T + i) * C + h * D + d]! * k[(b * T + j) * C + h * D + d]!;
          S[((b * H + h) * T + i) * T + j] = s * scale;
        }
  maskedSoftmaxForward(S, S, mask, B, H * T, T);
  if (probs) {
    need(probs, S.length, 'probs');
    probs.set(S);
  }
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < T; i++)
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let j = 0; j < T; j++) s += S[((b * H + h) * T + i) * T + j]! * v[(b * T + j) * C + h * D + d]!;
          ctx[(b * T + i) * C + h * D + d] = s;
        }
}

/**
 * dq, dk, dv (B, T, C) += gradients of attentionForward for upstream dctx, given its probs (null:
 * recomputed from q, k and mask).
 */
export function attentionBackward(dq: Vec, dk: Vec, dv: Vec, dctx: Vec, probsIn: Vec | null, q: Vec, k: Vec, v: Vec,
  mask: Int32Array | null, B: number, T: number, H: number, D: number, dropoutP: number, _seed: number): void {
  noDropout(dropoutP);
  const C = H * D, scale = 1 / Math.sqrt(D);
  for (const [x, what] of [[dq, 'dq'], [dk, 'dk'], [dv, 'dv'], [dctx, 'dctx'], [q, 'q'], [k, 'k'], [v, 'v']] as const)
    need(x, B * T * C, what);
  let probs = probsIn;
  if (!probs) {
    probs = new Float64Array(B * H * T * T);
    attentionForward(new Float64Array(B * T * C), probs, q, k, v, mask, B, T, H, D, 0, 0);
  }
  need(probs, B * H * T * T, 'probs');
  const at = (b: number, t: number, h: number, d: number): number => (b * T + t) * C + h * D + d;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const P = probs.subarray((b * H + h) * T * T, (b * H + h + 1) * T * T);
      const dP = new Float64Array(T * T), dS = new Float64Array(T * T);
      for (let i = 0; i < T; i++)
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += dctx[at(b, i, h, d)]! * v[at(b, j, h, d)]!;
          dP[i * T + j] = s;
        }
      for (let j = 0; j < T; j++)
        for (let d = 0; d < D; d++) {
          let s = 0;
          for (let i = 0; i < T; i++) s += P[i * T + j]! * dctx[at(b, i, h, d)]!;
          dv[at(b, j, h, d)] = dv[at(b, j, h, d)]! + s;
        }
      softmaxBackward(dS, dP, P, T, T);
      for (let i = 0; i < T; i++)
        for (let d = 0; d < D; d++) {
          let sq = 0, sk = 0;
          for (let j = 0; j < T; j++) {
            sq += dS[i * T + j]! * k[at(b, j, h, d)]!;
            sk += dS[j * T + i]! * q[at(b, j, h, d)]!;
          }
          dq[at(b, i, h, d)] = dq[at(b, i, h, d)]! + scale * sq;
          dk[at(b, i, h, d)] = dk[at(b, i, h, d)]! + scale * sk;
        }
    }
}

/** out (N, C) = (x - mean) * rstd * w + b per row, biased variance; saves mean, rstd (N). */
export function layernormForward(out: Vec, mean: Vec, rstd: Vec, inp: Vec, w: Vec, b: Vec, N: number, C: number,
  eps: number): void {
  need(out, N * C, 'out'); need(inp, N * C, 'inp'); need(mean, N, 'mean'); need(rstd, N, 'rstd');
  need(w, C, 'weight'); need(b, C, 'bias');
  for (let i = 0; i < N; i++) {
    let m = 0, v = 0;
    for (let j = 0; j < C; j++) m += inp[i * C + j]!;
    m /= C;
    for (let j = 0; j < C; j++) v += (inp[i * C + j]! - m) ** 2;
    const s = 1 / Math.sqrt(v / C + eps);
    for (let j = 0; j < C; j++) out[i * C + j] = (inp[i * C + j]! - m) * s * w[j]! + b[j]!;
    mean[i] = m;
    rstd[i] = s;
  }
}

/** dinp (N, C), dw, db (C; null to skip) += LayerNorm gradients (llm.c layernorm_backward). */
export function layernormBackward(dinp: Vec, dw: Vec | null, db: Vec | null, dout: Vec, inp: Vec, mean: Vec,
  rstd: Vec, w: Vec, N: number, C: number): void {
  need(dinp, N * C, 'dinp'); need(dout, N * C, 'dout'); need(inp, N * C, 'inp'); need(w, C, 'weight');
  for (let i = 0; i < N; i++) {
    const m = mean[i]!, s = rstd[i]!;
    let sumG = 0, sumGx = 0;
    for (let j = 0; j < C; j++) {
      const xh = (inp[i * C + j]! - m) * s, g = dout[i * C + j]!;
      sumG += g * w[j]!;
      sumGx += g * w[j]! * xh;
      if (dw) dw[j] = dw[j]! + g * xh;
      if (db) db[j] = db[j]! + g;
    }
    for (let j = 0; j < C; j++) {
      const xh = (inp[i * C + j]! - m) * s;
      dinp[i * C + j] = dinp[i * C + j]! + s * (dout[i * C + j]! * w[j]! - sumG / C - xh * sumGx / C);
    }
  }
}

/**
 * erf(x) to about 1e-15 relative, from the all-positive series of Abramowitz & Stegun 7.1.6:
 * erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 5 ... (2n+1)). erf(6) is 1 in float64.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax, sum = ax;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

const unaryForward = (f: (x: number) => number) => (out: Vec, inp: Vec, n: number): void => {
  need(out, n, 'out'); need(inp, n, 'inp');
  for (let i = 0; i < n; i++) out[i] = f(inp[i]!);
};
/** `saved` is the op's input (GELU, ReLU) or its output (tanh), as in the native kernels. */
const unaryBackward = (df: (saved: number) => number) => (dinp: Vec, saved: Vec, dout: Vec, n: number): void => {
  need(dinp, n, 'dinp'); need(saved, n, 'saved'); need(dout, n, 'dout');
  for (let i = 0; i < n; i++) dinp[i] = dinp[i]! + dout[i]! * df(saved[i]!);
};

/** GELU, exact erf form (HF "gelu"): x Phi(x); derivative Phi(x) + x phi(x). */
export const geluForward = unaryForward((x) => 0.5 * x * (1 + erf(x / Math.SQRT2)));
export const geluBackward = unaryBackward((x) =>
  0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI));
export const tanhForward = unaryForward(Math.tanh);
export const tanhBackward = unaryBackward((y) => 1 - y * y);
export const reluForward = unaryForward((x) => (x > 0 ? x : 0));
export const reluBackward = unaryBackward((x) => (x > 0 ? 1 : 0));

function checkIds(ids: Int32Array, V: number): void {
  for (const id of ids) if (id < 0 || id >= V) throw new Error(`reference: id ${id} is outside [0, ${V})`);
}

/** out (N, C) = rows of weight (V, C) at ids (N). */
export function embeddingForward(out: Vec, ids: Int32Array, weight: Vec, N: number, C: number, V: number): void {
  need(out, N * C, 'out'); need(ids, N, 'ids'); need(weight, V * C, 'weight');
  checkIds(ids, V);
  for (let i = 0; i < N; i++) for (let j = 0; j < C; j++) out[i * C + j] = weight[ids[i]! * C + j]!;
}

/** dweight rows at ids += dout rows, skipping ids equal to paddingIdx (-1: none). */
export function embeddingBackward(dweight: Vec, dout: Vec, ids: Int32Array, N: number, C: number, V: number,
  paddingIdx: number): void {
  need(dweight, V * C, 'dweight'); need(dout, N * C, 'dout'); need(ids, N, 'ids');
  checkIds(ids, V);
  for (let i = 0; i < N; i++) {
    if (ids[i] === paddingIdx) continue;
    for (let j = 0; j < C; j++) dweight[ids[i]! * C + j] = dweight[ids[i]! * C + j]! + dout[i * C + j]!;
  }
}

/** out = x + y. */
export function add(out: Vec, x: Vec, y: Vec, n: number): void {
  need(out, n, 'out'); need(x, n, 'x'); need(y, n, 'y');
  for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!;
}

/** dst += alpha * src. */
export function addInto(dst: Vec, src: Vec, n: number, alpha: number): void {
  need(dst, n, 'dst'); need(src, n, 'src');
  for (let i = 0; i < n; i++) dst[i] = dst[i]! + alpha * src[i]!;
}

/** layernormBackward from the output: the input is rebuilt as x = (out - b) / w * (1 / rstd) + mean. */
export function layernormBackwardFromOutput(dinp: Vec, dw: Vec | null, db: Vec | null, dout: Vec, out: Vec, rstd: Vec, w: Vec, b: Vec,
  N: number, C: number): void {
  need(out, N * C, 'out'); need(rstd, N, 'rstd'); need(w, C, 'weight'); need(b, C, 'bias');
  // With mean 0, x = xhat / rstd has the same xhat and rstd, and LayerNorm's gradients depend on x only through them.
  const x = new Float64Array(N * C), mean = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let j = 0; j < C; j++) x[i * C + j] = (out[i * C + j]! - b[j]!) / w[j]! / rstd[i]!;
  layernormBackward(dinp, dw, db, dout, x, mean, rstd, w, N, C);
}

/** LayerNorm(x + y); sum (N, C) receives x + y unless null. */
export function addLayernormForward(out: Vec, sum: Vec | null, mean: Vec, rstd: Vec, x: Vec, y: Vec, w: Vec, b: Vec,
  N: number, C: number, eps: number): void {
  need(x, N * C, 'x'); need(y, N * C, 'y');
  const s = sum ?? new Float64Array(N * C);
  add(s, x, y, N * C);
  layernormForward(out, mean, rstd, s, w, b, N, C, eps);
}

/**
 * The kernels NativeKernels has a reference for: all but threads, memory and dropout. linearPacked
 * is matmul with a cached weight layout (its reference is `linearPackedRef`); clearPacked is cache
 * housekeeping; adviseHugePages is memory advice; the signal pair is process control.
 */
export type ReferenceKernels = Omit<NativeKernels, 'threads' | 'setThreads' | 'adviseHugePages' | 'watchSignals' | 'pendingSignal' | 'unwatchSignals' | 'dropoutForward' | 'dropoutBackward' | 'linearPacked' | 'clearPacked'>;

/** Every reference kernel under its NativeKernels name, plus the softmax pieces of attention. */
export const reference = {
  matmul, biasGrad, attentionForward, attentionBackward, layernormForward, addLayernormForward, layernormBackward,
  layernormBackwardFromOutput,
  geluForward, geluBackward, tanhForward, tanhBackward, reluForward, reluBackward,
  embeddingForward, embeddingBackward, add, addInto,
  crossEntropyForward, crossEntropyBackward, klDivForward, klDivBackward,
  cosineEmbeddingForward, cosineEmbeddingBackward, mseForward, mseBackward, gradNorm, adamwStep,
  maskedSoftmaxForward, softmaxBackward,
} satisfies ReferenceKernels & Record<string, unknown>;
