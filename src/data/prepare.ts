// `distil prepare` (docs/method.md §4): text files -> a sharded, shuffled dataset of token ids (format.ts).
// The reference does this in three scripts that hold the corpus in memory (binarized_data.py,
// token_counts.py, and LmSeqsDataset's filters at training start); here it is one streaming pass:
// lines are read in batches, encoded by the tokenizer off the main thread (`encodeBatch` runs on
// the tokenizers crate's Rust thread pool) with at most `maxInFlight` batches outstanding, then
// split, filtered and appended to shard files in input order. Memory is bounded by the batches in
// flight, the write buffers, the token counts and order.bin's 4 bytes a kept sequence.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from '../io/atomic.js';
import { writing } from '../io/disk_errors.js';
import { COUNTS_FILE, dtypeFor, FORMAT, leBytes, META_FILE, ORDER_FILE, type DataMeta } from './format.js';
import { Packer, type PackMode } from './packing.js';
import { dropReason, splitLong } from './sequences.js';
import { MAX_SEQUENCES, seededPermutation } from './shuffle.js';
import { listSources, readLines, type LineCounts, type Skipped } from './text_files.js';
import { ShardWriter } from './writer.js';

/** What prepare needs of a tokenizer (src/text/tokenizer.ts `BertTokenizer` has it). */
export interface PrepareTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly maskId: number;
  /** Identifies the vocabulary and settings; stored in meta.json so training can check it. */
  readonly hash: string;
  /** Ids of each text with [CLS]/[SEP] added and no truncation. */
  encodeBatch(texts: string[]): Promise<number[][]>;
}

export interface PrepareOptions {
  /** Text files and directories (walked recursively, sorted). */
  inputs: readonly string[];
  tokenizer: PrepareTokenizer;
  /** Dataset directory to create. */
  out: string;
  /** Longest sequence kept whole, [CLS]/[SEP] included; longer ones are cut (default 512, the model maximum). */
  maxLen?: number;
  /** Shortest sequence kept (default 12: the reference drops <= 11 tokens). */
  minLen?: number;
  /** Drop a sequence when [UNK] ids / length >= this (default 0.5, the reference). */
  maxUnkRatio?: number;
  /**
   * Pack consecutive lines into sequences of up to maxLen (packing.ts): 'doc' within a document,
   * 'full' across documents; a blank line ends a document. Default: one sequence a line.
   */
  pack?: PackMode | null;
  /** Seed of the order.bin shuffle (default 56, the reference train.py seed). */
  seed?: number;
  /** Lines per encodeBatch call (default 1000). */
  batchLines?: number;
  /** A shard is closed once it holds this many tokens (default 50,000,000: 100 MB of uint16). */
  shardTokens?: number;
  /** Replace an existing `out` (default false: an existing `out` is an error). */
  overwrite?: boolean;
  /** encodeBatch calls outstanding at once (default 4). */
  maxInFlight?: number;
  /** Called after every batch and at the end, for a progress display. */
  onProgress?: (p: PrepareProgress) => void;
  /** Warnings such as skipped files (default: stderr). */
  log?: (line: string) => void;
  /** Aborting stops the run and removes its partial output. */
  signal?: AbortSignal;
}

export interface PrepareProgress {
  /** Input bytes whose lines have been encoded and written (read-ahead not counted). */
  bytes: number;
  totalBytes: number;
  lines: number;
  sequences: number;
}

export interface PrepareReport {
  out: string;
  meta: DataMeta;
  /** Files found in directories but not read, and why. */
  skipped: Skipped[];
  bytes: number;
  seconds: number;
}

/**
 * Characters per encodeBatch call at most (besides batchLines). The tokenizer holds some 35 bytes
 * per byte of text in flight (alignments, tokens, offsets: 600 MB for 16 MiB measured), so batches
 * of long lines (up to text_files.ts MAX_LINE_BYTES each) are cut to keep it at tens of MB; batches of
 * ordinary sentences (1,000 lines of ~100 bytes) stay under the limit.
 */
const BATCH_CHARS = 256 << 10;

function check(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg);
}

const isInt = (v: number, min: number, max = Number.MAX_SAFE_INTEGER): boolean => Number.isInteger(v) && v >= min && v <= max;

