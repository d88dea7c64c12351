// A directory's manifest: the size and SHA-256 of every file in it, written last (manifest.json)
// into a directory that is then renamed into place. A directory whose files all match its manifest
// is complete and unaltered; the check catches what the atomic rename cannot: a disk that returned
// other bytes, a file truncated or edited afterwards, a copy that stopped half-way.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteFile } from './atomic.js';

export const MANIFEST_FILE = 'manifest.json';

/** Bumped on an incompatible change; the reader refuses other values. */
const FORMAT = 'distilbert-ts/manifest@1';

interface Manifest {
  format: typeof FORMAT;
  /** File name -> size in bytes and SHA-256 (hex) of its content. */
  files: Record<string, { bytes: number; sha256: string }>;
}

/** Files are hashed in pieces of this size, so a multi-gigabyte checkpoint never sits in memory twice. */
const HASH_CHUNK = 1 << 24;

function sha256(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(HASH_CHUNK);
    for (let n; (n = fs.readSync(fd, buf, 0, HASH_CHUNK, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Write `dir/manifest.json` over every regular file of `dir`; call it after the last other write. */
export function writeManifest(dir: string): void {
  const files: Manifest['files'] = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (name === MANIFEST_FILE || !fs.statSync(p).isFile()) continue;
    files[name] = { bytes: fs.statSync(p).size, sha256: sha256(p) };
  }
  const manifest: Manifest = { format: FORMAT, files };
  atomicWriteFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * What is wrong with `dir` against its manifest (missing, unreadable, a file missing, resized or
 * changed, one of `required` not listed), or null when every listed file matches.
 */
export function manifestProblem(dir: string, required: readonly string[]): string | null {
  const file = path.join(dir, MANIFEST_FILE);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${MANIFEST_FILE} is missing (the write did not finish)` : `${MANIFEST_FILE} is unreadable (${(e as Error).message})`;
  }
  if (m === null || typeof m !== 'object' || m.format !== FORMAT || m.files === null || typeof m.files !== 'object')
    return `${MANIFEST_FILE} is not a ${FORMAT} manifest`;
  const missing = required.filter((f) => !Object.hasOwn(m.files, f));
  if (missing.length > 0) return `${MANIFEST_FILE} does not list ${missing.join(', ')}`;
  for (const [name, want] of Object.entries(m.files)) {
    const p = path.join(dir, path.basename(name));
    let size: number;
    try {
      size = fs.statSync(p).size;
    } catch {
      return `${name} is missing`;
    }
    if (want === null || typeof want !== 'object' || size !== want.bytes) return `${name} has ${size} bytes, the manifest says ${want?.bytes}`;
    if (sha256(p) !== want.sha256) return `${name} does not match its SHA-256 in ${MANIFEST_FILE} (corrupted)`;
  }
  return null;
}
