// Bounded memory: `prepare` on a generated multi-gigabyte corpus stays under a fixed RSS; `distil
// predict` over a million-line file writes its output while it runs and keeps a flat RSS; a long
// `distil distill` run's RSS stops growing after warm-up (the reference's users lost 40-hour runs to
// a leak: huggingface/transformers#1179).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/data/rng.js';
import { check, CHILD_ENV, cliOk, peakRssMb, spawnCli, TINY_BERT, TINY_DISTILBERT, TINY_WORDS, tinyModel, tinySetup } from './common.js';

const PREPARE_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prepare_child.js');
const MB = 2 ** 20;

/** `bytes` of tiny-vocabulary lines (6..40 words), written from 32 distinct 1 MiB blocks in seeded order. */
export function writeCorpus(file: string, bytes: number, seed: number): void {
  const rng = new Rng(seed);
  const blocks = Array.from({ length: 32 }, () => {
    const lines: string[] = [];
    let size = 0;
    while (size < MB) {
      const line = Array.from({ length: 6 + rng.int(35) }, () => TINY_WORDS[rng.int(94)]).join(' ');
      lines.push(line);
      size += line.length + 1;
    }
    return Buffer.from(lines.join('\n') + '\n');
  });
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < bytes; ) done += fs.writeSync(fd, blocks[rng.int(blocks.length)]!);
  } finally {
    fs.closeSync(fd);
  }
}

/** Run a child to completion, polling its peak RSS; `onPoll` sees each poll (for output-growth checks). */
async function measured(child: ReturnType<typeof spawn>, done: Promise<{ status: number | null; stderr: string }>, onPoll: () => void = () => {}):
  Promise<{ status: number | null; stderr: string; peakMb: number; seconds: number }> {
  const t0 = performance.now();
  let peakMb = 0;
  const poll = setInterval(() => {
    peakMb = Math.max(peakMb, peakRssMb(child.pid!) ?? 0);
    onPoll();
  }, 100);
  const r = await done;
  clearInterval(poll);
  return { ...r, peakMb, seconds: (performance.now() - t0) / 1000 };
}

export interface PrepareMemory {
  corpusMb: number;
  peakRssMb: number;
  seconds: number;
  sequences: number;
}

/** prepare() over a generated corpus of `bytes`; its peak RSS (the child's own VmHWM at exit) must stay under `limitMb`. */
export async function prepareMemory(work: string, bytes: number, limitMb: number): Promise<PrepareMemory> {
  const corpus = path.join(work, 'large-corpus.txt');
  writeCorpus(corpus, bytes, 11);
  const out = path.join(work, 'large-data');
  try {
    const child = spawn(process.execPath, [PREPARE_CHILD, corpus, out], { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const r = await measured(child, new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr }))));
    check(r.status === 0, `prepare on ${(bytes / MB).toFixed(0)} MB failed:\n${r.stderr.slice(-2000)}`);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { sequences: number; peakRssMb: number };
    const peak = Math.max(r.peakMb, result.peakRssMb);
    check(peak < limitMb, `prepare on ${(bytes / MB).toFixed(0)} MB peaked at ${peak.toFixed(0)} MB RSS, over ${limitMb} MB`);
    return { corpusMb: bytes / MB, peakRssMb: peak, seconds: r.seconds, sequences: result.sequences };
  } finally {
    fs.rmSync(corpus, { force: true });
    fs.rmSync(out, { recursive: true, force: true });
  }
}

export interface PredictMemory {
  lines: number;
  peakRssMb: number;
  outputMb: number;
  seconds: number;
  /** When output first appeared, as a share of the run time, and how much of it was there then. */
  firstOutputAt: number;
  firstOutputShare: number;
  /** Polls (every 100 ms) at which the output had grown. */
  growths: number;
}

