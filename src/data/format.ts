// The on-disk format of a prepared dataset (`distil prepare`, docs/method.md §4), shared by the writer
// (prepare.ts) and the reader (dataset.ts). A dataset is one directory:
//
//   meta.json          what follows, plus the settings and drop counts (DataMeta below)
//   shard-00000.bin    token ids of consecutive sequences, little-endian uint16 (vocab < 65536,
//                      as the reference binarized_data.py) or int32; each sequence [CLS] ... [SEP]
//   shard-00000.idx    little-endian uint32 offsets in tokens into the .bin, n+1 entries
//                      (0, end of seq 0, ..., shard tokens), relative to that shard
//   ...                a shard is closed once it holds >= --shard-tokens tokens
//   order.bin          little-endian uint32 permutation of 0..num_sequences-1 (global sequence
//                      numbers, shards concatenated): the i-th served sequence is order[i]
//   token_counts.bin   little-endian float64, one count per vocab id over the kept sequences
//                      (the reference token_counts.py; feeds the masking weights, docs/method.md §5)

/** Bumped on any incompatible change; the reader refuses other values. */
export const FORMAT = 'distilbert-ts/data@1';

export const META_FILE = 'meta.json';
export const ORDER_FILE = 'order.bin';
export const COUNTS_FILE = 'token_counts.bin';

export type Dtype = 'uint16' | 'int32';

/** Bytes per stored token id. */
export const dtypeBytes = (d: Dtype): number => (d === 'uint16' ? 2 : 4);

/** uint16 when every id fits (vocab < 65536, as binarized_data.py), else int32. */
export const dtypeFor = (vocabSize: number): Dtype => (vocabSize < 1 << 16 ? 'uint16' : 'int32');

export const shardName = (i: number, ext: 'bin' | 'idx'): string => `shard-${String(i).padStart(5, '0')}.${ext}`;

export interface ShardMeta {
  bin: string;
  idx: string;
  sequences: number;
  tokens: number;
}

export interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  unk: number;
  mask: number;
}

export interface DataMeta {
  format: typeof FORMAT;
  tokenizer_hash: string;
  vocab_size: number;
  dtype: Dtype;
  max_len: number;
  min_len: number;
  max_unk_ratio: number;
  seed: number;
  /** Non-empty (trimmed) input lines that were encoded. */
  num_lines: number;
  /** Kept sequences (after splitting and dropping). */
  num_sequences: number;
  /** Tokens over the kept sequences, [CLS]/[SEP] included. */
  num_tokens: number;
  /** Pieces dropped, counted after splitting (a long line's short tail counts as too_short). */
  dropped: { too_short: number; too_unknown: number };
  /** Empty or whitespace-only input lines, skipped. */
  blank_lines: number;
  /** Lines with invalid UTF-8 (decoded as U+FFFD) or NUL bytes; kept, BERT's normalizer removes both. */
  bad_text_lines: number;
  /** Input lines over text_files.ts MAX_LINE_BYTES, read in pieces (each counted in num_lines). */
  cut_lines: number;
  /** Input sequences longer than max_len that were cut into chunks. */
  split_long: number;
  /** How lines were packed into sequences (packing.ts); absent: one sequence a line. */
  pack?: 'doc' | 'full';
  /** Documents read (blank-line separated), when packing. */
  documents?: number;
  shards: ShardMeta[];
  special_ids: SpecialIds;
  /** The text files read, in order. */
  sources: string[];
  /** ISO 8601 time of writing. */
  created: string;
}

const REDO = 're-run `distil prepare` to rebuild the dataset';

