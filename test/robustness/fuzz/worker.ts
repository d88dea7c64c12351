// One fuzzer in its own process: `node worker.js TARGET SEED FROM COUNT PROGRESS_FILE CASE_LIMIT_MS`.
// Runs cases FROM..FROM+COUNT-1 (case i draws from Rng(hash2(SEED, i)), so each reproduces alone),
// writes "index accepted rejected" of the case about to run into PROGRESS_FILE (so the driver can
// name the case a crash or a hang happened in, and keep the counts) and prints a JSON summary as its
// last stdout line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hash2, Rng } from '../../../src/data/rng.js';
import { ALL_TARGETS } from './all.js';

export interface WorkerSummary {
  target: string;
  cases: number;
  /** Cases the reader accepted. */
  accepted: number;
  /** Cases rejected with an Error naming the file (or the kernel). */
  rejected: number;
  /** Everything else: a non-Error throw, a message that does not name the file, a case over the time limit. */
  failed: number;
  /** The first of them, for the report. */
  failures: Array<{ case: number; problem: string; message: string }>;
}

/** Failures kept in the summary (all are counted). */
const KEEP = 20;

async function main(): Promise<void> {
  const [name, seedArg, fromArg, countArg, progressFile, limitArg] = process.argv.slice(2);
  const target = ALL_TARGETS.find((t) => t.name === name);
  if (!target) throw new Error(`unknown fuzz target "${name}"; targets: ${ALL_TARGETS.map((t) => t.name).join(', ')}`);
  const seed = Number(seedArg), from = Number(fromArg), count = Number(countArg), limitMs = Number(limitArg);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'distil-fuzz-'));
  const progress = fs.openSync(progressFile!, 'w');
  const summary: WorkerSummary = { target: target.name, cases: 0, accepted: 0, rejected: 0, failed: 0, failures: [] };
  const fail = (i: number, problem: string, message: string) => {
    if (summary.failed++ < KEEP) summary.failures.push({ case: i, problem, message: message.slice(0, 500) });
  };
  try {
    await target.setup(root);
    const dir = path.join(root, 'case');
    for (let i = from; i < from + count; i++) {
      fs.writeSync(progress, `${i} ${summary.accepted} ${summary.rejected}`.padEnd(40), 0);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const c = target.make(new Rng(hash2(seed, i)), dir);
      const t0 = performance.now();
      try {
        await c.run();
        summary.accepted++;
      } catch (e) {
        if (!(e instanceof Error)) fail(i, 'threw a non-Error', String(e));
        else if (!e.message.includes(c.expect)) fail(i, `message does not name ${c.expect}`, `${e.constructor.name}: ${e.message}`);
        else summary.rejected++;
      }
      const ms = performance.now() - t0;
      if (ms > limitMs) fail(i, `took ${ms.toFixed(0)} ms, over the ${limitMs} ms limit per case`, '');
      summary.cases++;
    }
  } finally {
    fs.closeSync(progress);
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(JSON.stringify(summary));
}

await main();
