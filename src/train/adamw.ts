// AdamW over a model's flat parameter buffer (PyTorch semantics), with global gradient-norm clipping
// fused into the same pass (torch.nn.utils.clip_grad_norm_: scale = max_norm / (norm + 1e-6) when < 1).
import { newFloats } from '../tensor/arena.js';
import { native } from '../tensor/native.js';
import type { ParamStore } from '../tensor/param_store.js';

export interface AdamWConfig {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  /** Clip the global gradient norm to this value; 0 or Infinity disables clipping. */
  max_grad_norm: number;
}

/** Reference distiller defaults (docs/method.md §7). */
export const DISTILLER_ADAMW: AdamWConfig = { lr: 5e-4, betas: [0.9, 0.98], eps: 1e-6, weight_decay: 0, max_grad_norm: 5.0 };

export class AdamW {
  /** First and second moments, same layout as the parameters. */
  readonly expAvg: Float32Array;
  readonly expAvgSq: Float32Array;
  /** Optimizer steps taken so far. */
  step = 0;
  private readonly decayMask: Uint8Array;

  constructor(private readonly params: ParamStore, readonly config: AdamWConfig) {
    this.expAvg = newFloats(params.size);
    this.expAvgSq = newFloats(params.size);
    this.decayMask = params.decayMask();
  }

  /**
   * One update with learning rate `lr` (from the schedule); returns the pre-clip gradient norm.
   * A NaN or infinite norm applies nothing (parameters, moments and step count stay as they were):
   * one such update would turn every parameter into NaN, and the caller decides what to do.
   */
  update(lr = this.config.lr): number {
    const grad = this.params.grad;
    if (!grad) throw new Error('AdamW.update: the model has no gradients (call enableGrad and backward first)');
    const c = this.config;
    const norm = native.gradNorm(grad, grad.length);
    if (!Number.isFinite(norm)) return norm;
    const clip = c.max_grad_norm > 0 && Number.isFinite(c.max_grad_norm) ? c.max_grad_norm / (norm + 1e-6) : 1;
    this.step++;
    this.params.touch();
    native.adamwStep(this.params.data, grad, this.expAvg, this.expAvgSq, this.decayMask, grad.length, lr,
      c.betas[0], c.betas[1], c.eps, c.weight_decay, this.step, Math.min(1, clip));
    return norm;
  }
}
