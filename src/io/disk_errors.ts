// Write failures as messages a user can act on. Node's own text ("ENOSPC: no space left on device,
// write") names neither the file nor what to do; a full disk hours into a run must say both, and
// that the previous checkpoint or dataset was left as it was (every writer here writes a temporary
// sibling and renames it into place only when complete, so a failed write replaces nothing).

/** Marks errors already rewritten, so nested writers (a file inside a checkpoint directory) do not wrap twice. */
const WRAPPED = Symbol('distil.writeError');

const FIXES: Record<string, string> = {
  ENOSPC: 'no space left on the device; free space on that file system or write to another directory',
  EDQUOT: 'disk quota exceeded; free space within your quota or write to another directory',
  EROFS: 'the file system is read-only; write to another directory',
  EACCES: 'permission denied; write to a directory you own',
  EPERM: 'operation not permitted; write to a directory you own',
  EFBIG: 'the file is larger than the file system allows; write to another file system',
};

/**
 * `e` (from a write of `file`) as an Error naming the file, the errno code and the fix, with the
 * code kept on `.code`. Errors already rewritten pass through unchanged.
 */
export function writeError(e: unknown, file: string): Error {
  if (e instanceof Error && (e as unknown as Record<symbol, boolean>)[WRAPPED]) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const fix = code ? FIXES[code] : undefined;
  const detail = fix ? `${code}: ${fix}` : `cannot write (${e instanceof Error ? e.message : String(e)})`;
  const out = new Error(`${file}: ${detail}. Nothing was replaced: earlier complete files are intact`) as NodeJS.ErrnoException;
  if (code) out.code = code;
  (out as unknown as Record<symbol, boolean>)[WRAPPED] = true;
  return out;
}

/** Run `fn` (a write of `file`), rethrowing any failure through `writeError`. */
export function writing<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw writeError(e, file);
  }
}
