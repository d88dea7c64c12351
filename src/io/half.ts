// 16-bit float encodings of float32 data, as raw bit patterns (Uint16Array) for safetensors F16 /
// BF16 tensors and ONNX bfloat16 initializers. Both round to nearest even, as PyTorch's
// `tensor.half()` / `tensor.bfloat16()` do.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * float32 -> bfloat16 bits, round to nearest even on the 16 dropped bits; NaN stays a (quiet) NaN
 * rather than rounding into infinity.
 */
export function toBfloat16(x: Float32Array): Uint16Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** Round `mant` right by `shift` bits to nearest even. */
function shiftRoundEven(mant: number, shift: number): number {
  const kept = mant >>> shift, rest = mant & ((1 << shift) - 1), half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** One float32 -> IEEE half bits: overflow (|x| >= 65520) to infinity, tiny values to subnormals or zero. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff, mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25)
    return sign | shiftRoundEven(mant | 0x800000, 14 - e);
  }
  // A carry out of the mantissa moves into the exponent, which is the correct rounding (up to infinity).
  return sign | ((e << 10) + shiftRoundEven(mant, 13));
}

/** float32 -> IEEE half bits, round to nearest even. */
export function toFloat16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32ToF16Bits(x[i]!);
  return out;
}
