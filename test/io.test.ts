// Tests for src/io/: safetensors reader/writer and atomic writes (config.json handling and
// state-dict loading: io_config.test.ts). Files are built in a fresh temporary directory;
// malformed files are assembled byte by byte.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { atomicWriteFile } from '../src/io/atomic.js';
import { bf16ToF32, f16ToF32, f32ToBf16, readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { bytesOf, fresh, rawFile, throwsWith, tmp } from './io_helpers.js';

// ---------------------------------------------------------------- safetensors

test('writer matches the reference Rust serializer byte for byte', () => {
  // Expected bytes from safetensors/src/tensor.rs tests test_serialization and test_empty.
  const a = fresh('a.safetensors');
  writeSafetensors(a, [{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) }]);
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  const want = Buffer.concat([Buffer.from([64, 0, 0, 0, 0, 0, 0, 0]), Buffer.from(header), Buffer.from(bytesOf(new Float32Array([0, 1, 2, 3, 4, 5])))]);
  assert.deepEqual(fs.readFileSync(a), want);

  const b = fresh('b.safetensors');
  writeSafetensors(b, [], { framework: 'pt' });
  assert.deepEqual(fs.readFileSync(b), Buffer.concat([Buffer.from([40, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]));
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temporary files left behind');
});

test('round trip of every written dtype, in reference order, aligned', () => {
  const file = fresh('all.safetensors');
  const f32 = new Float32Array([1.5, -2.25, 3e-8, 65504]);
  const i64 = new BigInt64Array([1n, -2n, 3n ** 30n]);
  const i32 = new Int32Array([7, -8, 2147483647]);
  const bf16 = new Uint16Array([0x3f80, 0xc040, 0x7f80]); // 1, -3, +inf
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001]); // 1, -2, 2^-24
  writeSafetensors(
    file,
    [
      { name: 'z.f16', dtype: 'F16', shape: [3], data: f16 },
      { name: 'b.f32', dtype: 'F32', shape: [2, 2], data: f32 },
      { name: 'a.f32', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'y.bf16', dtype: 'BF16', shape: [3], data: bf16 },
      { name: 'x.i32', dtype: 'I32', shape: [3], data: i32 },
      { name: 'w.i64', dtype: 'I64', shape: [3, 1], data: i64 },
    ],
    { format: 'pt', note: 'round trip' },
  );
  const st = readSafetensors(file);
  // Descending alignment (I64, F32, I32, BF16, F16), then by name.
  assert.deepEqual([...st.tensors.keys()], ['w.i64', 'a.f32', 'b.f32', 'x.i32', 'y.bf16', 'z.f16']);
  assert.deepEqual(st.metadata, { format: 'pt', note: 'round trip' });
  const size: Record<string, number> = { I64: 8, F32: 4, I32: 4, BF16: 2, F16: 2 };
  for (const [name, t] of st.tensors) assert.equal(t.byteOffset % size[t.dtype], 0, `${name} is aligned in the file`);
  assert.deepEqual(st.tensors.get('w.i64'), { dtype: 'I64', shape: [3, 1], byteOffset: st.tensors.get('w.i64')?.byteOffset, byteLength: 24 });
  assert.deepEqual(st.float32('b.f32'), f32);
  assert.deepEqual(st.float32('a.f32'), new Float32Array(0));
  assert.deepEqual(st.int64('w.i64'), i64);
  assert.deepEqual(st.int32('x.i32'), i32);
  assert.deepEqual(st.int64('x.i32'), new BigInt64Array([7n, -8n, 2147483647n]));
  assert.deepEqual(st.float32('y.bf16'), new Float32Array([1, -3, Infinity]));
  assert.deepEqual(st.float32('z.f16'), new Float32Array([1, -2, 2 ** -24]));
  // Aligned F32 is a view on the file buffer, not a copy.
  assert.equal(st.float32('b.f32').buffer, st.float32('b.f32').buffer);
});

test('reads hand-built F16, BF16, F64 and I64 tensors, aligned or not', () => {
  const f16 = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000, 0x3555]);
  const bf16 = new Uint16Array([0x3f80, 0xbf80, 0x4049, 0xff80]);
  const f64 = new Float64Array([0.1, -1e300]);
  const i64 = new BigInt64Array([5n, -6n, 2n ** 40n]);
  const data = Buffer.concat([f16, bf16, f64, i64].map((a) => Buffer.from(bytesOf(a))));
  const header = {
    h: { dtype: 'F16', shape: [2, 4], data_offsets: [0, 16] },
    b: { dtype: 'BF16', shape: [4], data_offsets: [16, 24] },
    d: { dtype: 'F64', shape: [2], data_offsets: [24, 40] },
    i: { dtype: 'I64', shape: [3], data_offsets: [40, 64] },
  };
  // Pad the JSON to an odd length so the data section starts unaligned and the reader must copy.
  for (const pad of ['', ' ']) {
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (json.length % 8)) % 8) + pad;
    const st = readSafetensors(rawFile(json, data));
    assert.deepEqual(st.float32('h'), new Float32Array([1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0, 0.333251953125]));
    assert.deepEqual(st.float32('b'), new Float32Array([1, -1, 3.140625, -Infinity]));
    assert.deepEqual(st.float32('d'), new Float32Array([0.1, -Infinity]));
    assert.deepEqual(st.int64('i'), i64);
    throwsWith(() => st.int32('i'), st.path, '"i"', 'int32');
    throwsWith(() => st.float32('i'), st.path, '"i"', 'int64()');
    throwsWith(() => st.int64('h'), st.path, '"h"', 'float32()');
    throwsWith(() => st.float32('nope'), st.path, '"nope"');
  }
  const small = readSafetensors(rawFile({ i: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, bytesOf(new BigInt64Array([-3n, 4n]))));
  assert.deepEqual(small.int32('i'), new Int32Array([-3, 4]));
});