/** `distil predict` over `lines` one-a-line inputs with the tiny model: output must grow during the run, RSS must stay under `limitMb`. */
export async function predictMemory(work: string, lines: number, limitMb: number): Promise<PredictMemory> {
  const model = tinyModel(path.join(work, 'predict-model'));
  const input = path.join(work, 'predict-input.txt');
  const rng = new Rng(5);
  const fd = fs.openSync(input, 'w');
  for (let done = 0; done < lines; done += 10_000) {
    const block = Array.from({ length: Math.min(10_000, lines - done) }, () => Array.from({ length: 3 + rng.int(10) }, () => TINY_WORDS[rng.int(94)]).join(' '));
    fs.writeSync(fd, block.join('\n') + '\n');
  }
  fs.closeSync(fd);
  const out = path.join(work, 'predict-output.jsonl');
  try {
    const { child, done } = spawnCli(['predict', '--model', model, '--input', input, '--out', out, '--task', 'text-classification']);
    const t0 = performance.now();
    let first = -1, firstSize = 0, size = 0, growths = 0;
    const r = await measured(child, done, () => {
      const now = fs.existsSync(out) ? fs.statSync(out).size : 0;
      if (now > size) {
        growths++;
        if (first < 0) [first, firstSize] = [performance.now() - t0, now];
      }
      size = now;
    });
    check(r.status === 0, `predict over ${lines} lines failed:\n${r.stderr.slice(-2000)}`);
    const written = fs.readFileSync(out, 'utf8').split('\n').length - 1;
    check(written === lines, `predict wrote ${written} lines for ${lines} inputs`);
    const firstOutputAt = first / 1000 / r.seconds, firstOutputShare = firstSize / fs.statSync(out).size;
    // Streaming: output was there while most of it was still to come, and it grew over several polls.
    check(first >= 0 && firstOutputShare < 0.5 && growths >= 3,
      `predict did not stream: ${(100 * firstOutputShare).toFixed(0)}% of the output at the first sight of it, ${growths} growths seen`);
    check(r.peakMb < limitMb, `predict over ${lines} lines peaked at ${r.peakMb.toFixed(0)} MB RSS, over ${limitMb} MB`);
    return { lines, peakRssMb: r.peakMb, outputMb: fs.statSync(out).size / MB, seconds: r.seconds, firstOutputAt, firstOutputShare, growths };
  } finally {
    fs.rmSync(input, { force: true });
    fs.rmSync(out, { force: true });
  }
}

export interface DistillMemory {
  steps: number;
  /** Largest rss_mb of the second quarter of the steps (after warm-up) and of the last quarter. */
  warmMb: number;
  lateMb: number;
}

/**
 * A `steps`-step tiny distillation on sequences of one length, so every step has the same shapes
 * (caches keyed by shape, bounded but filling over a long run, cannot pass for a leak); the last
 * quarter's RSS may exceed the second quarter's by at most `marginMb`.
 */
export function distillMemory(work: string, steps: number, marginMb: number): DistillMemory {
  const setup = tinySetup(work, 80, 30, 'fixed-length-data'); // 32 tokens a sequence, 20 full batches an epoch
  const out = path.join(work, 'long-distill');
  cliOk(['distill', '--teacher', TINY_BERT, '--student', TINY_DISTILBERT, '--data', setup.data, '--out', out, '--max-steps', String(steps),
    '--n-epoch', '100000', '--batch-size', '4', '--gradient-accumulation-steps', '1', '--checkpoint-interval', String(Math.ceil(steps / 8))]);
  const rss = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { rss_mb: number }).rss_mb);
  check(rss.length === steps, `metrics.jsonl has ${rss.length} lines for ${steps} steps`);
  const q = Math.floor(steps / 4);
  const warmMb = Math.max(...rss.slice(q, 2 * q)), lateMb = Math.max(...rss.slice(3 * q));
  check(lateMb <= warmMb + marginMb, `RSS grew after warm-up: ${warmMb.toFixed(1)} MB at most in steps ${q + 1}-${2 * q}, ` +
    `${lateMb.toFixed(1)} MB in the last quarter (margin ${marginMb} MB)`);
  return { steps, warmMb, lateMb };
}
