// Reader of a prepared dataset (format.ts). Every file is checked against meta.json before use,
// and errors name the file and the fix. Shards are read whole with readFileSync, which is fine
// for corpora that fit in RAM (uint16: 2 bytes a token, so 1e9 tokens = 2 GB); memory-mapping
// the shards is the next step when that stops being true.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COUNTS_FILE, dtypeBytes, fromLE, META_FILE, ORDER_FILE, parseMeta, sizeError, type DataMeta } from './format.js';

export interface Dataset {
  readonly dir: string;
  readonly meta: DataMeta;
  /** Number of sequences. */
  readonly size: number;
  /** Length of each sequence in served order: lengths[i] = get(i).length. */
  readonly lengths: Int32Array;
  /** Ids of the i-th sequence in served (order.bin) order, [CLS] ... [SEP]; a fresh copy. */
  get(i: number): Int32Array;
  /** Occurrences of each vocab id over the dataset (token_counts.bin). */
  readonly tokenCounts: Float64Array;
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file} is missing; the dataset is incomplete, re-run \`distil prepare\` to rebuild it`);
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

export function openDataset(dir: string): Dataset {
  if (!fs.existsSync(dir)) throw new Error(`dataset ${dir} not found; create it with \`distil prepare --input TEXT... --tokenizer DIR --out ${dir}\``);
  const metaFile = path.join(dir, META_FILE);
  const meta = parseMeta(metaFile, readFile(metaFile).toString('utf8'));
  const N = meta.num_sequences;
  const w = dtypeBytes(meta.dtype);

  // Shards: ids and offsets, with the global number of each shard's first sequence.
  const shardIds: (Uint16Array | Int32Array)[] = [];
  const shardOffsets: Uint32Array[] = [];
  const firstSeq = new Float64Array(meta.shards.length + 1);
  meta.shards.forEach((s, k) => {
    const binFile = path.join(dir, s.bin), idxFile = path.join(dir, s.idx);
    const bin = readFile(binFile), idx = readFile(idxFile);
    if (bin.byteLength !== s.tokens * w) throw sizeError(binFile, bin.byteLength, s.tokens * w, `${s.tokens} ${meta.dtype} tokens per meta.json`);
    if (idx.byteLength !== (s.sequences + 1) * 4) throw sizeError(idxFile, idx.byteLength, (s.sequences + 1) * 4, `${s.sequences + 1} uint32 offsets per meta.json`);
    const off = fromLE(idx, Uint32Array);
    if (off[0] !== 0 || off[s.sequences] !== s.tokens) throw new Error(`${idxFile}: offsets must run from 0 to ${s.tokens}; re-run \`distil prepare\` to rebuild the dataset`);
    for (let i = 0; i < s.sequences; i++) {
      if (off[i + 1]! <= off[i]!) throw new Error(`${idxFile}: offsets must increase (entry ${i + 1}); re-run \`distil prepare\` to rebuild the dataset`);
      if (off[i + 1]! - off[i]! > meta.max_len)
        throw new Error(`${idxFile}: sequence ${i} has ${off[i + 1]! - off[i]!} tokens, more than max_len ${meta.max_len}; re-run \`distil prepare\` to rebuild the dataset`);
    }
    const ids = meta.dtype === 'uint16' ? fromLE(bin, Uint16Array) : fromLE(bin, Int32Array);
    // Ids index the embedding matrix (and lengths, checked above, the position embeddings) in native
    // kernels: an out-of-range value from a damaged shard must stop here, not read outside a buffer later.
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      if (!(id >= 0 && id < meta.vocab_size))
        throw new Error(`${binFile}: token ${t} is id ${id}, outside the vocabulary [0, ${meta.vocab_size}); re-run \`distil prepare\` to rebuild the dataset`);
    }
    shardIds.push(ids);
    shardOffsets.push(off);
    firstSeq[k + 1] = firstSeq[k]! + s.sequences;
  });

  const orderFile = path.join(dir, ORDER_FILE);
  const orderBytes = readFile(orderFile);
  if (orderBytes.byteLength !== N * 4) throw sizeError(orderFile, orderBytes.byteLength, N * 4, `${N} uint32 entries per meta.json`);
  const order = fromLE(orderBytes, Uint32Array);
  const seen = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    const g = order[i]!;
    if (g >= N || seen[g]) throw new Error(`${orderFile}: not a permutation of 0..${N - 1} (entry ${i} = ${g}); re-run \`distil prepare\` to rebuild the dataset`);
    seen[g] = 1;
  }

  const countsFile = path.join(dir, COUNTS_FILE);
  const countBytes = readFile(countsFile);
  if (countBytes.byteLength !== meta.vocab_size * 8) throw sizeError(countsFile, countBytes.byteLength, meta.vocab_size * 8, `${meta.vocab_size} float64 counts per meta.json`);
  const tokenCounts = fromLE(countBytes, Float64Array);

  /** Shard and offset index of global sequence g (binary search over firstSeq). */
  const locate = (g: number): [number, number] => {
    let lo = 0, hi = meta.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (firstSeq[mid]! <= g) lo = mid;
      else hi = mid - 1;
    }
    return [lo, g - firstSeq[lo]!];
  };

  const lengths = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const [k, j] = locate(order[i]!);
    lengths[i] = shardOffsets[k]![j + 1]! - shardOffsets[k]![j]!;
  }

  return {
    dir,
    meta,
    size: N,
    lengths,
    tokenCounts,
    get(i: number): Int32Array {
      if (!Number.isInteger(i) || i < 0 || i >= N) throw new RangeError(`sequence ${i} out of range [0, ${N})`);
      const [k, j] = locate(order[i]!);
      const off = shardOffsets[k]!;
      return Int32Array.from(shardIds[k]!.subarray(off[j]!, off[j + 1]!));
    },
  };
}
