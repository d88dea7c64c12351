// Resumable fine-tuning (tasks/checkpoints.ts, finetune_loop.ts): `finetune` and `finetune-qa` write
// checkpoints under OUT/checkpoints; SIGTERM / SIGINT stop a run after the current step with a
// checkpoint (exit 143 / 130), SIGKILL loses at most the steps since the last one, and --resume
// continues to exactly the model and metrics of an uninterrupted run.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { listCheckpoints } from '../src/train/checkpoint.js';
import { ROOT, tinyBertDir } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'distil-ft-resume-'));
const main = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const ONE_THREAD = { ...process.env, DISTIL_THREADS: '1' };
const DATA = join(ROOT, 'assets', 'datasets', 'mr');

/** Run `args`; once `out` holds more than `after` checkpoints, send `signal`. Resolves with the exit code and output. */
function runAndSignal(args: string[], out: string, after: number, signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...args], { env: ONE_THREAD });
    let stdout = '', stderr = '', sent = false;
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const poll = setInterval(() => {
      const newest = listCheckpoints(out).at(-1);
      if (!sent && newest !== undefined && Number(/step-(\d+)$/.exec(newest)![1]) > after) {
        sent = true;
        child.kill(signal);
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, stdout, stderr });
    });
  });
}

const run = (args: string[]) => spawnSync(process.execPath, [main, ...args], { env: ONE_THREAD, encoding: 'utf8' });

test('finetune: SIGTERM, SIGINT and SIGKILL mid-run, then --resume, end with the weights and metrics of an uninterrupted run', async () => {
  const model = tinyBertDir(join(work, 'model'), { hidden_size: 64, intermediate_size: 128 });
  const rows = readFileSync(join(DATA, 'train.tsv'), 'utf8').trim().split('\n');
  const train = join(work, 'train.tsv'), dev = join(work, 'dev.tsv');
  writeFileSync(train, rows.slice(0, 401).join('\n') + '\n');
  writeFileSync(dev, [rows[0], ...rows.slice(401, 481)].join('\n') + '\n');
  // 50 steps an epoch, 2 epochs; a checkpoint every 7 steps and at each epoch's end.
  const args = (out: string) => ['finetune', '--model', model, '--train', train, '--eval', dev, '--out', out, '--n-epoch', '2',
    '--batch-size', '8', '--max-length', '48', '--learning-rate', '1e-3', '--checkpoint-interval', '7', '--keep-checkpoints', '2'];
  const straight = join(work, 'straight');
  const s = run(args(straight));
  assert.equal(s.status, 0, s.stderr);
  assert.ok(listCheckpoints(straight).at(-1)!.endsWith('step-00000100'), 'the last checkpoint is at the end of the run');

  const cut = join(work, 'cut');
  for (const [signal, code, after] of [['SIGTERM', 143, 3], ['SIGINT', 130, 30], ['SIGKILL', null, 60]] as const) {
    const r = await runAndSignal([...args(cut), '--resume'], cut, after, signal);
    assert.equal(r.code, code, r.stderr);
    if (signal === 'SIGKILL') continue;
    assert.match(r.stderr, new RegExp(`stopped by ${signal} after optimizer step (\\d+); checkpoint .*step-\\d+ written: rerun the same command with --resume`));
    const step = Number(/after optimizer step (\d+)/.exec(r.stderr)![1]);
    assert.ok(step > after && step < 100, `stopped at ${step}`);
    assert.ok(listCheckpoints(cut).some((c) => c.endsWith(`step-${String(step).padStart(8, '0')}`)), 'a checkpoint at the step it stopped');
    if (after > 0 && signal === 'SIGINT') assert.match(r.stdout, /resumed from .*step-\d+ at step \d+/);
  }
  const changed = run([...args(cut), '--resume', '--learning-rate', '2e-3']);
  assert.notEqual(changed.status, 0);
  assert.match(changed.stderr, /option learning_rate was 0\.001 in the checkpointed run, now 0\.002; resume with the same options/);
  const last = run([...args(cut), '--resume']);
  assert.equal(last.status, 0, last.stderr);
  assert.match(last.stdout, /resumed from .*step-\d+ at step \d+/);
  assert.ok(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(straight, 'model.safetensors'))), 'same weights as an uninterrupted run');
  assert.deepEqual(JSON.parse(readFileSync(join(cut, 'eval_results.json'), 'utf8')), JSON.parse(readFileSync(join(straight, 'eval_results.json'), 'utf8')));
  assert.ok(existsSync(join(cut, 'checkpoints')), 'checkpoints survive the best epoch being saved over OUT');
  // Resuming a finished run redoes nothing and keeps the same model.
  const again = run([...args(cut), '--resume']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /resumed from .*step-00000100 at step 100/);
  assert.ok(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(straight, 'model.safetensors'))));
  // Without --resume a run starts over: the earlier run's checkpoints go, and none of them is resumed later.
  const fresh = run(args(cut).map((a, i, all) => (all[i - 1] === '--n-epoch' ? '1' : a)));
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.match(fresh.stderr, /removed 2 checkpoint\(s\) of an earlier run in .*checkpoints \(pass --resume to continue a run instead\)/);
  assert.deepEqual(listCheckpoints(cut).map((c) => c.slice(-13)), ['step-00000049', 'step-00000050']);
});

test('finetune-qa: SIGTERM writes a checkpoint and --resume ends where an uninterrupted run does', async () => {
  const model = tinyBertDir(join(work, 'qa-model'), { hidden_size: 64, intermediate_size: 128 });
  const context = 'The cat sat on the mat in the small house by the river. The dog slept under the old table near the door.';
  const qas = Array.from({ length: 60 }, (_, i) => i % 2 === 0
    ? { id: `q${i}`, question: `where did the cat sit ${i}?`, answers: [{ text: 'on the mat', answer_start: context.indexOf('on the mat') }] }
    : { id: `q${i}`, question: `where did the dog sleep ${i}?`, answers: [{ text: 'under the old table', answer_start: context.indexOf('under the old table') }] });
  const squad = join(work, 'squad.json');
  writeFileSync(squad, JSON.stringify({ version: '1.1', data: [{ title: 't', paragraphs: [{ context, qas }] }] }));
  const args = (out: string) => ['finetune-qa', '--model', model, '--train', squad, '--eval', squad, '--out', out, '--n-epoch', '2',
    '--batch-size', '4', '--max-length', '64', '--doc-stride', '16', '--learning-rate', '1e-3', '--checkpoint-interval', '5'];
  const straight = join(work, 'qa-straight');
  const s = run(args(straight));
  assert.equal(s.status, 0, s.stderr);
  const cut = join(work, 'qa-cut');
  const r = await runAndSignal([...args(cut), '--resume'], cut, 3, 'SIGTERM');
  assert.equal(r.code, 143, r.stderr);
  const last = run([...args(cut), '--resume']);
  assert.equal(last.status, 0, last.stderr);
  assert.ok(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(straight, 'model.safetensors'))), 'same weights as an uninterrupted run');
  assert.deepEqual(JSON.parse(readFileSync(join(cut, 'predictions.json'), 'utf8')), JSON.parse(readFileSync(join(straight, 'predictions.json'), 'utf8')));
});
