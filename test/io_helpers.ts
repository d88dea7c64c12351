// Shared helpers of the src/io/ tests (io.test.ts, io_config.test.ts): a fresh temporary
// directory (removed after the tests), hand-assembled safetensors files, message checks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distilbert-io-'));
let counter = 0;
export const fresh = (name: string): string => path.join(tmp, `${counter++}-${name}`);

/** A safetensors file from a header (object or literal JSON text) and raw data bytes; `headerLen` forges the length field. */
export function rawFile(header: object | string, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLen ?? BigInt(json.length));
  const file = fresh('raw.safetensors');
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Asserts `fn` throws and the message contains every fragment. */
export function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: Error) => {
    for (const f of fragments) assert.ok(e.message.includes(f), `message lacks ${JSON.stringify(f)}: ${e.message}`);
    return true;
  });
}

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