test('half-precision helpers: exact widening, bf16 rounds to nearest even', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.equal(bf16ToF32(0xc0a0), -5);
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // halfway, rounds to the even 0x3f80
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82); // halfway, rounds to the even 0x3f82
  assert.equal(f32ToBf16(1 + 2 ** -8 + 2 ** -20), 0x3f81); // above halfway rounds up
  assert.equal(f32ToBf16(-Infinity), 0xff80);
  assert.equal(f32ToBf16(3.4e38), 0x7f80); // rounds past the largest bf16 to +inf, as PyTorch does
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
  for (const x of [0.1, -7.3, 1e-30]) assert.ok(Math.abs(bf16ToF32(f32ToBf16(x)) - x) <= Math.abs(x) * 2 ** -8);
});

test('every malformed file is rejected with the file, the tensor and a fix', () => {
  const f32 = (n: number): Uint8Array => bytesOf(new Float32Array(n));
  const short = fresh('short.safetensors');
  fs.writeFileSync(short, Buffer.from([1, 2, 3]));
  throwsWith(() => readSafetensors(short), short, 'shorter than', 're-download');
  let f = rawFile('{}', undefined, 1000n);
  throwsWith(() => readSafetensors(f), f, 'larger than the file');
  f = rawFile('{}', undefined, 200_000_000n);
  throwsWith(() => readSafetensors(f), f, 'oversized header');
  f = rawFile('{"a": ');
  throwsWith(() => readSafetensors(f), f, 'not valid UTF-8 JSON');
  f = rawFile('[1, 2]');
  throwsWith(() => readSafetensors(f), f, 'not a JSON object');
  f = rawFile({ __metadata__: { n: 1 } });
  throwsWith(() => readSafetensors(f), f, '__metadata__');
  f = rawFile({ w: 3 });
  throwsWith(() => readSafetensors(f), f, '"w"', 'not an object');
  for (const dtype of ['F8_E4M3', 'toString', 7]) {
    f = rawFile({ w: { dtype, shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'unknown dtype', JSON.stringify(dtype), 'convert');
  }
  for (const shape of [[-1], [1.5], ['2'], 4, null]) {
    f = rawFile({ w: { dtype: 'F32', shape, data_offsets: [0, 8] } }, f32(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'shape');
  }
  for (const offsets of [[0], [0, '8'], [0.5, 8], [0, 8, 9], null]) {
    f = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: offsets } }, f32(2));
    throwsWith(() => readSafetensors(f), f, '"w"', 'data_offsets');
  }
  f = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2));
  throwsWith(() => readSafetensors(f), f, '"w"', 'needs 12');
  f = rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [4, 16] } }, f32(3));
  throwsWith(() => readSafetensors(f), f, '"w"', 'outside the data section');
  f = rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3));
  throwsWith(() => readSafetensors(f), f, '"b"', 'overlap', '"a"');
  // Trailing bytes after the last tensor, and gaps, are tolerated.
  f = rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, f32(5));
  assert.deepEqual(readSafetensors(f).float32('a'), new Float32Array(1));
});

test('writer rejects inconsistent tensors', () => {
  const file = fresh('bad.safetensors');
  throwsWith(() => writeSafetensors(file, [{ name: 'w', dtype: 'F32', shape: [3], data: new Float32Array(2) }]), file, '"w"', 'shape [3]');
  throwsWith(() => writeSafetensors(file, [{ name: 'w', dtype: 'I64', shape: [2], data: new Float32Array(2) }]), file, '"w"', 'BigInt64Array');
  const t = { name: 'w', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
  throwsWith(() => writeSafetensors(file, [t, t]), file, '"w"', 'unique');
  assert.equal(fs.existsSync(file), false);
});

test('atomicWriteFile replaces content and cleans up on failure', () => {
  const file = fresh('atomic.txt');
  atomicWriteFile(file, 'one');
  atomicWriteFile(file, [Buffer.from('tw'), Buffer.from('o')]);
  assert.equal(fs.readFileSync(file, 'utf8'), 'two');
  assert.throws(() => atomicWriteFile(path.join(tmp, 'no-such-dir', 'x'), 'x'));
  // A rename onto a directory fails after the temporary file was written; it must be removed.
  const dir = fresh('a-dir');
  fs.mkdirSync(dir);
  assert.throws(() => atomicWriteFile(dir, 'x'));
  assert.equal(fs.existsSync(`${dir}.tmp-${process.pid}`), false);
});
