// Learning-rate schedule of the reference (transformers' get_linear_schedule_with_warmup): linear
// warmup from 0 over `warmup` optimizer steps, then linear decay to 0 at `total`.

export interface LinearSchedule {
  lr: number;
  warmup: number;
  total: number;
}

/** Steps of warmup for a proportion (distiller.py: ceil(total * warmup_prop)). */
export const warmupSteps = (total: number, warmupProp: number): number => Math.ceil(total * warmupProp);

/** Learning rate for optimizer step `step` (0-based: the first update uses step 0). */
export function learningRate(s: LinearSchedule, step: number): number {
  if (step < s.warmup) return (s.lr * step) / Math.max(1, s.warmup);
  return s.lr * Math.max(0, (s.total - step) / Math.max(1, s.total - s.warmup));
}
