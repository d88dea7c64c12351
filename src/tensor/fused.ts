// Fused ops: one kernel for a chain of ops, so the intermediate never makes a round trip through
// memory. Each equals its unfused chain (test/fused.test.ts) and has the same backward.
// Legend: N rows (= B * T), C hidden size, K input features, F output features.
import { arena } from './arena.js';
import { native } from './native.js';
import { gelu, layerNorm, linear } from './ops.js';
import { getPrecision, PRECISION_CODE } from './precision.js';
import { Tensor, result, tape } from './tensor.js';

const last = (t: Tensor): number => t.shape[t.shape.length - 1]!;

/**
 * GELU(x (..., K) . W^T + b) -> (..., F), W (F, K). At inference the GELU is a post-op of the
 * matmul's write-back; with a backward it is linear then gelu (GELU's backward needs its input).
 */
export function linearGelu(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const grad = x.requiresGrad || w.requiresGrad || b.requiresGrad;
  if (grad || !w.version || last(x) !== w.shape[1]) return gelu(linear(x, w, b));
  const [F, K] = w.shape as [number, number];
  const M = x.size / K;
  const y = result(arena.alloc(M * F), [...x.shape.slice(0, -1), F], [x, w, b]);
  native.linearPacked(y.data, x.data, w.data, b.data, M, F, K, w.version(), PRECISION_CODE[getPrecision()], true);
  return y;
}

/**
 * y (..., N) = GELU(u (..., K)) . W^T + b, W (N, K), keeping only u for the backward: GELU(u) is
 * recomputed there into a temporary. In a BERT FFN u is the (B, T, 4C) pre-activation, which GELU's
 * backward needs anyway; GELU(u), as large, is what a plain gelu-then-linear chain would also keep
 * (for W's gradient). Same values and gradients as linear(gelu(u), w, b).
 */
export function geluLinear(u: Tensor, w: Tensor, b: Tensor): Tensor {
  const [N, K] = w.shape as [number, number];
  if (last(u) !== K) throw new Error(`geluLinear ${w.name}: input has ${last(u)} features, weight [${w.shape}] expects ${K}`);
  const M = u.size / K;
  const bf16 = getPrecision() !== 'fp32';
  const g = arena.alloc(u.size);
  native.geluForward(g, u.data, u.size);
  const y = result(arena.alloc(M * N), [...u.shape.slice(0, -1), N], [u, w, b]);
  native.matmul(y.data, g, w.data, b.data, 1, M, N, K, false, true, false, bf16);
  arena.release(g);
  if (y.requiresGrad)
    tape.record(y, () => {
      const dy = y.grad;
      if (!dy) return;
      if (w.requiresGrad || u.requiresGrad) {
        const g2 = arena.alloc(u.size);
        native.geluForward(g2, u.data, u.size);
        if (w.requiresGrad) native.matmul(w.gradBuf(), dy, g2, null, 1, N, K, M, true, false, true, bf16);
        if (u.requiresGrad) {
          // dg (M, K) = dy . W, then through GELU into du (accumulated).
          native.matmul(g2, dy, w.data, null, 1, M, K, N, false, false, false, bf16);
          native.geluBackward(u.gradBuf(), u.data, g2, u.size);
        }
        arena.release(g2);
      }
      if (b.requiresGrad) native.biasGrad(b.gradBuf(), dy, M, N);
    });
  return y;
}

/**
 * The FFN of a layer, GELU(x W1^T + b1) W2^T + b2: with a backward, the pre-activation is kept and
 * GELU recomputed (geluLinear); at inference GELU is the first product's post-op (linearGelu).
 */
export function ffn(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor {
  const grad = tape.enabled && [x, w1, b1, w2, b2].some((t) => t.requiresGrad);
  if (!grad || getPrecision() === 'int8') {
    const h = linearGelu(x, w1, b1);
    const y = linear(h, w2, b2);
    if (!y.requiresGrad) arena.release(h.data); // inference: the (N, F) activation is spent
    return y;
  }
  return geluLinear(linear(x, w1, b1), w2, b2);
}

/**
 * Smallest |LayerNorm weight| at which the backward divides by it: (out - b) / w then loses at most
 * ~100x float32 rounding of `out`, some 1e-5 relative, well inside the bf16 products around it.
 */
const MIN_WEIGHT = 1e-2;

/**
 * LayerNorm(x + y) over the last dimension: a post-LN layer's residual and norm in one pass over
 * the rows; its gradient goes to both x and y. The backward works from the output (which the next
 * sublayer keeps anyway), so the sum x + y is not kept (unless a weight is near 0).
 */
export function addLayerNorm(x: Tensor, y: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const C = last(x), N = x.size / C;
  if (y.size !== x.size || last(y) !== C) throw new Error(`addLayerNorm: shapes [${x.shape}] and [${y.shape}] differ`);
  if (w.size !== C || b.size !== C) return layerNorm(x, w, b, eps); // same error message as the unfused op
  const out = result(arena.alloc(x.size), x.shape, [x, y, w, b]);
  // The backward rebuilds the normalized sum from the output while every |w| >= MIN_WEIGHT; only
  // otherwise is the (N, C) sum kept.
  const fromOutput = out.requiresGrad && w.data.every((v) => Math.abs(v) >= MIN_WEIGHT);
  const sum = out.requiresGrad && !fromOutput ? arena.alloc(x.size) : null;
  const mean = arena.alloc(N), rstd = arena.alloc(N);
  native.addLayernormForward(out.data, sum, mean, rstd, x.data, y.data, w.data, b.data, N, C, eps);
  if (out.requiresGrad)
    tape.record(out, () => {
      if (!out.grad) return;
      const dsum = arena.zeros(x.size);
      const [dw, db] = [w.requiresGrad ? w.gradBuf() : null, b.requiresGrad ? b.gradBuf() : null];
      if (fromOutput) native.layernormBackwardFromOutput(dsum, dw, db, out.grad, out.data, rstd, w.data, b.data, N, C);
      else native.layernormBackward(dsum, dw, db, out.grad, sum!, mean, rstd, w.data, N, C);
      // dsum is read only here: the first input without a gradient buffer takes it over.
      let handed = false;
      for (const t of x === y ? [x, x] : [x, y]) {
        if (!t.requiresGrad) continue;
        if (!handed && !t.grad) {
          t.grad = dsum;
          handed = true;
        } else native.addInto(t.gradBuf(), dsum, t.size, 1);
      }
      if (!handed) arena.release(dsum);
    });
  return out;
}