function fail(file: string, what: string): never {
  throw new Error(`${file}: ${what}; ${REDO}`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parse and check meta.json; every error names the file and the fix. */
export function parseMeta(file: string, text: string): DataMeta {
  let m: any;
  try {
    m = JSON.parse(text);
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message})`);
  }
  if (m === null || typeof m !== 'object') fail(file, 'not a JSON object');
  if (m.format !== FORMAT) fail(file, `format is ${JSON.stringify(m.format)}, this version reads ${JSON.stringify(FORMAT)}`);
  for (const k of ['vocab_size', 'max_len', 'min_len', 'seed', 'num_sequences', 'num_tokens', 'split_long', 'num_lines']) {
    if (!isCount(m[k])) fail(file, `"${k}" must be a non-negative integer, got ${JSON.stringify(m[k])}`);
  }
  if (m.vocab_size < 1) fail(file, '"vocab_size" must be >= 1');
  if (m.dtype !== dtypeFor(m.vocab_size)) fail(file, `"dtype" is ${JSON.stringify(m.dtype)}, expected "${dtypeFor(m.vocab_size)}" for vocab_size ${m.vocab_size}`);
  if (typeof m.tokenizer_hash !== 'string') fail(file, '"tokenizer_hash" must be a string');
  if (typeof m.max_unk_ratio !== 'number') fail(file, '"max_unk_ratio" must be a number');
  if (m.dropped === null || typeof m.dropped !== 'object' || !isCount(m.dropped.too_short) || !isCount(m.dropped.too_unknown))
    fail(file, '"dropped" must be {too_short, too_unknown} counts');
  // Counts added later: datasets prepared before them read as 0.
  for (const k of ['blank_lines', 'bad_text_lines', 'cut_lines']) {
    m[k] ??= 0;
    if (!isCount(m[k])) fail(file, `"${k}" must be a non-negative integer, got ${JSON.stringify(m[k])}`);
  }
  if (m.pack !== undefined && m.pack !== 'doc' && m.pack !== 'full') fail(file, `"pack" must be "doc" or "full", got ${JSON.stringify(m.pack)}`);
  const sp = m.special_ids;
  for (const k of ['cls', 'sep', 'pad', 'unk', 'mask']) {
    if (!sp || !isCount(sp[k]) || sp[k] >= m.vocab_size) fail(file, `"special_ids.${k}" must be an id below vocab_size`);
  }
  if (!Array.isArray(m.sources) || !m.sources.every((s: unknown) => typeof s === 'string')) fail(file, '"sources" must be a list of paths');
  if (!Array.isArray(m.shards)) fail(file, '"shards" must be a list');
  let seqs = 0, toks = 0;
  m.shards.forEach((s: any, i: number) => {
    if (!s || s.bin !== shardName(i, 'bin') || s.idx !== shardName(i, 'idx') || !isCount(s.sequences) || !isCount(s.tokens)) {
      fail(file, `shards[${i}] must be {bin: "${shardName(i, 'bin')}", idx: "${shardName(i, 'idx')}", sequences, tokens}`);
    }
    seqs += s.sequences;
    toks += s.tokens;
  });
  if (seqs !== m.num_sequences) fail(file, `shards hold ${seqs} sequences but num_sequences is ${m.num_sequences}`);
  if (toks !== m.num_tokens) fail(file, `shards hold ${toks} tokens but num_tokens is ${m.num_tokens}`);
  return m as DataMeta;
}

/** Error for a data file whose size disagrees with meta.json. */
export function sizeError(file: string, got: number, want: number, why: string): Error {
  return new Error(`${file}: ${got} bytes, expected ${want} (${why}); the dataset is truncated or from another run, ${REDO}`);
}

type Numeric = Uint16Array | Uint32Array | Int32Array | Float64Array;
type NumericCtor<T extends Numeric> = { new (buf: ArrayBuffer, off: number, len: number): T; new (len: number): T; BYTES_PER_ELEMENT: number };

/** True on little-endian hosts (every platform Node ships for today). */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `a`'s bytes in little-endian order: a view on little-endian hosts, a byte-swapped copy otherwise. */
export function leBytes(a: Numeric): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (HOST_LE) return bytes;
  const out = new Uint8Array(bytes.length), w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += w) for (let k = 0; k < w; k++) out[i + k] = bytes[i + w - 1 - k]!;
  return out;
}

/** A typed array over little-endian `bytes`: a view when aligned on a little-endian host, else a copy. */
export function fromLE<T extends Numeric>(bytes: Uint8Array, ctor: NumericCtor<T>): T {
  const w = ctor.BYTES_PER_ELEMENT, n = Math.floor(bytes.byteLength / w);
  if (HOST_LE && bytes.byteOffset % w === 0) return new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  const copy = new Uint8Array(n * w);
  for (let i = 0; i < n * w; i += w) for (let k = 0; k < w; k++) copy[i + k] = bytes[i + (HOST_LE ? k : w - 1 - k)]!;
  return new ctor(copy.buffer, 0, n);
}
