// Full disk: `distil prepare --overwrite` and `distil pretrain` write into a small tmpfs that fills
// up. Each must exit non-zero with an error naming ENOSPC, the path and the fix; the previous
// dataset / checkpoint must stay intact and usable; nothing partial may be left that could pass for
// complete; and once space is back, `--resume` must finish with the uninterrupted run's weights.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { checkpointProblem, listCheckpoints } from '../../src/train/checkpoint.js';
import { check, cli, cliOk, TINY_BERT, tinyText, type TinySetup } from './common.js';

export interface DiskReport {
  /** Null when the checks ran; else why they were skipped. */
  skipped: string | null;
  /** The error lines the two commands printed on the full disk. */
  errors: string[];
}

function mount(dir: string, bytes: number): string | null {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(bytes / 4096) * 4}k`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0 ? null : `cannot mount a tmpfs (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}); run as root to include these checks`;
}

function remount(dir: string, bytes: number): void {
  const r = spawnSync('mount', ['-o', `remount,size=${Math.ceil(bytes / 4096) * 4}k`, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot grow the tmpfs at ${dir}: ${r.stderr}`);
}

function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

/** The `distil: ...` error line, checked for ENOSPC, a path under `under` and the fix. */
function enospcLine(stderr: string, under: string, what: string): string {
  const line = stderr.split('\n').find((l) => l.startsWith('distil: ')) ?? '';
  check(line.includes('ENOSPC') && line.includes(under) && line.includes('free space'),
    `${what}: expected an ENOSPC error naming a path under ${under} and the fix, got:\n${stderr.slice(-2000)}`);
  return line;
}

/** prepare --overwrite of a dataset that cannot fit: the old one stays, no partial directory is left. */
function prepareOnFullDisk(setup: TinySetup, work: string, mnt: string): string {
  const data = path.join(mnt, 'data');
  const small = path.join(work, 'small.txt');
  fs.writeFileSync(small, tinyText(200, 2));
  cliOk(['prepare', '--input', small, '--tokenizer', setup.tokenizer, '--out', data, '--max-len', '40', '--min-len', '5']);
  const before = fs.readFileSync(path.join(data, 'meta.json'), 'utf8');
  const big = path.join(work, 'big.txt');
  fs.writeFileSync(big, tinyText(8_000, 3)); // ~0.8 MB of text, ~0.4 MB of uint16 ids: more than the disk holds
  const r = cli(['prepare', '--input', big, '--tokenizer', setup.tokenizer, '--out', data, '--max-len', '40', '--min-len', '5', '--overwrite']);
  check(r.status !== 0 && r.status !== null, `prepare on a full disk exited ${r.status ?? r.signal}`);
  const line = enospcLine(r.stderr, mnt, 'prepare on a full disk');
  check(fs.readFileSync(path.join(data, 'meta.json'), 'utf8') === before, 'prepare on a full disk changed the previous dataset');
  check(openDataset(data).size > 0, 'the previous dataset no longer opens');
  const left = fs.readdirSync(mnt).filter((n) => n !== 'data');
  check(left.length === 0, `prepare on a full disk left ${left.join(', ')} in ${mnt}`);
  return line;
}

/** pretrain whose second checkpoint does not fit: the first stays usable, and a resume with space finishes exactly. */
function trainOnFullDisk(setup: TinySetup, work: string, mnt: string): string {
  const argv = (out: string) => ['pretrain', '--config', TINY_BERT, '--data', setup.data, '--out', out, '--max-steps', '4',
    '--batch-size', '4', '--gradient-accumulation-steps', '1', '--checkpoint-interval', '1', '--keep-checkpoints', '1'];
  const ref = path.join(work, 'disk-reference');
  cliOk(argv(ref));
  const ckpt = listCheckpoints(ref)[0]!;
  const size = fs.readdirSync(ckpt).reduce((a, f) => a + fs.statSync(path.join(ckpt, f)).size, 0);
  // Room for one checkpoint and half of the next (the next is written whole before the old one goes).
  remount(mnt, Math.floor(size * 1.5) + 64 * 1024);
  const out = path.join(mnt, 'teacher');
  const r = cli([...argv(out), '--resume']);
  check(r.status !== 0 && r.status !== null, `pretrain on a full disk exited ${r.status ?? r.signal}`);
  const line = enospcLine(r.stderr, mnt, 'pretrain on a full disk');
  const kept = listCheckpoints(out);
  check(kept.length === 1 && checkpointProblem(kept[0]!) === null, `after the full disk, checkpoints are ${kept.join(', ')} (${kept.map(checkpointProblem).join('; ')})`);
  const stale = fs.readdirSync(path.join(out, 'checkpoints')).filter((n) => n.includes('.tmp'));
  check(stale.length === 0, `pretrain on a full disk left ${stale.join(', ')}`);
  check(!fs.existsSync(path.join(out, 'model.safetensors')), 'a final model.safetensors was written although training did not finish');
  remount(mnt, 16 << 20);
  cliOk([...argv(out), '--resume']);
  check(fs.readFileSync(path.join(out, 'model.safetensors')).equals(fs.readFileSync(path.join(ref, 'model.safetensors'))),
    'after freeing space, the resumed run does not end with the uninterrupted run\'s weights');
  return line;
}

export function fullDisk(setup: TinySetup, work: string): DiskReport {
  const mnt = path.join(work, 'tmpfs');
  const why = mount(mnt, 256 << 10);
  if (why) return { skipped: why, errors: [] };
  try {
    const errors = [prepareOnFullDisk(setup, work, mnt)];
    fs.rmSync(path.join(mnt, 'data'), { recursive: true, force: true });
    errors.push(trainOnFullDisk(setup, work, mnt));
    return { skipped: null, errors };
  } finally {
    unmount(mnt);
  }
}
