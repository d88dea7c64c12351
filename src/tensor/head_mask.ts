// Head masking as a differentiable op (Michel et al. 2019, "Are Sixteen Heads Really Better than
// One?", §3.1): each head's context is scaled by a gate m_h. HF's head_mask multiplies the attention
// probabilities of head h by m_h, which scales that head's context P_h V_h alike. The gradient
// w.r.t. the gates is the head importance of §4.1. Plain loops, no native kernel: B*T*C work, small
// next to the attention itself.
// Legend: B batch, T sequence, H heads (of the layer), D head size.
import { arena } from './arena.js';
import { result, tape, type Tensor } from './tensor.js';

/** y (B, T, H*D) = ctx with head h's D columns times mask[h]; mask (H). */
export function headMask(ctx: Tensor, mask: Tensor): Tensor {
  const H = mask.size, A = ctx.shape[ctx.shape.length - 1]!;
  if (H === 0 || A % H !== 0) throw new Error(`headMask: ${A} context features do not split into ${H} heads`);
  const D = A / H, rows = ctx.size / A;
  const y = result(arena.alloc(ctx.size), ctx.shape, [ctx, mask]);
  const x = ctx.data, m = mask.data, yd = y.data;
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < H; h++) {
      const o = r * A + h * D, g = m[h]!;
      for (let d = 0; d < D; d++) yd[o + d] = x[o + d]! * g;
    }
  if (y.requiresGrad)
    tape.record(y, () => {
      const dy = y.grad;
      if (!dy) return;
      // dctx = mask[h] * dy; dmask[h] = sum over b, t, d of ctx * dy.
      const dx = ctx.requiresGrad ? ctx.gradBuf() : null, dm = mask.requiresGrad ? mask.gradBuf() : null;
      for (let r = 0; r < rows; r++)
        for (let h = 0; h < H; h++) {
          const o = r * A + h * D, g = m[h]!;
          let s = 0;
          for (let d = 0; d < D; d++) {
            if (dx) dx[o + d] = dx[o + d]! + g * dy[o + d]!;
            s += x[o + d]! * dy[o + d]!;
          }
          if (dm) dm[h] = dm[h]! + s;
        }
    });
  return y;
}
