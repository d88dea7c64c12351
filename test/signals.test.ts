// SIGTERM / SIGINT during training (native/signals.cc, Trainer.train): the step in progress
// finishes, a checkpoint is written at it, the process exits with 128 + the signal, and the same
// command with --resume continues to exactly the weights of an uninterrupted run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { native } from '../src/tensor/native.js';
import { listCheckpoints } from '../src/train/checkpoint.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { cli, ROOT } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'distil-signals-'));
const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ONE_THREAD = { ...process.env, DISTIL_THREADS: '1' };

/** Run `args` and send `signal` once metrics.jsonl holds `afterSteps` lines; resolves with the exit code and stderr. */
function runAndSignal(args: string[], metrics: string, afterSteps: number, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { env: ONE_THREAD });
    let stderr = '', sent = false;
    child.stderr.on('data', (d) => (stderr += String(d)));
    const poll = setInterval(() => {
      let lines = 0;
      try {
        lines = readFileSync(metrics, 'utf8').trim().split('\n').length;
      } catch {
        return;
      }
      if (!sent && lines >= afterSteps) {
        sent = true;
        child.kill(signal);
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}

test('SIGTERM and SIGINT stop training after the current step with a checkpoint; --resume ends where an uninterrupted run does', async () => {
  const text = join(work, 'text.txt');
  writeFileSync(text, Array.from({ length: 300 }, (_, i) => `sentence ${i} of a small corpus long enough for every line to be kept`).join('\n') + '\n');
  const data = join(work, 'data');
  assert.equal(cli('prepare', '--input', text, '--tokenizer', defaultTokenizerDir(), '--out', data, '--max-len', '32').status, 0);
  const args = (out: string) => ['pretrain', '--config', 'tiny', '--data', data, '--out', out, '--batch-size', '8', '--max-steps', '60',
    '--n-epoch', '100', '--checkpoint-interval', '1000', '--learning-rate', '1e-3'];
  const straight = join(work, 'straight');
  assert.equal(spawnStatus(args(straight)), 0);
  const cut = join(work, 'cut');
  for (const [signal, code, after] of [['SIGTERM', 143, 5], ['SIGINT', 130, 25]] as const) {
    const r = await runAndSignal([...args(cut), '--resume'], join(cut, 'metrics.jsonl'), after, signal);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, new RegExp(`stopped by ${signal} after optimizer step (\\d+); checkpoint .*step-\\d+ written: rerun the same command with --resume`));
    const step = Number(/after optimizer step (\d+)/.exec(r.stderr)![1]);
    assert.ok(step >= after && step < 60, `stopped at ${step}`);
    assert.ok(listCheckpoints(cut).some((c) => c.endsWith(`step-${String(step).padStart(8, '0')}`)), 'a checkpoint at the step it stopped');
  }
  assert.equal(spawnStatus([...args(cut), '--resume']), 0);
  assert.ok(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(straight, 'model.safetensors'))), 'same weights as an uninterrupted run');
});

/** Exit status of `distil args` on one thread (an exact resume needs the same thread count throughout). */
function spawnStatus(args: string[]): number | null {
  return spawnSync(process.execPath, [main, ...args], { env: ONE_THREAD, stdio: 'ignore' }).status;
}

test('unwatchSignals forgets a received signal and restores the handlers a run replaced', async () => {
  native.watchSignals();
  process.kill(process.pid, 'SIGTERM');
  assert.equal(native.pendingSignal(), 15, 'recorded, not delivered to Node');
  native.unwatchSignals();
  assert.equal(native.pendingSignal(), 0);
  // Node's own handling is back: a listener hears the next SIGTERM.
  let heard = false;
  process.once('SIGTERM', () => { heard = true; });
  process.kill(process.pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(heard);
  assert.equal(native.pendingSignal(), 0);
});
