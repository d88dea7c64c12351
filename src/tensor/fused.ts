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
 * LayerNorm(x + y) over the last dimension: a post-LN layer's residual and norm in one pass over
 * the rows. The sum is kept only when a backward needs it; its gradient goes to both x and y.
 */
export function addLayerNorm(x: Tensor, y: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const C = last(x), N = x.size / C;
  if (y.size !== x.size || last(y) !== C) throw new Error(`addLayerNorm: shapes [${x.shape}] and [${y.shape}] differ`);
  if (w.size !== C || b.size !== C) return layerNorm(x, w, b, eps); // same error message as the unfused op
  const out = result(arena.alloc(x.size), x.shape, [x, y, w, b]);
  const sum = out.requiresGrad ? arena.alloc(x.size) : null;
  const mean = arena.alloc(N), rstd = arena.alloc(N);
  native.addLayernormForward(out.data, sum, mean, rstd, x.data, y.data, w.data, b.data, N, C, eps);
  if (out.requiresGrad)
    tape.record([out], () => {
      if (!out.grad) return;
      const dsum = arena.zeros(x.size);
      native.layernormBackward(dsum, w.requiresGrad ? w.gradBuf() : null, b.requiresGrad ? b.gradBuf() : null,
        out.grad, sum!, mean, rstd, w.data, N, C);
      // dsum is read only here: the first input without a gradient buffer takes it over.
      let handed = false;
      for (const t of x === y ? [x, x] : [x, y]) {
        if (!t.requiresGrad) continue;
        if (!handed && !t.grad) {
          t.grad = dsum;
          handed = true;
        } else native.addInto(t.gradBuf(), dsum, t.size, 1);
      }
    });
  return out;
}
