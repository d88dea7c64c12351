// Streaming writer of the shard files (format.ts): sequences are appended to buffered .bin/.idx
// files and a shard is closed once it holds >= shardTokens tokens, so memory stays at two small
// buffers plus the token counts (one float64 per vocab id).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writing } from '../io/disk_errors.js';
import { dtypeBytes, leBytes, shardName, type Dtype, type ShardMeta } from './format.js';

/** Elements buffered before a write (1 MiB of uint16 tokens). */
const BUFFER_ELEMS = 1 << 19;

/** An append-only file of little-endian numbers, flushed in BUFFER_ELEMS chunks. */
class NumberFile<T extends Uint16Array | Int32Array | Uint32Array> {
  private readonly fd: number;
  private n = 0;

  constructor(readonly file: string, private readonly buf: T) {
    this.fd = writing(file, () => fs.openSync(file, 'wx'));
  }

  push(v: number): void {
    this.buf[this.n++] = v;
    if (this.n === this.buf.length) this.flush();
  }

  private flush(): void {
    const bytes = leBytes(this.buf.subarray(0, this.n) as T);
    writing(this.file, () => {
      for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(this.fd, bytes, done, bytes.byteLength - done);
    });
    this.n = 0;
  }

  /** Flush, fsync (the dataset is renamed into place afterwards) and close. */
  close(): void {
    try {
      this.flush();
      writing(this.file, () => fs.fsyncSync(this.fd));
    } finally {
      fs.closeSync(this.fd);
    }
  }

  /** Close without caring about the content (error path; the directory is removed). */
  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }
}

export class ShardWriter {
  readonly shards: ShardMeta[] = [];
  /** Occurrences of each id over the kept sequences (token_counts.bin). */
  readonly counts: Float64Array;
  numSequences = 0;
  numTokens = 0;
  private bin: NumberFile<Uint16Array | Int32Array> | null = null;
  private idx: NumberFile<Uint32Array> | null = null;
  private shardSeqs = 0;
  private shardTokens = 0;

  constructor(private readonly dir: string, readonly dtype: Dtype, vocabSize: number, private readonly maxShardTokens: number) {
    this.counts = new Float64Array(vocabSize);
  }

  /** Append one sequence (ids already checked to lie in [0, vocabSize)). */
  append(ids: Int32Array): void {
    if (!this.bin) this.open();
    for (let i = 0; i < ids.length; i++) {
      this.bin!.push(ids[i]!);
      this.counts[ids[i]!]!++;
    }
    this.shardTokens += ids.length;
    this.shardSeqs++;
    this.idx!.push(this.shardTokens);
    this.numSequences++;
    this.numTokens += ids.length;
    if (this.shardTokens >= this.maxShardTokens) this.closeShard();
  }

  /** Close the last shard; the writer holds no file afterwards. */
  finish(): void {
    if (this.bin) this.closeShard();
  }

  /** Close open files after an error (the caller removes the directory). */
  abandon(): void {
    this.bin?.abandon();
    this.idx?.abandon();
    this.bin = this.idx = null;
  }

  private open(): void {
    const i = this.shards.length;
    const elems = BUFFER_ELEMS / (dtypeBytes(this.dtype) / 2);
    this.bin = new NumberFile(path.join(this.dir, shardName(i, 'bin')), this.dtype === 'uint16' ? new Uint16Array(elems) : new Int32Array(elems));
    this.idx = new NumberFile(path.join(this.dir, shardName(i, 'idx')), new Uint32Array(1 << 16));
    this.idx.push(0);
    this.shardSeqs = 0;
    this.shardTokens = 0;
  }

  private closeShard(): void {
    const i = this.shards.length;
    this.bin!.close();
    this.idx!.close();
    this.bin = this.idx = null;
    this.shards.push({ bin: shardName(i, 'bin'), idx: shardName(i, 'idx'), sequences: this.shardSeqs, tokens: this.shardTokens });
  }
}
