// Kill anywhere, lose nothing: `distil distill` / `distil pretrain` on the tiny fixtures are
// SIGKILLed at seeded random moments (at a random time, or just as the n-th checkpoint directory
// starts being written), sometimes get their newest checkpoint corrupted on top, and are restarted
// with --resume until they finish; the final model.safetensors must equal an uninterrupted run's
// byte for byte, metrics.jsonl must hold each step exactly once, and no temporary may be left.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../src/data/rng.js';
import { check, CHILD_ENV, cli, spawnCli, TINY_BERT, TINY_DISTILBERT, type TinySetup } from './common.js';

export type TrainCommand = 'distill' | 'pretrain';

export interface KillOptions {
  command: TrainCommand;
  setup: TinySetup;
  work: string;
  trials: number;
  seed: number;
  /** Optimizer steps of each run. */
  steps: number;
  /** Kills per trial: 1 to maxKills. */
  maxKills: number;
  log?: (line: string) => void;
}

export interface KillReport {
  command: TrainCommand;
  trials: number;
  /** Trials whose final weights equal the uninterrupted run's. */
  survived: number;
  /** Processes actually killed (a timed kill can come after the run finished). */
  kills: number;
  /** Kills that left a checkpoint temporary behind: the kill hit a checkpoint write. */
  midCheckpoint: number;
  /** Resumes that found the newest checkpoint corrupted, reported it and used the previous one. */
  fellBack: number;
}

function args(cmd: TrainCommand, setup: TinySetup, out: string, steps: number): string[] {
  // Two micro-batches a step, a checkpoint every step, two kept: resumes cross accumulation and
  // rotation, and with the default data an epoch ends at step 10.
  const common = ['--data', setup.data, '--out', out, '--max-steps', String(steps), '--batch-size', '4',
    '--gradient-accumulation-steps', '2', '--checkpoint-interval', '1', '--keep-checkpoints', '2', '--resume'];
  return cmd === 'distill'
    ? ['distill', '--teacher', TINY_BERT, '--student', TINY_DISTILBERT, ...common]
    : ['pretrain', '--config', TINY_BERT, '--tokenizer', setup.tokenizer, ...common];
}

const checkpoints = (out: string): string => path.join(out, 'checkpoints');
const entries = (out: string): string[] => (fs.existsSync(checkpoints(out)) ? fs.readdirSync(checkpoints(out)).sort() : []);

/**
 * Run until it exits or is killed: `at` says when (ms after start, or on the n-th new checkpoint
 * temporary). Returns the killed child's pid, or null when it finished first.
 */
