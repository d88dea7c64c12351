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

test('training options: --options-file values apply, unknown keys and bad values are errors naming the key', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'distil-cli-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ alpha_ce: 5, n_layer: 3 }));
  const base = ['distill', '--teacher', dir, '--student', dir, '--data', dir, '--out', join(dir, 'out')];
  let r = cli(...base, '--options-file', bad);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bad\.json: unknown option "n_layer"/);
  writeFileSync(bad, JSON.stringify({ temperature: 'hot' }));
  r = cli(...base, '--options-file', bad);
  assert.match(r.stderr, /option "temperature" must be a number/);
  r = cli(...base, '--word-mask', 'x');
  assert.match(r.stderr, /--word-mask needs a number/);
  // Valid options get as far as loading the teacher, which names the missing file.
  r = cli(...base, '--temperature', '3');
  assert.match(r.stderr, /config\.json/);
  const help = cli('distill', '--help');
  for (const flag of ['--alpha-ce', '--restrict-ce-to-mask', '--gradient-accumulation-steps', '--resume', '--options-file'])
    assert.ok(help.stdout.includes(flag), flag);
});
