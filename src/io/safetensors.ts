// Reader and writer for the safetensors format (Hugging Face `safetensors`, the format of
// `model.safetensors` on the Hub). Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON
// header, then the data section. The header maps each tensor name to
// {dtype, shape, data_offsets: [begin, end]} with offsets relative to the data section, plus an
// optional "__metadata__" map of strings. Tensor bytes are little-endian, C order.
// The writer reproduces the reference Rust serializer (safetensors/src/tensor.rs `prepare`) byte for byte.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { numel } from '../tensor/param_store.js';
import { atomicWriteFile } from './atomic.js';

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element. */
const DTYPE_SIZE: Record<Dtype, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/**
 * Position in the reference `Dtype` enum, which is declared in increasing alignment order; the
 * writer lays tensors out by descending rank then name, so every tensor's data stays aligned.
 */
const DTYPE_RANK: Record<Dtype, number> = { BOOL: 0, U8: 1, I8: 2, I16: 5, F16: 7, BF16: 8, I32: 9, F32: 11, F64: 12, I64: 13 };

/** The reference reader refuses headers above 100 MB (MAX_HEADER_SIZE): nothing legitimate is that large. */
const MAX_HEADER_BYTES = 100_000_000;

// Zero-copy views and the raw writes reinterpret memory, which is only right on little-endian hosts
// (every platform Node ships for today); fail loudly rather than load byte-swapped weights.
if (os.endianness() !== 'LE') throw new Error('src/io/safetensors.ts assumes a little-endian host');

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  /** Offset of the tensor's first byte from the start of the file (not of the data section). */
  byteOffset: number;
  byteLength: number;
}

type IntArray = Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;
type ViewCtor<T> = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T; BYTES_PER_ELEMENT: number };

/** A parsed, validated safetensors file held in memory. Typed arrays it returns may alias the file buffer: copy before mutating. */
export class SafeFile {
  constructor(
    readonly path: string,
    readonly metadata: Record<string, string>,
    /** In file order (by offset). */
    readonly tensors: Map<string, TensorInfo>,
    private readonly bytes: Buffer,
  ) {}

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t) return t;
    const some = [...this.tensors.keys()].slice(0, 5).join(', ');
    throw new Error(`${this.path}: no tensor named "${name}" (the file has ${this.tensors.size}, e.g. ${some || 'none'}); check the key`);
  }

  /** Float data as F32: zero-copy for 4-byte-aligned F32, converted from F16/BF16/F64. */
  float32(name: string): Float32Array {
    const t = this.info(name);
    switch (t.dtype) {
      case 'F32':
        return this.view(Float32Array, t);
      case 'F64':
        return Float32Array.from(this.view(Float64Array, t));
      case 'F16': {
        const bits = this.view(Uint16Array, t);
        const out = new Float32Array(bits.length);
        for (let i = 0; i < bits.length; i++) out[i] = f16ToF32(bits[i]);
        return out;
      }
      case 'BF16': {
        // bf16 is the top half of an f32, so widening is a shift into the f32 bit pattern.
        const bits = this.view(Uint16Array, t);
        const out = new Float32Array(bits.length);
        const outBits = new Uint32Array(out.buffer);
        for (let i = 0; i < bits.length; i++) outBits[i] = bits[i] << 16;
        return out;
      }
      default:
        throw new Error(`${this.path}: tensor "${name}" has integer dtype ${t.dtype}, not a float; read it with int32()/int64()`);
    }
  }

  /** Integer data as I64 (zero-copy when aligned), widened from narrower integer dtypes. */
  int64(name: string): BigInt64Array {
    const src = this.ints(name);
    return src instanceof BigInt64Array ? src : BigInt64Array.from(src, (v) => BigInt(v));
  }

  /** Integer data as I32; I64 values (PyTorch's default for ids) are narrowed with a range check. */
  int32(name: string): Int32Array {
    const src = this.ints(name);
    if (src instanceof Int32Array) return src;
    if (!(src instanceof BigInt64Array)) return Int32Array.from(src);
    const out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v < -2147483648n || v > 2147483647n) {
        throw new Error(`${this.path}: tensor "${name}" element ${i} = ${v} does not fit in int32; read it with int64()`);
      }
      out[i] = Number(v);
    }
    return out;
  }

  private ints(name: string): IntArray {
    const t = this.info(name);
    switch (t.dtype) {
      case 'I64':
        return this.view(BigInt64Array, t);
      case 'I32':
        return this.view(Int32Array, t);
      case 'I16':
        return this.view(Int16Array, t);
      case 'I8':
        return this.view(Int8Array, t);
      case 'U8':
      case 'BOOL':
        return this.view(Uint8Array, t);
      default:
        throw new Error(`${this.path}: tensor "${name}" has float dtype ${t.dtype}, not an integer; read it with float32()`);
    }
  }

  /** A view on the file buffer when the data is aligned for `ctor`, else an aligned copy. */
  private view<T>(ctor: ViewCtor<T>, t: TensorInfo): T {
    const start = this.bytes.byteOffset + t.byteOffset;
    const n = t.byteLength / ctor.BYTES_PER_ELEMENT;
    if (start % ctor.BYTES_PER_ELEMENT === 0) return new ctor(this.bytes.buffer, start, n);
    return new ctor(this.bytes.buffer.slice(start, start + t.byteLength));
  }
}

