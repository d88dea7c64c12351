// The `distil` CLI: --help lists the commands, bad flags fail with a clear message, and the demo
// runs a forward pass and distillation steps on a tiny random model.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers.js';

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8' });

test('distil --help lists the commands', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: distil/);
  assert.match(r.stdout, /demo/);
});

test('a bad flag value is rejected with the flag named', () => {
  const r = cli('demo', '--layers', 'x');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--layers must be an integer/);
});

test('distil demo runs a tiny teacher and student and the loss falls', () => {
  const r = cli('demo', '--layers', '2', '--hidden', '32', '--heads', '2', '--batch', '2', '--seq-len', '16', '--steps', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /BertForMaskedLM \(teacher\): 2 layers/);
  assert.match(r.stdout, /logits +\[2, 16, 30522\]/);
  const losses = [...r.stdout.matchAll(/step \d: loss ([\d.]+)/g)].map((m) => Number(m[1]));
  assert.equal(losses.length, 3);
  assert.ok(losses[2]! < losses[0]!, `loss did not fall: ${losses}`);
});
