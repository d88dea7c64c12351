// Plain float64 reference of the optimizer kernels (native/optim.cc): the global gradient L2 norm
// and one AdamW step in PyTorch 1.13's operation order (torch/optim/_functional.py `adamw`).
import type { Vec } from './reference.js';

/** sqrt(sum grad^2) over the first n elements. */
export function gradNorm(grad: Vec, n: number): number {
  if (grad.length !== n) throw new Error(`reference: 'grad' has ${grad.length} elements, expected ${n}`);
  let s = 0;
  for (let i = 0; i < n; i++) s += grad[i]! * grad[i]!;
  return Math.sqrt(s);
}

/**
 * One AdamW step, in place on param, m (exp_avg), v (exp_avg_sq); step counts from 1 and
 * g = gradScale * grad (the clipping factor):
 *   p *= 1 - lr wd                        where decayMask[i] = 1 (everywhere when null)
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
export function adamwStep(param: Vec, grad: Vec, m: Vec, v: Vec, decayMask: Uint8Array | null, n: number, lr: number,
  beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void {
  for (const [x, what] of [[param, 'param'], [grad, 'grad'], [m, 'm'], [v, 'v']] as const)
    if (x.length !== n) throw new Error(`reference: '${what}' has ${x.length} elements, expected ${n}`);
  if (!(step >= 1)) throw new Error('reference: step counts from 1');
  const stepSize = lr / (1 - beta1 ** step), bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  for (let i = 0; i < n; i++) {
    const g = grad[i]! * gradScale;
    if (!decayMask || decayMask[i]) param[i] = param[i]! * (1 - lr * weightDecay);
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    param[i] = param[i]! - (stepSize * m[i]!) / (Math.sqrt(v[i]!) / bc2Sqrt + eps);
  }
}
