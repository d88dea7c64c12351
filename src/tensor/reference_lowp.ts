// Plain references for the low-precision kernels (native/lowp.cc, the bf16 matmul and the int8
// linear layer), written for clarity in float64 loops: the tests compare the fast kernels to them.
// Legend: M rows, N output features, K input features.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to bfloat16 (round to nearest, ties to even) and widened back to float32. */
export function bf16Round(x: number): number {
  f32[0] = x;
  if (Number.isNaN(f32[0])) return NaN;
  const u = u32[0]!;
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) << 16;
  return f32[0];
}

/** Round half to even, as C's nearbyint in the default rounding mode. */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x ~= scale (q - zeroPoint), q in [0, 255] over [min(0, min x), max(0, max x)] (DynamicQuantizeLinear). */
export function quantizeU8(x: ArrayLike<number>): { q: Uint8Array; scale: number; zeroPoint: number } {
  let lo = 0, hi = 0;
  for (let i = 0; i < x.length; i++) lo = Math.min(lo, x[i]!), hi = Math.max(hi, x[i]!);
  let scale = Math.fround(Math.fround(hi - lo) / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) scale = 1;
  const zeroPoint = Math.min(255, Math.max(0, roundEven(Math.fround(-lo / scale))));
  const inv = Math.fround(1 / scale);
  const q = Uint8Array.from(x, (v) => Math.min(255, Math.max(0, roundEven(Math.fround(v * inv)) + zeroPoint)));
  return { q, scale, zeroPoint };
}

/** W (N, K) -> int8 rows with scale[n] = max |W[n]| / 127 (1 for a zero row). */
export function quantizeRowsS8(W: ArrayLike<number>, N: number, K: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(N * K), scale = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(W[n * K + k]!));
    scale[n] = m > 0 ? m / 127 : 1;
    const inv = Math.fround(1 / scale[n]!);
    for (let k = 0; k < K; k++) q[n * K + k] = Math.min(127, Math.max(-127, roundEven(Math.fround(W[n * K + k]! * inv))));
  }
  return { q, scale };
}

/** Y (M, N) = dequant(quant(X) . quant(W)^T) + bias: the int8 linear layer (linear_packed.cc). */
export function linearInt8(Y: Float32Array, X: ArrayLike<number>, W: ArrayLike<number>, bias: ArrayLike<number> | null,
  M: number, N: number, K: number): void {
  const x = quantizeU8(X), w = quantizeRowsS8(W, N, K);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (x.q[m * K + k]! - x.zeroPoint) * w.q[n * K + k]!;
      Y[m * N + n] = x.scale * w.scale[n]! * acc + (bias ? bias[n]! : 0);
    }
}
