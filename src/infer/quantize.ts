// Weight formats of the reduced-precision ONNX exports (src/infer/onnx_export.ts): symmetric int8
// per output channel, as onnxruntime's `quantize_dynamic(per_channel=True, weight_type=QInt8)`
// stores MatMul weights, and bfloat16 (io/half.ts).
// Legend: N output features (rows of a PyTorch weight), K input features.
export { toBfloat16 } from '../io/half.js';

/** numpy.rint: round half to even, which onnxruntime's quantizer uses (2.5 -> 2, 3.5 -> 4). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up: 2.5 -> 3, -2.5 -> -2
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * One value to symmetric int8: rint(x / scale) clamped to [-127, 127]. -128 is left out so the
 * range is symmetric and zero point 0 exact (onnxruntime's qmin for symmetric int8 weights).
 */
export function quantizeInt8(x: number, scale: number): number {
  return Math.min(127, Math.max(-127, roundHalfEven(x / scale)));
}

export interface Int8Weight {
  /** Quantized W^T, (K, N) row-major: the MatMulInteger B input. */
  q: Int8Array;
  /** Per output channel: scale[n] = max_k |W[n, k]| / 127 (1 for an all-zero row), (N). */
  scale: Float32Array;
}

/**
 * Quantize a PyTorch linear weight W [N, K] per output channel, symmetric, zero point 0, and
 * transpose it to the (K, N) layout MatMul takes, so W[n, k] ~= q[k, n] * scale[n].
 */
export function quantizeWeightInt8(w: Float32Array, shape: readonly number[]): Int8Weight {
  const [N, K] = shape as [number, number];
  if (w.length !== N * K) throw new Error(`quantizeWeightInt8: ${w.length} values for shape [${N}, ${K}]`);
  const q = new Int8Array(K * N);
  const scale = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let absMax = 0;
    for (let k = 0; k < K; k++) absMax = Math.max(absMax, Math.abs(w[n * K + k]!));
    // Rounded to float32 first: the graph stores this value and dequantizes with it.
    const s = absMax > 0 ? Math.fround(absMax / 127) : 1;
    scale[n] = s;
    for (let k = 0; k < K; k++) q[k * N + n] = quantizeInt8(w[n * K + k]!, s);
  }
  return { q, scale };
}

