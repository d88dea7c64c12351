// `distil convert`: rewrite a model directory's weights in another float dtype. F16 halves the file
// (how the embedded teacher under models/ is stored); loading widens back to float32, so a
// converted model computes in fp32 with weights rounded to 11 significant bits (F16) or 8 (BF16).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toBfloat16, toFloat16 } from './half.js';
import { f16ToF32, readSafetensors, writeSafetensors, type TensorToWrite } from './safetensors.js';

export const CONVERT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type ConvertDtype = (typeof CONVERT_DTYPES)[number];

const WEIGHTS = 'model.safetensors';
const FLOATS = new Set(['F32', 'F16', 'BF16', 'F64']);

export interface ConvertReport {
  tensors: number;
  bytesIn: number;
  bytesOut: number;
  /** Largest |converted - original| relative to the tensor's largest |value|, over all tensors. */
  maxRelError: number;
}

/**
 * Write `out`: every file of `dir` copied, and model.safetensors with each float tensor in `dtype`
 * (integer tensors and metadata kept). A value past F16's range (65504) is an error, not an infinity.
 */
export function convertModel(dir: string, out: string, dtype: ConvertDtype): ConvertReport {
  const src = path.join(dir, WEIGHTS);
  if (!fs.existsSync(src)) throw new Error(`${src}: no such file; --model must be a directory with ${WEIGHTS}`);
  if (path.resolve(dir) === path.resolve(out)) throw new Error(`--out ${out} is the --model directory; write the converted model elsewhere`);
  const file = readSafetensors(src);
  const tensors: TensorToWrite[] = [];
  let maxRelError = 0;
  for (const [name, info] of file.tensors) {
    if (!FLOATS.has(info.dtype)) {
      if (info.dtype !== 'I64') throw new Error(`${src}: tensor "${name}" has dtype ${info.dtype}; convert keeps only float and I64 tensors`);
      tensors.push({ name, dtype: 'I64', shape: info.shape, data: file.int64(name) });
      continue;
    }
    const x = file.float32(name);
    if (dtype === 'F32') {
      tensors.push({ name, dtype, shape: info.shape, data: Float32Array.from(x) });
      continue;
    }
    const bits = dtype === 'F16' ? toFloat16(x) : toBfloat16(Float32Array.from(x));
    const back = readBack(bits, dtype);
    let absMax = 0, err = 0;
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(back[i]!) && Number.isFinite(x[i]!))
        throw new Error(`${src}: tensor "${name}" holds ${x[i]} at element ${i}, outside the ${dtype} range; keep it F32 (or use BF16)`);
      absMax = Math.max(absMax, Math.abs(x[i]!));
      err = Math.max(err, Math.abs(back[i]! - x[i]!));
    }
    if (absMax > 0) maxRelError = Math.max(maxRelError, err / absMax);
    tensors.push({ name, dtype, shape: info.shape, data: bits });
  }
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(dir))
    if (f !== WEIGHTS && fs.statSync(path.join(dir, f)).isFile()) fs.copyFileSync(path.join(dir, f), path.join(out, f));
  writeSafetensors(path.join(out, WEIGHTS), tensors, file.metadata);
  return { tensors: tensors.length, bytesIn: fs.statSync(src).size, bytesOut: fs.statSync(path.join(out, WEIGHTS)).size, maxRelError };
}

/** The float32 values of 16-bit patterns, through the reader's own decoding. */
function readBack(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  const out = new Float32Array(bits.length);
  if (dtype === 'BF16') {
    new Uint32Array(out.buffer).set(Uint32Array.from(bits, (b) => b << 16));
    return out;
  }
  for (let i = 0; i < bits.length; i++) out[i] = f16ToF32(bits[i]!);
  return out;
}
