// Numerics: a NaN or infinity in a loss term (from a student or teacher weight) or in a gradient
// (with every loss term finite) must stop distillation with the step, the term and the parameter
// named, leave the parameters as they were after the last good step, and leave the last checkpoint
// as a resume point from which the run ends exactly where an undisturbed run ends.
import * as path from 'node:path';
import { Distiller } from '../../src/distill/distiller.js';
import type { MaskedBatch } from '../../src/train/masking.js';
import { check, tinyDistiller, type TinySetup } from './common.js';

const PARAMS = { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 5, checkpoint_interval: 1 };
const POISONED = 'distilbert.transformer.layer.0.ffn.lin1.weight';

/** A Distiller that can put a NaN into one gradient after the backward of optimizer step `at`. */
class GradientPoisoner extends Distiller {
  poisonAt = -1;
  override step(batch: MaskedBatch): Record<string, number> {
    const terms = super.step(batch);
    if (this.state.step + 1 === this.poisonAt) this.student.params.gradView(POISONED)[7] = NaN;
    return terms;
  }
}

const distiller = (setup: TinySetup, out: string): GradientPoisoner => tinyDistiller(setup, out, PARAMS, GradientPoisoner);

function stopsWith(run: () => void, what: string, ...parts: Array<string | RegExp>): string {
  try {
    run();
  } catch (e) {
    const msg = (e as Error).message;
    for (const p of parts) check(typeof p === 'string' ? msg.includes(p) : p.test(msg), `${what}: the error does not say ${p}:\n${msg}`);
    return msg;
  }
  throw new Error(`${what}: training did not stop`);
}

/** The three divergences; returns the error messages they produced. */
export function numerics(setup: TinySetup, work: string): string[] {
  const clean = distiller(setup, path.join(work, 'numerics-clean'));
  clean.train();
  const messages: string[] = [];

  const weights = distiller(setup, path.join(work, 'numerics-weight'));
  messages.push(stopsWith(() => weights.train((log) => {
    if (log.step === 2) weights.student.params.view('vocab_transform.weight').fill(NaN);
  }), 'NaN student weight', /loss(_\w+)? is NaN at optimizer step 3/, 'parameter vocab_transform.weight holds NaN', 'step-00000002'));

  const teacher = distiller(setup, path.join(work, 'numerics-teacher'));
  messages.push(stopsWith(() => teacher.train((log) => {
    if (log.step !== 1) return;
    teacher.teacher.params.view('cls.predictions.transform.dense.weight')[0] = Infinity;
    teacher.teacher.params.touch(); // the frozen teacher's packed weight copies are keyed by this version
  }), 'infinite teacher weight', /loss(_\w+)? is (NaN|-?Infinity) at optimizer step 2/,
  'teacher parameter cls.predictions.transform.dense.weight holds Infinity', 'step-00000001'));

  const out = path.join(work, 'numerics-gradient');
  const grad = distiller(setup, out);
  grad.poisonAt = 3;
  let before: Float32Array | null = null;
  messages.push(stopsWith(() => grad.train((log) => {
    if (log.step === 2) before = grad.student.params.data.slice();
  }), 'NaN gradient', 'gradient norm is NaN at optimizer step 3', `the gradient of parameter ${POISONED} holds NaN (element 7)`,
  'the loss terms were finite', 'parameters were not updated', 'step-00000002'));
  check(before !== null && grad.student.params.data.every((v, i) => Object.is(v, before![i])), 'the NaN gradient changed the parameters');
  check(grad.opt.step === 2, `the NaN gradient advanced AdamW to step ${grad.opt.step}`);

  const resumed = distiller(setup, out);
  check(resumed.resume(true)?.endsWith('step-00000002') === true, 'the resume point is not the last good checkpoint');
  resumed.train();
  check(resumed.student.params.data.every((v, i) => Object.is(v, clean.student.params.data[i])),
    'resuming after the NaN gradient does not end with the undisturbed run\'s weights');
  return messages;
}