function settings(o: PrepareOptions) {
  const s = {
    maxLen: o.maxLen ?? 512,
    minLen: o.minLen ?? 12,
    maxUnkRatio: o.maxUnkRatio ?? 0.5,
    seed: o.seed ?? 56,
    batchLines: o.batchLines ?? 1000,
    shardTokens: o.shardTokens ?? 50_000_000,
    maxInFlight: o.maxInFlight ?? 4,
    pack: o.pack ?? null,
  };
  check(s.pack === null || s.pack === 'doc' || s.pack === 'full', `pack must be "doc" or "full", got ${JSON.stringify(s.pack)}`);
  check(o.inputs.length > 0, 'no inputs: pass text files or directories with --input');
  check(isInt(s.maxLen, 3), `max-len must be an integer >= 3 (room for [CLS], one token, [SEP]), got ${s.maxLen}`);
  check(isInt(s.minLen, 1, s.maxLen), `min-len must be an integer in [1, max-len=${s.maxLen}], got ${s.minLen}`);
  check(s.maxUnkRatio > 0 && s.maxUnkRatio <= 1, `max-unk-ratio must be in (0, 1], got ${s.maxUnkRatio}`);
  check(isInt(s.seed, 0, 0xffffffff), `seed must be an integer in [0, 2^32-1], got ${s.seed}`);
  check(isInt(s.batchLines, 1), `batch-lines must be an integer >= 1, got ${s.batchLines}`);
  // .idx offsets are uint32 and a shard may overrun the limit by one sequence.
  check(isInt(s.shardTokens, 1, 0xffffffff - s.maxLen), `shard-tokens must be an integer in [1, 2^32-1-max-len], got ${s.shardTokens}`);
  check(isInt(s.maxInFlight, 1), `maxInFlight must be an integer >= 1, got ${s.maxInFlight}`);
  const t = o.tokenizer;
  check(isInt(t.vocabSize, 1), `tokenizer vocabSize must be a positive integer, got ${t.vocabSize}`);
  for (const [k, v] of Object.entries({ clsId: t.clsId, sepId: t.sepId, padId: t.padId, unkId: t.unkId, maskId: t.maskId })) {
    check(isInt(v, 0, t.vocabSize - 1), `tokenizer ${k} must be an id below vocabSize ${t.vocabSize}, got ${v}`);
  }
  return s;
}

