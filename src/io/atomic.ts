// Atomic file replacement, used by every writer in src/io/ (checkpoints, config.json).
// A training run killed mid-save must never leave a truncated model.safetensors behind that a
// later `--resume` would read: we write a sibling temporary file, fsync it, then rename it over
// the target (rename is atomic within one directory on POSIX file systems).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeError, writing } from './disk_errors.js';

/** One `writeSync` call is capped below 2 GiB by Node; 1 GiB chunks stay well clear of it. */
const MAX_WRITE = 1 << 30;

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  // writeSync may write fewer bytes than asked, so loop until the chunk is out.
  while (done < bytes.byteLength) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.byteLength - done, MAX_WRITE));
  }
}

/**
 * Replace `file` with `data` atomically: readers see the old content or the new, never a prefix.
 * `data` may be a list of chunks so large checkpoints are written from the tensors' own memory
 * instead of being concatenated into one more gigabyte-sized buffer first.
 */
export function atomicWriteFile(file: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      for (const c of chunks) writeAll(fd, c);
      // Flush to disk before the rename, or a crash could leave the new name pointing at no data.
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A full disk leaves a partial temporary file; removing it also gives the space back.
    fs.rmSync(tmp, { force: true });
    throw writeError(e, file);
  }
  syncDirectory(path.dirname(file));
}

/** Persist the rename itself (POSIX). Some platforms (Windows) cannot open a directory; the file is already complete there. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort only: the data was fsynced and renamed; losing this sync can at worst revert to the old file after a power cut.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Replace the directory `dir` with what `write` puts into a fresh temporary sibling, renamed into
 * place at the end: readers find the old complete directory or the new one (between the two
 * renames, briefly none). Used for fine-tuned models and training checkpoints. The parent is
 * synced after the rename so the new name survives a power cut too. Entries named in `carry` (a
 * fine-tuning run's checkpoints/) are moved from the old directory into the new one just before the
 * swap; a kill in between leaves them in the temporary, where a resume looks for them.
 */
export function atomicWriteDir(dir: string, write: (tmp: string) => void, carry: readonly string[] = []): void {
  const tmp = `${dir.replace(/\/+$/, '')}.tmp-${process.pid}`;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    writing(tmp, () => fs.mkdirSync(tmp, { recursive: true }));
    write(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  for (const name of carry) if (fs.existsSync(path.join(dir, name))) fs.renameSync(path.join(dir, name), path.join(tmp, name));
  writing(dir, () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  });
  syncDirectory(path.dirname(dir));
}

/** Files of a Hugging Face tokenizer directory that travel with a model. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/** Copy the tokenizer files of the first of `from` that has any into `to`; returns that directory. */
export function copyTokenizerFiles(from: readonly string[], to: string): string | null {
  for (const dir of from) {
    const present = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
    if (present.length === 0) continue;
    // Atomic copies: a run killed here must not leave a truncated vocabulary next to a complete model.
    for (const f of present) atomicWriteFile(path.join(to, f), fs.readFileSync(path.join(dir, f)));
    return dir;
  }
  return null;
}
