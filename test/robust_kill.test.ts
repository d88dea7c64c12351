// CI size of test/robustness/kill.ts (24 trials in `npm run test:robustness`): SIGKILLed distill
// and pretrain runs resume to the uninterrupted run's exact weights; and, in-process, what a resume
// does with damaged checkpoints, leftovers of killed writes and a run killed before its first one.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { Distiller } from '../src/distill/distiller.js';
import { checkpointProblem, listCheckpoints } from '../src/train/checkpoint.js';
import { tinyDistiller, tinySetup, workDir } from './robustness/common.js';
import { killTrials } from './robustness/kill.js';

const work = workDir('kill');
after(() => fs.rmSync(work, { recursive: true, force: true }));
const setup = tinySetup(work, 80);

test('killed distill and pretrain runs resume to the exact weights of uninterrupted runs', async (t) => {
  for (const command of ['distill', 'pretrain'] as const) {
    const r = await killTrials({ command, setup, work, trials: command === 'distill' ? 2 : 1, seed: 7, steps: 6, maxKills: 2 });
    assert.equal(r.survived, r.trials);
    t.diagnostic(`${command}: ${r.survived}/${r.trials} trials survived ${r.kills} kills (${r.midCheckpoint} during a checkpoint write)`);
  }
});

test('resume: damaged checkpoints are reported and passed over, leftovers removed, no checkpoint starts from step 0', () => {
  const params = { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 4, checkpoint_interval: 1, keep_checkpoints: 3 };
  const out = path.join(work, 'damaged');
  const notes: string[] = [];
  const fresh = () => {
    const d = tinyDistiller(setup, out, params, Distiller);
    d.warn = (l) => notes.push(l);
    return d;
  };
  assert.equal(fresh().resume(true), null);
  assert.match(notes.pop()!, /no checkpoint under .*checkpoints yet; starting from step 0/);

  const straight = fresh();
  straight.train();
  const names = listCheckpoints(out).map((c) => path.basename(c));
  assert.deepEqual(names, ['step-00000002', 'step-00000003', 'step-00000004']);
  for (const c of listCheckpoints(out)) assert.equal(checkpointProblem(c), null);

  // The newest has a flipped byte, the one before lost its manifest: the resume falls back to step 2.
  const [, third, fourth] = listCheckpoints(out);
  const weights = path.join(fourth!, 'model.safetensors');
  const bytes = fs.readFileSync(weights);
  bytes[bytes.length - 3]! ^= 1;
  fs.writeFileSync(weights, bytes);
  fs.rmSync(path.join(third!, 'manifest.json'));
  fs.mkdirSync(path.join(out, 'checkpoints', 'step-00000005.tmp-999999')); // a killed write's leftover
  const resumed = fresh();
  assert.match(resumed.resume(true)!, /step-00000002$/);
  assert.match(notes[0]!, /checkpoint .*step-00000004 is unusable: model\.safetensors does not match its SHA-256.*trying the previous one/);
  assert.match(notes[1]!, /checkpoint .*step-00000003 is unusable: manifest\.json is missing/);
  assert.throws(() => fresh().resume(fourth!), /step-00000004: cannot resume from this checkpoint: model\.safetensors does not match/);
  resumed.train();
  assert.match(notes.at(-1)!, /removed .*step-00000005\.tmp-999999/);
  assert.deepEqual(resumed.student.params.data, straight.student.params.data);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['step-00000002', 'step-00000003', 'step-00000004']);
  for (const c of listCheckpoints(out)) assert.equal(checkpointProblem(c), null);
});