/** Move `tmp` to `out` (replacing it when `overwrite`), then persist the rename. */
function publish(tmp: string, out: string, overwrite: boolean): void {
  if (fs.existsSync(out)) {
    if (!overwrite) throw new Error(`${out} appeared while preparing; pass --overwrite to replace it`);
    // Two renames, not one: rename cannot replace a non-empty directory. A crash between them
    // leaves the old dataset under `.old-<pid>` and the new one complete under `.partial-<pid>`.
    const old = `${out}.old-${process.pid}`;
    fs.renameSync(out, old);
    fs.renameSync(tmp, out);
    fs.rmSync(old, { recursive: true, force: true });
  } else fs.renameSync(tmp, out);
  try {
    const fd = fs.openSync(path.dirname(out), 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Best effort, as in io/atomic.ts: some platforms cannot fsync a directory.
  }
}

/** Prepare a dataset; see PrepareOptions and format.ts. Throws, leaving no `out`, on any error. */
export async function prepare(opts: PrepareOptions): Promise<PrepareReport> {
  const t0 = performance.now();
  const s = settings(opts);
  const tok = opts.tokenizer;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const out = path.resolve(opts.out);
  if (fs.existsSync(out) && !opts.overwrite) throw new Error(`${opts.out} already exists; pass --overwrite to replace it`);
  const inputsText = opts.inputs.join(', ');

  const { files, skipped } = listSources(opts.inputs);
  for (const k of skipped) log(`skipped ${k.path}: ${k.reason}`);
  if (files.length === 0) throw new Error(`empty corpus: no text files in ${inputsText}${skipped.length ? ` (${skipped.length} skipped)` : ''}`);
  const totalBytes = files.reduce((a, f) => a + f.size, 0);

  // Everything is written here, next to `out` (same file system, so the final rename is atomic).
  const tmp = `${out}.partial-${process.pid}`;
  writing(tmp, () => {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
  });

  const dtype = dtypeFor(tok.vocabSize);
  const writer = new ShardWriter(tmp, dtype, tok.vocabSize, s.shardTokens);
  const dropped = { too_short: 0, too_unknown: 0 };
  const lineCounts: LineCounts = { blank: 0, bad: 0, cut: 0 };
  let splitCount = 0, lines = 0;
  let bytesRead = 0; // through the last line read
  let bytesDone = 0; // through the last line written
  const progress = () => opts.onProgress?.({ bytes: bytesDone, totalBytes, lines, sequences: writer.numSequences });

  const keep = (p: Int32Array): void => {
    const why = dropReason(p, s.minLen, s.maxUnkRatio, tok.unkId);
    if (why) dropped[why]++;
    else {
      if (writer.numSequences === MAX_SEQUENCES) throw new Error(`more than ${MAX_SEQUENCES} sequences: order.bin numbers them with uint32; split the corpus`);
      writer.append(p);
    }
  };
  const packer = s.pack ? new Packer(s.maxLen, tok.clsId, tok.sepId, s.pack, keep) : null;
  let documents = 0;

  /** texts[k] === '' marks a document boundary (blank line, packing only); it is not encoded. */
  const consume = (texts: string[], encoded: number[][]): void => {
    check(Array.isArray(encoded) && encoded.length === texts.length, `tokenizer returned ${encoded?.length} sequences for ${texts.length} lines`);
    encoded.forEach((ids, k) => {
      if (texts[k] === '') {
        packer!.endDocument();
        documents++;
        return;
      }
      const n = ids.length;
      if (n < 2 || ids[0] !== tok.clsId || ids[n - 1] !== tok.sepId) {
        throw new Error(`tokenizer output does not start with [CLS]=${tok.clsId} and end with [SEP]=${tok.sepId} for line ${JSON.stringify(texts[k]!.slice(0, 80))}`);
      }
      for (let i = 0; i < n; i++) {
        const id = ids[i]!;
        if (!(id >= 0 && id < tok.vocabSize && Number.isInteger(id))) throw new Error(`tokenizer returned id ${id} outside [0, ${tok.vocabSize})`);
      }
      if (packer) return packer.add(ids);
      const pieces = splitLong(ids, s.maxLen, tok.clsId, tok.sepId);
      if (pieces.length > 1) splitCount++;
      for (const p of pieces) keep(p);
    });
  };

  try {
    // Batches in flight, oldest first; consumed in order so the output does not depend on timing.
    const inFlight: { texts: string[]; ids: Promise<number[][]>; bytesEnd: number }[] = [];
    const drainOne = async () => {
      const b = inFlight.shift()!;
      consume(b.texts, await b.ids);
      bytesDone = b.bytesEnd;
      progress();
      if (opts.signal?.aborted) throw new Error('prepare interrupted');
    };
    const submit = async (texts: string[]) => {
      // Document boundaries ('') are not sent to the tokenizer; they come back as empty id lists.
      const ids = Promise.resolve().then(async () => {
        const lines = texts.filter((t) => t !== '');
        const enc = lines.length > 0 ? await tok.encodeBatch(lines) : [];
        let j = 0;
        return texts.map((t) => (t === '' ? [] : enc[j++]!));
      });
      ids.catch(() => {}); // Rejections surface when the batch is awaited in drainOne.
      inFlight.push({ texts, ids, bytesEnd: bytesRead });
      while (inFlight.length >= s.maxInFlight) await drainOne();
    };
    let batch: string[] = [];
    let batchChars = 0;
    let atBoundary = true; // nothing since the last document boundary
    for (const f of files) {
      for await (const line of readLines(f.path, (n) => (bytesRead += n), { counts: lineCounts, blankLines: packer !== null })) {
        if (line !== '') lines++;
        else if (atBoundary) continue; // one boundary is enough
        atBoundary = line === '';
        batch.push(line);
        batchChars += line.length;
        // Also bounded in characters, so batches of very long lines keep the tokenizer's memory small.
        if (batch.length >= s.batchLines || batchChars >= BATCH_CHARS) {
          await submit(batch);
          batch = [];
          batchChars = 0;
        }
      }
      if (packer && !atBoundary) batch.push(''); // a file ends its last document
      atBoundary = true;
    }
    if (batch.length > 0) await submit(batch);
    while (inFlight.length > 0) await drainOne();
    packer?.finish();
    writer.finish();
    bytesDone = bytesRead; // blank lines after the last batch
    progress();

    const n = writer.numSequences;
    if (lines === 0) throw new Error(`empty corpus: no non-empty lines in ${inputsText}`);
    if (n === 0) {
      throw new Error(
        `empty corpus: all ${lines} lines of ${inputsText} were dropped ` +
          `(${dropped.too_short} pieces shorter than min-len ${s.minLen} tokens, ${dropped.too_unknown} with >= ${s.maxUnkRatio} [UNK])`,
      );
    }
    atomicWriteFile(path.join(tmp, ORDER_FILE), leBytes(seededPermutation(n, s.seed)));
    atomicWriteFile(path.join(tmp, COUNTS_FILE), leBytes(writer.counts));
    const meta: DataMeta = {
      format: FORMAT,
      tokenizer_hash: tok.hash,
      vocab_size: tok.vocabSize,
      dtype,
      max_len: s.maxLen,
      min_len: s.minLen,
      max_unk_ratio: s.maxUnkRatio,
      seed: s.seed,
      num_lines: lines,
      num_sequences: n,
      num_tokens: writer.numTokens,
      dropped,
      blank_lines: lineCounts.blank,
      bad_text_lines: lineCounts.bad,
      cut_lines: lineCounts.cut,
      split_long: packer ? packer.cutLines : splitCount,
      ...(s.pack ? { pack: s.pack, documents } : {}),
      shards: writer.shards,
      special_ids: { cls: tok.clsId, sep: tok.sepId, pad: tok.padId, unk: tok.unkId, mask: tok.maskId },
      sources: files.map((f) => f.path),
      created: new Date().toISOString(),
    };
    atomicWriteFile(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    publish(tmp, out, opts.overwrite ?? false);
    return { out, meta, skipped, bytes: bytesRead, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    writer.abandon();
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
