// Compute precision of the matrix products, scoped like torch.autocast (withPrecision):
//   fp32  everything in float32 (the default, and the reference for every test);
//   bf16  linear layers and matmuls round their operands to bfloat16 and accumulate in fp32
//         (training: weights, gradients, optimizer and losses stay fp32 — mixed precision);
//   int8  inference only: linear layers quantize activations to uint8 per tensor and weights to
//         int8 per output channel (onnxruntime's dynamic quantization).
// Attention scores, softmax, LayerNorm, GELU and the losses always run in fp32.

export type Precision = 'fp32' | 'bf16' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'int8'];
export const TRAIN_PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** The native kernels' code for each precision (native/linear_packed.cc). */
export const PRECISION_CODE: Record<Precision, number> = { fp32: 0, bf16: 1, int8: 2 };

let current: Precision = 'fp32';

export function getPrecision(): Precision {
  return current;
}

/**
 * Run fn under precision p, restoring the previous one after (also on throw); the only way to set
 * it. An async fn keeps p until its promise settles, so two async runs under different precisions
 * must not overlap in one process (the CLI runs one command).
 */
export function withPrecision<T>(p: Precision, fn: () => T): T {
  if (!PRECISIONS.includes(p)) throw new Error(`unknown precision "${String(p)}": expected one of ${PRECISIONS.join(', ')}`);
  const prev = current;
  current = p;
  let pending = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      pending = true;
      return r.finally(() => {
        current = prev;
      }) as T;
    }
    return r;
  } finally {
    if (!pending) current = prev;
  }
}

/** Parse a --precision value, accepting only `allowed` (training commands reject int8). */
export function parsePrecision(v: string, allowed: readonly Precision[] = PRECISIONS): Precision {
  if (!(allowed as readonly string[]).includes(v))
    throw new Error(`--precision must be one of ${allowed.join(', ')} (got "${v}")` +
      (v === 'int8' ? ': int8 is for inference; train in bf16 and quantize the result' : ''));
  return v as Precision;
}
