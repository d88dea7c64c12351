// One writer per output: a command that writes `--out X` first takes the lock file `X.lock` (beside
// X, so commands that replace X atomically keep it). A second writer gets an error naming the
// holder's PID and command; a lock left by a process that is gone (killed with -9, a crashed
// machine) is taken over, and that is said. The lock goes when the process exits.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface LockInfo {
  pid: number;
  command: string;
  started: string;
}

/** Whether `pid` is a live process that could be the one recorded (on Linux: a node process). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A recycled PID belongs to some other program: only a node process can hold our lock.
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

const held = new Set<string>();
let exitHook = false;

/**
 * Take the lock of output `out` for this process (a no-op when it already holds it). Throws when a
 * live process holds it; `warn` hears about a stale lock taken over.
 */
export function lockOutput(out: string, command: string, warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  const file = `${path.resolve(out)}.lock`;
  if (held.has(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, command, started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 3) throw e;
    }
    let other: Partial<LockInfo> = {};
    try {
      other = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      // A lock torn by a kill mid-write holds no PID: nobody can be holding it.
    }
    if (typeof other.pid === 'number' && other.pid !== process.pid && alive(other.pid))
      throw new Error(`${out} is being written by process ${other.pid} (${other.command ?? 'distil'}, since ${other.started ?? '?'}); ` +
        `wait for it to finish, stop it, or choose another output (lock: ${file})`);
    warn(`${file}: took over the lock of process ${other.pid ?? '?'}, which is no longer running`);
    fs.rmSync(file, { force: true });
  }
  held.add(file);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of held) fs.rmSync(f, { force: true });
    });
  }
}
