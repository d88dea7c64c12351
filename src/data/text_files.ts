// Input text for `distil prepare`: expand files and directories into a sorted list of text files,
// then stream their lines with bounded memory (one read buffer and the current partial line).
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SourceFile {
  path: string;
  /** Size in bytes when listed (for the progress total). */
  size: number;
}

export interface Skipped {
  path: string;
  reason: string;
}

/** Bytes inspected to tell text from binary (git's window: the first 8000). */
const SNIFF_BYTES = 8000;

/**
 * Offset of the first NUL byte in the first SNIFF_BYTES of `file` when it looks binary, else -1.
 * git calls any NUL binary; here a few NULs in mostly valid UTF-8 make a text file with some bad
 * lines (readLines counts them), while NULs with more than 1% NULs or 10% undecodable bytes
 * (images, archives, UTF-16) make a binary file.
 */
function binaryNul(file: string): number {
  const fd = fs.openSync(file, 'r');
  let sample: Buffer;
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    sample = buf.subarray(0, fs.readSync(fd, buf, 0, SNIFF_BYTES, 0));
  } finally {
    fs.closeSync(fd);
  }
  const first = sample.indexOf(0);
  if (first < 0) return -1;
  let nuls = 0, undecodable = 0;
  for (const b of sample) if (b === 0) nuls++;
  // Each undecodable sequence becomes one U+FFFD (a real U+FFFD in the text counts too: close enough).
  for (const c of sample.toString('utf8')) if (c === '\ufffd') undecodable++;
  return nuls * 100 > sample.length || undecodable * 10 > sample.length ? first : -1;
}

function statOrThrow(p: string): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `input not found: ${p}` : `cannot read input ${p}: ${(e as Error).message}`);
  }
}

/**
 * The text files named by `inputs`, in order: a file is taken as is (an error when it looks
 * binary), a directory is walked recursively in sorted order (byte order of names, so the result
 * does not depend on the locale), skipping hidden entries (".git", ".DS_Store") and binary files,
 * which are reported in `skipped`. Symbolic links are followed once (a cycle is skipped).
 */
export function listSources(inputs: readonly string[]): { files: SourceFile[]; skipped: Skipped[] } {
  const files: SourceFile[] = [];
  const skipped: Skipped[] = [];
  const seenDirs = new Set<string>();

  const sniff = (p: string): number => {
    try {
      return binaryNul(p);
    } catch (e) {
      throw new Error(`cannot read input ${p}: ${(e as Error).message}`);
    }
  };

  const walk = (dir: string): void => {
    const real = fs.realpathSync(dir);
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: 'directory already visited (symbolic link cycle)' });
      return;
    }
    seenDirs.add(real);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      throw new Error(`cannot list input directory ${dir}: ${(e as Error).message}`);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const p = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch (e) {
        skipped.push({ path: p, reason: `cannot stat (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; a broken symbolic link?)` });
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (!st.isFile()) skipped.push({ path: p, reason: 'not a regular file' });
      else if (st.size === 0) skipped.push({ path: p, reason: 'empty file' });
      else {
        const nul = sniff(p);
        if (nul >= 0) skipped.push({ path: p, reason: `binary (NUL byte at offset ${nul})` });
        else files.push({ path: p, size: st.size });
      }
    }
  };

  for (const input of inputs) {
    const st = statOrThrow(input);
    if (st.isDirectory()) walk(input);
    else {
      const nul = sniff(input);
      if (nul >= 0) throw new Error(`input ${input} is not a text file (NUL byte at offset ${nul}); pass UTF-8 text files or directories`);
      files.push({ path: input, size: st.size });
    }
  }
  return { files, skipped };
}

/** Read size per call; a line longer than this is assembled from several reads. */
const READ_BYTES = 1 << 20;

/**
 * A line longer than this is read in pieces of at most this many bytes, each cut after a space or
 * tab where the last CUT_SEARCH bytes hold one (else at a character boundary). One 100 MB line must
 * not take gigabytes in the reader and the tokenizer, which also slows down more than linearly on
 * one long string and works on one string per thread; and a line that long ends up cut into max-len
 * token chunks anyway (64 KiB is some 15,000 tokens).
 */
export const MAX_LINE_BYTES = 64 << 10;
const CUT_SEARCH = 4 << 10;

