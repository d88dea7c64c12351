// Shared pieces of the robustness checks (test/robustness/*.ts, run in full by run.ts and in CI
// size by test/robust_*.test.ts): the CLI as a child process, peak-RSS watching, and a tiny corpus
// with a 99-token vocabulary that fits the tiny-bert / tiny-distilbert fixtures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { DISTILL_DEFAULTS, Distiller, type DistillParams } from '../../src/distill/distiller.js';
import { trainingData } from '../../src/distill/run.js';
import { readModelConfig, type DistilBertConfig } from '../../src/io/config.js';
import { BertForMaskedLM } from '../../src/models/bert.js';
import { DistilBertForMaskedLM } from '../../src/models/distilbert.js';
import { loadMaskedLM } from '../../src/models/pretrained.js';
import { Rng } from '../../src/data/rng.js';
import { FIXTURES, ROOT } from '../helpers.js';

export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
export const TINY_BERT = path.join(FIXTURES, 'tiny-bert');
export const TINY_DISTILBERT = path.join(FIXTURES, 'tiny-distilbert');

/**
 * Child environment: one OpenMP thread. Results are bit-identical only for the same thread count
 * (reductions are summed in another order otherwise), and on a loaded 2-core machine one thread is
 * also the fastest.
 */
export const CHILD_ENV = { ...process.env, OMP_NUM_THREADS: '1' };

export function workDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `distil-robust-${name}-`));
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `distil ...args` to completion. */
export function cli(args: readonly string[], env: NodeJS.ProcessEnv = CHILD_ENV): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** `distil ...args` that must succeed; its stdout. */
export function cliOk(args: readonly string[]): string {
  const r = cli(args);
  if (r.status !== 0) throw new Error(`distil ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** `distil ...args` as a child process whose output is collected; `done` resolves when it exits. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = CHILD_ENV): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-100_000)));
  const done = new Promise<CliResult>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { child, done };
}

/** Peak resident set (VmHWM) of a live process in MiB, or null once it is gone. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Poll the peak RSS of `pid` every `ms` until it exits; the last reading is the peak (VmHWM only grows). */
export function watchPeakRss(pid: number, ms = 100): { stop: () => number } {
  let peak = 0;
  const read = () => {
    const v = peakRssMb(pid);
    if (v !== null) peak = Math.max(peak, v);
  };
  read();
  const timer = setInterval(read, ms);
  return { stop: () => (clearInterval(timer), peak) };
}

/** The tiny vocabulary: the five BERT specials at ids 0-4 (as the fixtures' tests use) and 94 words. */
export const TINY_WORDS = Array.from({ length: 94 }, (_, i) => `w${String(i).padStart(2, '0')}`);

/** A tokenizer directory holding only vocab.txt for the 99-token vocabulary. */
export function tinyTokenizer(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.txt'), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...TINY_WORDS].join('\n') + '\n');
  return dir;
}

/** A model directory: the tiny DistilBERT with the 99-token vocabulary its ids fit. */
export function tinyModel(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(TINY_DISTILBERT)) fs.copyFileSync(path.join(TINY_DISTILBERT, f), path.join(dir, f));
  return tinyTokenizer(dir);
}

/** `lines` lines of 6..40 tiny-vocabulary words (or exactly `words`), seeded. */
export function tinyText(lines: number, seed: number, words?: number): string {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(Array.from({ length: words ?? 6 + rng.int(35) }, () => TINY_WORDS[rng.int(94)]).join(' '));
  return out.join('\n') + '\n';
}

export interface TinySetup {
  tokenizer: string;
  data: string;
}

/**
 * Tokenizer and prepared data (max-len 40, the fixtures' position limit) under `work`, in `name`;
 * with `words`, every line has that many words, so every batch has the same shapes.
 */
export function tinySetup(work: string, lines = 300, words?: number, name = 'data'): TinySetup {
  const tokenizer = tinyTokenizer(path.join(work, 'tokenizer'));
  const corpus = path.join(work, `${name}.txt`);
  fs.writeFileSync(corpus, tinyText(lines, 1, words));
  const data = path.join(work, name);
  cliOk(['prepare', '--input', corpus, '--tokenizer', tokenizer, '--out', data, '--max-len', '40', '--min-len', '5']);
  return { tokenizer, data };
}

/** An in-process Distiller (or subclass) of the tiny fixtures on prepared data, writing to `out`, quiet. */
export function tinyDistiller<D extends Distiller>(setup: TinySetup, out: string, params: Partial<DistillParams>,
  Kind: new (...a: ConstructorParameters<typeof Distiller>) => D): D {
  const teacher = loadMaskedLM(TINY_BERT), student = loadMaskedLM(TINY_DISTILBERT);
  if (!(teacher instanceof BertForMaskedLM && student instanceof DistilBertForMaskedLM)) throw new Error('the tiny fixtures changed kind');
  const ds = openDataset(setup.data);
  const d = new Kind(teacher, student, readModelConfig(TINY_DISTILBERT).config as DistilBertConfig, trainingData(ds),
    { ...DISTILL_DEFAULTS, ...params }, ds.meta.special_ids, out);
  d.warn = () => {};
  return d;
}

/** A failed check with the details a reader needs to reproduce it. */
export class CheckFailure extends Error {}

export function check(ok: boolean, what: string): void {
  if (!ok) throw new CheckFailure(what);
}