async function runAndMaybeKill(argv: string[], out: string, at: { ms: number } | { tmp: number; spinMs: number }): Promise<number | null> {
  fs.mkdirSync(checkpoints(out), { recursive: true });
  const { child, done } = spawnCli(argv, CHILD_ENV);
  let timer: NodeJS.Timeout | undefined;
  let watcher: fs.FSWatcher | undefined;
  if ('ms' in at) timer = setTimeout(() => child.kill('SIGKILL'), at.ms);
  else {
    const seen = new Set<string>();
    watcher = fs.watch(checkpoints(out), (_event, name) => {
      if (!name || !name.includes('.tmp-') || name.includes('-del') || seen.has(name)) return;
      seen.add(name);
      if (seen.size < at.tmp) return;
      // Spin rather than sleep: a tiny checkpoint is written in a few milliseconds.
      const until = performance.now() + at.spinMs;
      while (performance.now() < until);
      child.kill('SIGKILL');
    });
  }
  const r = await done;
  clearTimeout(timer);
  watcher?.close();
  if (r.signal === 'SIGKILL') return child.pid!;
  if (r.status !== 0) throw new Error(`distil ${argv.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  return null;
}

/** Damage the newest of two or more checkpoints in one of three ways; returns its name or null. */
function corruptNewest(out: string, rng: Rng): string | null {
  const done = entries(out).filter((n) => !n.includes('.tmp'));
  if (done.length < 2) return null;
  const dir = path.join(checkpoints(out), done.at(-1)!);
  const how = rng.int(3);
  if (how === 0) {
    const f = path.join(dir, 'model.safetensors');
    const b = fs.readFileSync(f);
    b[b.length - 1 - rng.int(1000)]! ^= 0x10; // a flipped bit in the weights
    fs.writeFileSync(f, b);
  } else if (how === 1) fs.truncateSync(path.join(dir, 'optimizer.safetensors'), 100);
  else fs.rmSync(path.join(dir, 'manifest.json'));
  return done.at(-1)!;
}

export async function killTrials(o: KillOptions): Promise<KillReport> {
  const log = o.log ?? (() => {});
  const refOut = path.join(o.work, `${o.command}-reference`);
  const t0 = performance.now();
  const ref = cli(args(o.command, o.setup, refOut, o.steps));
  if (ref.status !== 0) throw new Error(`reference ${o.command} run failed:\n${ref.stderr.slice(-3000)}`);
  const refMs = performance.now() - t0;
  const refWeights = fs.readFileSync(path.join(refOut, 'model.safetensors'));
  const report: KillReport = { command: o.command, trials: 0, survived: 0, kills: 0, midCheckpoint: 0, fellBack: 0 };
  const rng = new Rng(o.seed);
  for (let trial = 0; trial < o.trials; trial++) {
    const out = path.join(o.work, `${o.command}-trial-${trial}`);
    const argv = args(o.command, o.setup, out, o.steps);
    const plan = 1 + rng.int(o.maxKills);
    const notes: string[] = [];
    for (let k = 0; k < plan; k++) {
      const at = rng.next() < 0.5 ? { ms: Math.round(rng.next() * refMs) } : { tmp: 1 + rng.int(Math.max(1, o.steps - 2)), spinMs: rng.int(4) };
      const pid = await runAndMaybeKill(argv, out, at);
      if (pid === null) break; // finished before the kill
      report.kills++;
      const left = entries(out).filter((n) => new RegExp(`\\.tmp-(del-)?${pid}$`).test(n));
      if (left.length > 0) report.midCheckpoint++;
      notes.push(`killed (${'ms' in at ? `${at.ms} ms` : `checkpoint write ${at.tmp} + ${at.spinMs} ms`})${left.length ? ` leaving ${left.join(', ')}` : ''}`);
    }
    // Every third trial also finds its newest checkpoint damaged when it resumes.
    const corrupted = trial % 3 === 2 ? corruptNewest(out, rng) : null;
    const last = spawnCli(argv, CHILD_ENV);
    const r = await last.done;
    check(r.status === 0, `${o.command} trial ${trial}: the final --resume run failed (${notes.join('; ')}):\n${r.stderr.slice(-3000)}`);
    if (corrupted) {
      check(new RegExp(`checkpoint \\S*${corrupted} is unusable: .+; trying the previous one`).test(r.stderr),
        `${o.command} trial ${trial}: corrupted ${corrupted} was not reported:\n${r.stderr.slice(-2000)}`);
      report.fellBack++;
      notes.push(`corrupted ${corrupted}`);
    }
    const same = fs.readFileSync(path.join(out, 'model.safetensors')).equals(refWeights);
    check(same, `${o.command} trial ${trial}: final weights differ from the uninterrupted run (${notes.join('; ')})`);
    const steps = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    check(steps.join() === Array.from({ length: o.steps }, (_, i) => i + 1).join(),
      `${o.command} trial ${trial}: metrics.jsonl steps are ${steps.join(',')} (${notes.join('; ')})`);
    const stale = [...entries(out), ...fs.readdirSync(out)].filter((n) => n.includes('.tmp'));
    check(stale.length === 0, `${o.command} trial ${trial}: temporaries left after the final run: ${stale.join(', ')}`);
    report.trials++;
    report.survived++;
    log(`${o.command} trial ${trial + 1}/${o.trials}: ${notes.join('; ') || 'finished before any kill'}; final weights identical`);
  }
  return report;
}