/** What `readLines` passed over or cut, for prepare's report. */
export interface LineCounts {
  /** Empty or whitespace-only lines (skipped). */
  blank: number;
  /** Lines (or pieces of long lines) with invalid UTF-8 or a NUL byte: kept, the bad bytes decoded as U+FFFD (both removed by BERT's normalizer). */
  bad: number;
  /** Lines longer than MAX_LINE_BYTES, read as several pieces. */
  cut: number;
}

/** Where to end a piece of `big` (longer than `max`): after the last space or tab near `max`, else at a character start. */
function cutPoint(big: Buffer, max: number): number {
  for (let i = max - 1; i >= max - CUT_SEARCH && i > 0; i--) if (big[i] === 0x20 || big[i] === 0x09) return i + 1;
  let cut = max;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split between pieces.
  while (cut > max - 4 && (big[cut]! & 0xc0) === 0x80) cut--;
  return cut;
}

/**
 * The lines of `file`, trimmed; empty ones are left out (counted in `counts.blank`), or yielded as ''
 * with `blankLines` (document boundaries for packing). Decoding is
 * UTF-8 with invalid bytes turned into U+FFFD, never an error; such lines and lines with NUL bytes
 * are counted in `counts.bad`, so a mis-encoded corpus shows in the report. Lines are split on "\n"
 * at the byte level, which is safe in UTF-8, and "\r\n" loses its "\r" to the trim; lines over
 * `maxLineBytes` (default MAX_LINE_BYTES) come in pieces. `onBytes` is told the bytes of each line
 * or piece, blank ones and the newline included, before it is yielded (for progress). Memory: the
 * read buffer plus at most `maxLineBytes` of a line.
 */
export async function* readLines(file: string, onBytes?: (n: number) => void,
  { counts = { blank: 0, bad: 0, cut: 0 }, maxLineBytes = MAX_LINE_BYTES, blankLines = false }:
  { counts?: LineCounts; maxLineBytes?: number; blankLines?: boolean } = {}):
  AsyncGenerator<string> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new Error(`cannot read input ${file}: ${(e as Error).message}`);
  }
  /** The text of one line or piece (`n` bytes of the file), or null when it is blank and blanks are skipped. */
  const decode = (bytes: Uint8Array, n: number): string | null => {
    onBytes?.(n);
    if (bytes.indexOf(0) >= 0 || !isUtf8(bytes)) counts.bad++;
    const line = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').trim();
    if (line.length === 0) counts.blank++;
    return line.length > 0 || blankLines ? line : null;
  };
  try {
    // One read buffer for the whole file; the partial line at its end is copied out into `carry`
    // before the next read overwrites it.
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let carry: Buffer[] = [];
    let carried = 0; // bytes in `carry`
    let cutThisLine = false;
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, READ_BYTES, null));
      } catch (e) {
        throw new Error(`cannot read input ${file}: ${(e as Error).message}`);
      }
      if (n === 0) break;
      const data = buf.subarray(0, n);
      let start = 0;
      while (start < n) {
        const nl = data.indexOf(10, start);
        const end = nl < 0 ? n : nl;
        if (carry.length === 0 && nl >= 0 && nl - start <= maxLineBytes) {
          // The common case: the whole line lies in this read.
          const line = decode(data.subarray(start, nl), nl + 1 - start);
          if (line !== null) yield line;
        } else {
          carry.push(nl < 0 ? Buffer.from(data.subarray(start, end)) : data.subarray(start, end));
          carried += end - start;
          while (carried > maxLineBytes) {
            const big = Buffer.concat(carry);
            const cut = cutPoint(big, maxLineBytes);
            if (!cutThisLine) counts.cut++;
            cutThisLine = true;
            carry = [Buffer.from(big.subarray(cut))];
            carried = big.length - cut;
            const piece = decode(big.subarray(0, cut), cut);
            if (piece !== null) yield piece;
          }
          if (nl >= 0) {
            const line = decode(Buffer.concat(carry), carried + 1);
            carry = [];
            carried = 0;
            cutThisLine = false;
            if (line !== null) yield line;
          }
        }
        start = nl < 0 ? n : nl + 1;
      }
    }
    if (carry.length > 0) {
      const line = decode(Buffer.concat(carry), carried);
      if (line !== null) yield line;
    }
  } finally {
    await fh.close();
  }
}
