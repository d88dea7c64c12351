// Input text for `distil prepare`: expand files and directories into a sorted list of text files,
// then stream their lines with bounded memory (one read buffer and the current partial line).
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

/** Bytes inspected to tell text from binary: git's heuristic, a NUL byte in the first 8000. */
const SNIFF_BYTES = 8000;

/** Offset of the first NUL byte in the first SNIFF_BYTES of `file`, or -1 (text). */
function firstNul(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = fs.readSync(fd, buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, n).indexOf(0);
  } finally {
    fs.closeSync(fd);
  }
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
      return firstNul(p);
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
 * The lines of `file`, trimmed, empty ones left out. Decoding is UTF-8 with invalid bytes turned
 * into U+FFFD (never an error); lines are split on "\n" at the byte level, which is safe in UTF-8,
 * and "\r\n" loses its "\r" to the trim. `onBytes` is told the bytes of each line, blank ones and
 * the newline included, before the line is yielded (for progress).
 * Memory: the read buffer plus the current line, whatever the file size.
 */
export async function* readLines(file: string, onBytes?: (n: number) => void): AsyncGenerator<string> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new Error(`cannot read input ${file}: ${(e as Error).message}`);
  }
  try {
    // One read buffer for the whole file; the partial line at its end is copied out into `carry`
    // before the next read overwrites it.
    const buf = Buffer.allocUnsafe(READ_BYTES);
    let carry: Buffer[] = [];
    let carried = 0; // bytes in `carry`
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
      for (let nl = data.indexOf(10, 0); nl >= 0; nl = data.indexOf(10, start)) {
        let line: string;
        if (carry.length > 0) {
          carry.push(data.subarray(start, nl));
          line = Buffer.concat(carry).toString('utf8');
          carry = [];
        } else line = data.toString('utf8', start, nl);
        onBytes?.(carried + nl + 1 - start);
        carried = 0;
        start = nl + 1;
        line = line.trim();
        if (line.length > 0) yield line;
      }
      if (start < n) {
        carry.push(Buffer.from(data.subarray(start)));
        carried += n - start;
      }
    }
    if (carry.length > 0) {
      onBytes?.(carried);
      const line = Buffer.concat(carry).toString('utf8').trim();
      if (line.length > 0) yield line;
    }
  } finally {
    await fh.close();
  }
}
