// Runs one fuzz target in worker processes and watches them: a worker that dies (a crash, a native
// abort, running out of memory) or stops making progress (a hang) is reported with the case it was
// in, and a new worker continues after that case. Cases run in order, so the report is reproducible.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHILD_ENV } from '../common.js';
import type { WorkerSummary } from './worker.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** A case slower than this is a failure (default 2 s). */
  caseLimitMs?: number;
  /** A worker silent on one case this long is killed as hung (default 60 s). */
  hangMs?: number;
}

export type FuzzReport = WorkerSummary;

/** The command that reruns case `i` alone, for failure messages. */
export const reproduce = (target: string, seed: number, i: number): string =>
  `node ${path.relative(process.cwd(), WORKER)} '${target}' ${seed} ${i} 1 /tmp/progress 2000`;

function runWorker(target: string, o: Required<FuzzOptions>, from: number, count: number):
  Promise<{ summary: WorkerSummary | null; progress: number[]; death: string }> {
  const progressFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'distil-fuzz-progress-')), 'case');
  const child = spawn(process.execPath, [WORKER, target, String(o.seed), String(from), String(count), progressFile, String(o.caseLimitMs)],
    { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  /** [case index, accepted, rejected] as the worker last wrote them. */
  const current = (): number[] => {
    try {
      return fs.readFileSync(progressFile, 'utf8').trim().split(' ').map(Number);
    } catch {
      return [-1, 0, 0];
    }
  };
  let seen = -1, since = performance.now(), hung = false;
  const watchdog = setInterval(() => {
    const c = current()[0]!;
    if (c !== seen) [seen, since] = [c, performance.now()];
    else if (performance.now() - since > o.hangMs) {
      hung = true;
      child.kill('SIGKILL');
    }
  }, 500);
  return new Promise((resolve) => child.on('close', (status, signal) => {
    clearInterval(watchdog);
    const progress = current();
    fs.rmSync(path.dirname(progressFile), { recursive: true, force: true });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    if (status === 0 && last.startsWith('{')) return resolve({ summary: JSON.parse(last) as WorkerSummary, progress, death: '' });
    const death = hung ? `hung for over ${o.hangMs / 1000} s` : `worker died (${signal ?? `exit ${status}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    resolve({ summary: null, progress, death });
  }));
}

/** All `cases` of `target`; crashes and hangs become failures of the case they happened in. */
export async function fuzz(target: string, opts: FuzzOptions): Promise<FuzzReport> {
  const o = { caseLimitMs: 2000, hangMs: 60_000, ...opts };
  const report: FuzzReport = { target, cases: 0, accepted: 0, rejected: 0, failed: 0, failures: [] };
  let from = 0, deaths = 0;
  while (from < o.cases) {
    const r = await runWorker(target, o, from, o.cases - from);
    if (r.summary) {
      const s = r.summary;
      report.cases += s.cases;
      report.accepted += s.accepted;
      report.rejected += s.rejected;
      report.failed += s.failed;
      report.failures.push(...s.failures);
      break;
    }
    // Cases before the fatal one keep the counts the worker last wrote; they are not re-run.
    const [last = -1, accepted = 0, rejected = 0] = r.progress;
    const at = last >= from ? last : from;
    report.cases += at - from + 1;
    report.accepted += accepted;
    report.rejected += rejected;
    report.failed++;
    report.failures.push({ case: at, problem: r.death, message: `reproduce: ${reproduce(target, o.seed, at)}` });
    from = at + 1;
    if (++deaths >= 10) break;
  }
  return report;
}
