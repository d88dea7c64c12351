// Seeded mutations for the reader fuzzers (AFL's havoc stage, cut down): byte-level edits of any
// file, and structure-aware edits of JSON values that keep the document parseable, so the checks
// after JSON.parse are reached too. Every case draws from its own Rng, so any case reproduces alone.
import type { Rng } from '../../../src/data/rng.js';

/** Values that sit on the boundaries readers get wrong: zero, signs, 2^31/2^32/2^53, huge, fractions. */
const INTERESTING_NUMBERS = [0, -1, 1, 2, 3, 7, 0.5, -0.5, 255, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
  2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, -(2 ** 31)];

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0xc3, 0xe2, 0xf0, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x0a, 0x0d, 0x09, 0x20,
  0x5c, 0x30, 0x2d];

/** u64 values written over the bytes of binary files: lengths, offsets and counts gone wrong. */
const INTERESTING_U64 = [0n, 1n, 8n, 0x7fn, 0xffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x7fffffffffffffffn,
  0xffffffffffffffffn, 100_000_000n, 100_000_001n];

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

/** 1 to 4 stacked byte-level edits of `seed`. */
export function mutateBytes(rng: Rng, seed: Uint8Array): Buffer {
  let b = Buffer.from(seed);
  const edits = 1 + rng.int(4);
  for (let k = 0; k < edits; k++) {
    const at = b.length > 0 ? rng.int(b.length) : 0;
    switch (rng.int(8)) {
      case 0: // flip one bit
        if (b.length > 0) b[at]! ^= 1 << rng.int(8);
        break;
      case 1: // an interesting byte
        if (b.length > 0) b[at] = pick(rng, INTERESTING_BYTES);
        break;
      case 2: { // insert a few bytes
        const ins = Buffer.from(Array.from({ length: 1 + rng.int(16) }, () => (rng.next() < 0.5 ? pick(rng, INTERESTING_BYTES) : rng.int(256))));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 3: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(Math.max(1, b.length >> 2))))]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      case 5: { // duplicate a range somewhere else
        const len = 1 + rng.int(Math.max(1, Math.min(256, b.length - at)));
        const chunk = Buffer.from(b.subarray(at, at + len));
        const to = rng.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, to), chunk, b.subarray(to)]);
        break;
      }
      case 6: { // an interesting little-endian integer, often aligned
        const width = rng.next() < 0.5 ? 4 : 8;
        const pos = rng.next() < 0.7 ? at - (at % width) : at;
        if (pos + width > b.length) break;
        const v = pick(rng, INTERESTING_U64);
        if (width === 8) b.writeBigUInt64LE(v, pos);
        else b.writeUInt32LE(Number(v & 0xffffffffn), pos);
        break;
      }
      default: { // swap two lines (text formats)
        const lines = b.toString('latin1').split('\n');
        if (lines.length < 2) break;
        const i = rng.int(lines.length), j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        b = Buffer.from(lines.join('\n'), 'latin1');
      }
    }
  }
  return b;
}

/** A JSON value a reader does not expect. */
export function interestingValue(rng: Rng): unknown {
  switch (rng.int(6)) {
    case 0:
    case 1:
      return pick(rng, INTERESTING_NUMBERS);
    case 2:
      return pick(rng, ['', 'x', '0', '1e3', 'gelu', 'F32', 'I64', 'NaN', '__proto__', '\u0000', '\ud800', 'é'.repeat(300)]);
    case 3:
      return pick(rng, [null, true, false]);
    case 4:
      return pick(rng, [[], [0], [1, 2], [-1, 5], [2 ** 53, 1], [[1]], ['a']]);
    default:
      return pick(rng, [{}, { a: 1 }, { dtype: 'F32' }, { __proto__: null }]);
  }
}

type Path = Array<string | number>;

function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...at, i]); paths(x, [...at, i], out); });
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([...at, k]); paths(x, [...at, k], out); }
  return out;
}

/**
 * 1 to 3 structure-aware edits of a parsed JSON document (a deep copy is edited): a value replaced,
 * a key deleted or added, a value wrapped in an array, an array emptied or doubled.
 */
export function mutateJson(rng: Rng, doc: unknown): unknown {
  const root = { v: structuredClone(doc) as unknown };
  const edits = 1 + rng.int(3);
  for (let k = 0; k < edits; k++) {
    const all = paths(root.v);
    if (all.length === 0) {
      root.v = interestingValue(rng);
      continue;
    }
    const p = pick(rng, all);
    let parent: any = root.v;
    for (const key of p.slice(0, -1)) parent = parent[key];
    const last = p.at(-1)!;
    switch (rng.int(6)) {
      case 0:
      case 1:
        parent[last] = interestingValue(rng);
        break;
      case 2:
        if (Array.isArray(parent)) parent.splice(last as number, 1);
        else delete parent[last];
        break;
      case 3:
        if (!Array.isArray(parent)) parent[pick(rng, ['extra', 'dtype', 'shape', 'data_offsets', 'vocab', 'model', 'type', String(rng.int(9))])] = interestingValue(rng);
        else parent.push(interestingValue(rng));
        break;
      case 4:
        parent[last] = [parent[last]];
        break;
      default:
        if (Array.isArray(parent[last])) parent[last] = rng.next() < 0.5 ? [] : [...parent[last], ...parent[last]];
        else if (typeof parent[last] === 'number') parent[last] = parent[last] * pick(rng, [-1, 2, 1000, 0.5]) + pick(rng, [0, 1, -1]);
        else parent[last] = interestingValue(rng);
    }
  }
  return root.v;
}

/** JSON text of `doc` with a duplicate of one of its top-level keys put first (JSON.parse keeps the last). */
export function duplicateKey(rng: Rng, doc: Record<string, unknown>): string {
  const text = JSON.stringify(doc);
  const keys = Object.keys(doc);
  if (keys.length === 0 || !text.startsWith('{')) return text;
  const key = pick(rng, keys);
  const value = rng.next() < 0.5 ? doc[key] : interestingValue(rng);
  return `{${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'},${text.slice(1)}`;
}

/**
 * A mutated JSON document as bytes: mostly a structure-aware edit (still parseable), sometimes a
 * duplicated key, sometimes byte edits of the text (broken JSON, bad UTF-8).
 */
export function mutateJsonText(rng: Rng, doc: unknown): Buffer {
  const r = rng.next();
  if (r < 0.6) return Buffer.from(JSON.stringify(mutateJson(rng, doc)) ?? 'null');
  if (r < 0.75 && doc !== null && typeof doc === 'object' && !Array.isArray(doc)) return Buffer.from(duplicateKey(rng, doc as Record<string, unknown>));
  return mutateBytes(rng, Buffer.from(JSON.stringify(doc, null, rng.next() < 0.5 ? 2 : 0)));
}
