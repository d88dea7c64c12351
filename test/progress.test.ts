// Progress rates (src/cli/progress.ts): the rate and the ETA are over the recent window, so a pause
// (an evaluation, an epoch boundary, a slow first step) does not skew them for the rest of the run,
// and a step-to-step swing does not make the displayed rate jump.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress, RATE_WINDOW_MS, RateWindow } from '../src/cli/progress.js';

test('RateWindow: the rate over the last window, not since the start', () => {
  const w = new RateWindow(10_000);
  assert.equal(w.rate(), 0);
  let t = 0, done = 0;
  for (; t <= 20_000; t += 100) w.add(t, (done += 10)); // 100 units/s
  assert.ok(Math.abs(w.rate() - 100) < 2, `rate ${w.rate()}`);
  for (t = 20_000 + 1000; t <= 40_000; t += 1000) w.add(t, (done += 30)); // then 30 units/s
  assert.ok(Math.abs(w.rate() - 30) < 1, `after the window passed: ${w.rate()}`);
  // Alternating fast and slow steps read as their mean.
  const a = new RateWindow(10_000);
  for (let k = 0, u = 0; k < 200; k++) a.add(k * 100, (u += k % 2 ? 190 : 10));
  assert.ok(Math.abs(a.rate() - 1000) < 20, `alternating: ${a.rate()}`);
});

test('Progress: after a long pause the rate and ETA come from the recent steps', () => {
  let t = 0;
  const lines: string[] = [];
  const p = new Progress({ total: 1000, unit: 'steps', stream: { write: (s) => lines.push(s) }, now: () => t, logEveryMs: 1 });
  let step = 0;
  for (t = 1000; t <= 60_000; t += 1000) p.update(++step); // 1 step/s
  t += 120_000; // an evaluation, or the time between two epochs' bars
  for (let k = 0; k < 40; k++) {
    t += 1000;
    p.update(++step);
  }
  // Since the start: 100 steps in 220 s = 0.45 steps/s and an ETA over half an hour; over the window, 1 step/s.
  assert.ok(RATE_WINDOW_MS <= 40_000);
  assert.match(lines.at(-1)!, /100 steps \/ 1,000 steps  1\.0 steps\/s  ETA 15m00s  3m41s elapsed/);
});

test('Progress.note: a line of its own above the bar on a terminal, the bar drawn again', () => {
  let t = 0;
  const out: string[] = [];
  const p = new Progress({ total: 10, unit: 'steps', label: 'finetune', stream: { isTTY: true, write: (s) => out.push(s) }, now: () => t });
  t = 1000;
  p.update(5);
  p.note('epoch 1: train loss 0.5000, eval accuracy 0.9000');
  assert.equal(out[1], '\r\x1b[2Kepoch 1: train loss 0.5000, eval accuracy 0.9000\n');
  assert.match(out[2]!, /^\r\x1b\[2Kfinetune  \[#{12}\.{12}\] +50\.0%  5 steps \/ 10 steps/);
});