/** Read and validate a whole safetensors file (fs.readFileSync: files up to ~2 GB). */
export function readSafetensors(file: string): SafeFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    // Node's messages for a missing file or one over 2 GiB do not always name it.
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  function fail(msg: string, tensor?: string): never {
    throw new Error(`${file}: ${tensor === undefined ? '' : `tensor "${tensor}": `}${msg}`);
  }
  const notSafetensors = 'the file is truncated or not a safetensors file; re-download or re-save it';

  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length; ${notSafetensors}`);
  const n = bytes.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`oversized header: header length ${n} exceeds ${MAX_HEADER_BYTES} bytes; ${notSafetensors}`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} is larger than the file (${bytes.length} bytes); ${notSafetensors}`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message}); ${notSafetensors}`);
  }
  if (!isObject(header)) fail(`header is not a JSON object; ${notSafetensors}`);
  const entries = header as Record<string, unknown>;

  const dataStart = 8 + headerLen;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const parsed: Array<[string, TensorInfo, number, number]> = [];
  for (const [name, entry] of Object.entries(entries)) {
    if (name === '__metadata__') {
      if (!isObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        fail('"__metadata__" must be an object of string values; re-save the file with string metadata');
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    if (!isObject(entry)) fail(`header entry is not an object {dtype, shape, data_offsets}; ${notSafetensors}`, name);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_SIZE, dtype)) {
      const supported = Object.keys(DTYPE_SIZE).join(', ');
      fail(`unknown dtype ${JSON.stringify(dtype)}; supported: ${supported}; convert the checkpoint (e.g. to F32) first`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail(`shape ${JSON.stringify(shape)} is not an array of non-negative integers; ${notSafetensors}`, name);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(`data_offsets ${JSON.stringify(offsets)} must be [begin, end] non-negative integers; ${notSafetensors}`, name);
    }
    const d = dtype as Dtype;
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = numel(dims) * DTYPE_SIZE[d];
    if (end - begin !== expected) {
      const what = `data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape [${dims.join(', ')}] of ${d} needs ${expected}`;
      fail(`${what}; ${notSafetensors}`, name);
    }
    if (end > dataLength) {
      fail(`data_offsets [${begin}, ${end}] lie outside the data section (${dataLength} bytes); ${notSafetensors}`, name);
    }
    parsed.push([name, { dtype: d, shape: [...dims], byteOffset: dataStart + begin, byteLength: end - begin }, begin, end]);
  }

  // Sort by offset as the reference reader does; then any overlap is between neighbours.
  parsed.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
  let prev: [string, number] | null = null;
  for (const [name, , begin, end] of parsed) {
    if (begin === end) continue; // an empty tensor occupies no bytes
    if (prev && begin < prev[1]) fail(`bytes [${begin}, ${end}) overlap tensor "${prev[0]}"; ${notSafetensors}`, name);
    if (!prev || end > prev[1]) prev = [name, end];
  }
  // Data beyond the last tensor is allowed (the reference writer never produces it, but it is harmless).
  return new SafeFile(file, metadata, new Map(parsed.map(([name, info]) => [name, info])), bytes);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export type WriteDtype = 'F32' | 'I64' | 'I32' | 'BF16' | 'F16';

export interface TensorToWrite {
  name: string;
  dtype: WriteDtype;
  shape: number[];
  /** F32: Float32Array; I64: BigInt64Array; I32: Int32Array; BF16/F16: raw 16-bit patterns in a Uint16Array. */
  data: Float32Array | BigInt64Array | Int32Array | Uint16Array;
}

const WRITE_ARRAY: Record<WriteDtype, Function> = {
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  BF16: Uint16Array,
  F16: Uint16Array,
};

/** Write tensors in the layout of Python's `safetensors.torch.save_file`, atomically. */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    const where = `${file}: tensor "${t.name}"`;
    if (t.name === '__metadata__' || seen.has(t.name)) {
      throw new Error(`${where}: name is reserved or used twice; give every tensor a unique name`);
    }
    seen.add(t.name);
    if (!(t.data instanceof WRITE_ARRAY[t.dtype])) {
      throw new Error(`${where}: dtype ${t.dtype} needs a ${WRITE_ARRAY[t.dtype].name}, got ${t.data.constructor.name}`);
    }
    if (!t.shape.every(isCount) || numel(t.shape) !== t.data.length) {
      throw new Error(`${where}: shape [${t.shape.join(', ')}] does not match ${t.data.length} elements of data`);
    }
  }
  if (metadata && !Object.values(metadata).every((v) => typeof v === 'string')) throw new Error(`${file}: metadata values must be strings`);

  // Reference order: descending dtype alignment, then name compared as UTF-8 bytes (Rust String order).
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );

  // The JSON is assembled by hand because JS objects move integer-like keys ("0", "12") to the
  // front, which would break the reference's key order.
  const fields: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort();
    fields.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of ordered) {
    const len = t.data.byteLength;
    fields.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] })}`);
    offset += len;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  // Pad with spaces to a multiple of 8 so the data section (and every tensor in it) starts aligned.
  const header = Buffer.alloc(8 + Math.ceil(json.length / 8) * 8, 0x20);
  header.writeBigUInt64LE(BigInt(header.length - 8), 0);
  json.copy(header, 8);

  const chunks: Uint8Array[] = [header, ...ordered.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
  atomicWriteFile(file, chunks);
}

/** IEEE binary16 bit pattern -> number (exact). */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** bfloat16 bit pattern -> number (exact: bf16 is the upper half of an f32). */
export function bf16ToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}

/** number -> bfloat16 bit pattern, rounding the f32 value to nearest even as PyTorch does; NaN stays a (quiet) NaN. */
export function f32ToBf16(x: number): number {
  scratchF32[0] = x;
  const u = scratchU32[0];
  if (Number.isNaN(x)) return (u >>> 16) | 0x40;
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}
