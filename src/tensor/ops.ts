// Differentiable ops: each runs a native forward kernel and records the matching backward.
// Legend: N rows (= B * T when flattened), C hidden size, K input features, V vocabulary.
import { arena } from './arena.js';
import { native } from './native.js';
import { getPrecision, PRECISION_CODE } from './precision.js';
import { Tensor, result, tape } from './tensor.js';

const rows = (t: Tensor): number => t.size / t.shape[t.shape.length - 1]!;
const last = (t: Tensor): number => t.shape[t.shape.length - 1]!;

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] differ`);
}

/**
 * y (..., N) = x (..., K) . W^T + b, with W (N, K) stored as a PyTorch Linear weight, in the current
 * precision (precision.ts); the backward products use the precision of the forward.
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const [N, K] = w.shape as [number, number];
  if (last(x) !== K) throw new Error(`linear ${w.name}: input has ${last(x)} features, weight [${w.shape}] expects ${K}`);
  const M = rows(x);
  const y = result(arena.alloc(M * N), [...x.shape.slice(0, -1), N], [x, w, ...(b ? [b] : [])]);
  const precision = getPrecision();
  if (y.requiresGrad && precision === 'int8')
    throw new Error(`linear ${w.name}: int8 is for inference only; train in fp32 or bf16`);
  const bf16 = precision === 'bf16';
  // Without a backward (inference, the teacher), weights are read from a cached repacked copy.
  if (!y.requiresGrad && w.version)
    native.linearPacked(y.data, x.data, w.data, b ? b.data : null, M, N, K, w.version(), PRECISION_CODE[precision]);
  else native.matmul(y.data, x.data, w.data, b ? b.data : null, 1, M, N, K, false, true, false, bf16);
  if (y.requiresGrad)
    tape.record(y, () => {
      const dy = y.grad;
      if (!dy) return;
      if (x.requiresGrad) native.matmul(x.gradBuf(), dy, w.data, null, 1, M, K, N, false, false, true, bf16);
      if (w.requiresGrad) native.matmul(w.gradBuf(), dy, x.data, null, 1, N, K, M, true, false, true, bf16);
      if (b?.requiresGrad) native.biasGrad(b.gradBuf(), dy, M, N);
    });
  return y;
}

/** C (batch, M, N) = op(A) . op(B); A (batch, M, K) or (batch, K, M) if transA; B likewise. bf16 operands under bf16 or int8. */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  const batch = a.shape.length === 3 ? a.shape[0]! : 1;
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2 || a.size !== batch * M * K || b.size !== batch * K * N)
    throw new Error(`matmul: shapes [${a.shape}]${transA ? '^T' : ''} and [${b.shape}]${transB ? '^T' : ''} do not match`);
  const shape = a.shape.length === 3 ? [batch, M, N] : [M, N];
  const c = result(arena.alloc(batch * M * N), shape, [a, b]);
  const bf16 = getPrecision() !== 'fp32';
  native.matmul(c.data, a.data, b.data, null, batch, M, N, K, transA, transB, false, bf16);
  if (c.requiresGrad)
    tape.record(c, () => {
      const dc = c.grad;
      if (!dc) return;
      // dA = dC . op(B)^T (stored transposed when transA); dB likewise.
      if (a.requiresGrad) {
        if (transA) native.matmul(a.gradBuf(), b.data, dc, null, batch, K, M, N, transB, true, true, bf16);
        else native.matmul(a.gradBuf(), dc, b.data, null, batch, M, K, N, false, !transB, true, bf16);
      }
      if (b.requiresGrad) {
        if (transB) native.matmul(b.gradBuf(), dc, a.data, null, batch, N, K, M, true, transA, true, bf16);
        else native.matmul(b.gradBuf(), a.data, dc, null, batch, K, N, M, !transA, false, true, bf16);
      }
    });
  return c;
}

/** LayerNorm over the last dimension (HF eps 1e-12). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const C = last(x), N = rows(x);
  if (w.size !== C || b.size !== C) throw new Error(`layerNorm ${w.name}: weight has ${w.size} elements, input has ${C} features`);
  const y = result(arena.alloc(x.size), x.shape, [x, w, b]);
  const mean = arena.alloc(N), rstd = arena.alloc(N);
  native.layernormForward(y.data, mean, rstd, x.data, w.data, b.data, N, C, eps);
  if (y.requiresGrad)
    tape.record(y, () => {
      if (!y.grad) return;
      const dx = x.requiresGrad ? x.gradBuf() : arena.alloc(x.size);
      native.layernormBackward(dx, w.requiresGrad ? w.gradBuf() : null, b.requiresGrad ? b.gradBuf() : null,
        y.grad, x.data, mean, rstd, w.data, N, C);
      if (!x.requiresGrad) arena.release(dx);
    });
  return y;
}

type Unary = 'gelu' | 'tanh' | 'relu';

function unary(x: Tensor, kind: Unary): Tensor {
  const y = result(arena.alloc(x.size), x.shape, [x]);
  native[`${kind}Forward`](y.data, x.data, x.size);
  if (y.requiresGrad)
    tape.record(y, () => {
      if (!y.grad) return;
      // tanh's derivative is a function of its output; GELU's and ReLU's of their input.
      native[`${kind}Backward`](x.gradBuf(), kind === 'tanh' ? y.data : x.data, y.grad, x.size);
    });
  return y;
}

/** GELU, exact erf form (HF "gelu"). */
export const gelu = (x: Tensor): Tensor => unary(x, 'gelu');
export const tanh = (x: Tensor): Tensor => unary(x, 'tanh');
export const relu = (x: Tensor): Tensor => unary(x, 'relu');

/** Inverted dropout with a counter-based mask from `seed`; identity when p = 0. */
export function dropout(x: Tensor, p: number, seed: number): Tensor {
  if (p === 0) return x;
  const y = result(arena.alloc(x.size), x.shape, [x]);
  native.dropoutForward(y.data, x.data, x.size, p, seed);
  if (y.requiresGrad)
    tape.record(y, () => {
      if (y.grad) native.dropoutBackward(x.gradBuf(), y.grad, x.size, p, seed);
    });
  return y;
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const y = result(arena.alloc(a.size), a.shape, [a, b]);
  native.add(y.data, a.data, b.data, a.size);
  if (y.requiresGrad)
    tape.record(y, () => {
      const dy = y.grad;
      if (!dy) return;
      // By now every consumer of y has run (reverse order), so dy is final and read only here:
      // the first input without a gradient buffer takes it over instead of a copy.
      let handed = false;
      for (const t of a === b ? [a] : [a, b]) {
        if (!t.requiresGrad) continue;
        const scale = a === b ? 2 : 1;
        if (!handed && !t.grad && scale === 1) {
          t.grad = dy;
          y.grad = null; // t owns the buffer now; the tape must not release it
          handed = true;
        } else native.addInto(t.gradBuf(), dy, t.size, scale);
      }
    });
  return y;
}

/**
 * Rows of `table` (V, C) at `ids` (N) -> (...idsShape, C). Used for embeddings and to select
 * hidden states at given positions; backward scatter-adds into the table's gradient, skipping rows
 * equal to `paddingIdx` (PyTorch's Embedding padding_idx; -1 for none).
 */
export function gatherRows(table: Tensor, ids: Int32Array, idsShape: number[] = [ids.length], paddingIdx = -1): Tensor {
  const [V, C] = [table.shape[0]!, table.size / table.shape[0]!];
  const y = result(arena.alloc(ids.length * C), [...idsShape, C], [table]);
  native.embeddingForward(y.data, ids, table.data, ids.length, C, V);
  if (y.requiresGrad)
    tape.record(y, () => {
      if (y.grad) native.embeddingBackward(table.gradBuf(), y.grad, ids, ids.length, C, V, paddingIdx);
    });
  return y;
}

/**
 * Multi-head self-attention core on (B, T, C) projections: softmax(q k^T / sqrt(D) + mask) v
 * with dropout on the probabilities. mask (B, T): 1 for tokens, 0 for padding. C = heads * D is the
 * projections' width, narrower than the hidden size in a layer with pruned heads.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: Int32Array | null, heads: number,
  dropoutP: number, seed: number): Tensor {
  const [B, T, C] = q.shape as [number, number, number];
  sameShape(q, k, 'attention');
  sameShape(q, v, 'attention');
  if (C % heads !== 0) throw new Error(`attention: hidden size ${C} is not divisible by ${heads} heads`);
  const D = C / heads;
  const ctx = result(arena.alloc(q.size), q.shape, [q, k, v]);
  // The probabilities are not kept: the backward recomputes them from q and k (native/attention.cc),
  // which saves B * H * T * T floats a layer for one extra q k^T product.
  native.attentionForward(ctx.data, null, q.data, k.data, v.data, mask, B, T, heads, D, dropoutP, seed);
  if (ctx.requiresGrad)
    tape.record(ctx, () => {
      if (!ctx.grad) return;
      native.attentionBackward(q.gradBuf(), k.gradBuf(), v.gradBuf(), ctx.grad, null, q.data, k.data, v.data, mask,
        B, T, heads, D, dropoutP, seed);
    });
  return ctx;
}

/** Scalar loss tensor whose backward calls `grad(g)` with the upstream gradient g. */
function scalarLoss(value: number, inputs: Tensor[], grad: (g: number) => void): Tensor {
  const loss = result(Float32Array.of(value), [], inputs);
  if (loss.requiresGrad) tape.record(loss, () => grad(loss.grad ? loss.grad[0]! : 0));
  return loss;
}

/**
 * Mean cross-entropy of logits (N, V) against targets (N), skipping `ignoreIndex` (-100). With
 * `consume`, the caller promises the loss is the logits' only reader: the backward then turns the
 * logits buffer into their gradient in place instead of allocating another (N, V) one.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array, ignoreIndex = -100, { consume = false } = {}): Tensor {
  const V = last(logits), N = rows(logits);
  if (targets.length !== N) throw new Error(`crossEntropy: ${targets.length} targets for ${N} rows of logits`);
  const value = native.crossEntropyForward(logits.data, targets, N, V, ignoreIndex);
  let count = 0;
  for (const t of targets) if (t !== ignoreIndex) count++;
  return scalarLoss(value, [logits], (g) => {
    if (count === 0) return;
    if (consume && !logits.grad) logits.grad = logits.data;
    native.crossEntropyBackward(logits.gradBuf(), logits.data, targets, N, V, ignoreIndex, g / count);
  });
}

/** KL(softmax(t/T) || softmax(s/T)) summed over V, mean over rows, times T^2 (distiller.py). */
export function klDivTemperature(s: Tensor, t: Tensor, temperature: number): Tensor {
  sameShape(s, t, 'klDivTemperature');
  const V = last(s), N = rows(s);
  const value = native.klDivForward(s.data, t.data, N, V, temperature);
  return scalarLoss(value, [s], (g) => native.klDivBackward(s.gradBuf(), s.data, t.data, N, V, temperature, g));
}

/** Mean over rows of 1 - cos(x_i, y_i): CosineEmbeddingLoss with target +1. */
export function cosineEmbedding(x: Tensor, y: Tensor): Tensor {
  sameShape(x, y, 'cosineEmbedding');
  const C = last(x), N = rows(x);
  const value = native.cosineEmbeddingForward(x.data, y.data, N, C);
  return scalarLoss(value, [x, y], (g) =>
    native.cosineEmbeddingBackward(x.requiresGrad ? x.gradBuf() : null, y.requiresGrad ? y.gradBuf() : null,
      x.data, y.data, N, C, g));
}

/** Sum of squared differences (MSELoss reduction "sum"). */
export function mseSum(x: Tensor, y: Tensor): Tensor {
  sameShape(x, y, 'mseSum');
  const value = native.mseForward(x.data, y.data, x.size);
  return scalarLoss(value, [x, y], (g) =>
    native.mseBackward(x.requiresGrad ? x.gradBuf() : null, y.requiresGrad ? y.gradBuf() : null, x.data, y.data, x.size, g));
}

/** sum_i weights[i] * terms[i] for scalar tensors (the distiller's weighted loss). */
export function weightedSum(terms: Array<[Tensor, number]>): Tensor {
  let value = 0;
  for (const [t, w] of terms) value += w * t.item();
  const inputs = terms.map(([t]) => t);
  return scalarLoss(value, inputs, (g) => {
    for (const [t, w] of terms) {
      if (!t.requiresGrad) continue;
      const gt = t.gradBuf();
      gt[0] = gt[0]! + g * w;
    }
  });
}
