// The `distil` CLI: --help lists the commands, bad flags fail with a clear message, and the demo
// runs end to end (at a tiny budget) on the embedded teacher, and resumes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli } from './helpers.js';


test('distil --help lists the commands', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: distil/);
  assert.match(r.stdout, /demo/);
});

test('a bad flag value is rejected with the flag named', () => {
  const r = cli('demo', '--steps', 'x');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--steps must be an integer/);
});

test('distil demo: distils the embedded teacher, fine-tunes both on MR, prints the table, writes the report, resumes', async () => {
  const { existsSync, mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = join(mkdtempSync(join(tmpdir(), 'distil-demo-')), 'demo');
  const args = ['demo', '--out', out, '--steps', '2', '--batch-size', '8', '--epochs', '1'];
  const r = cli(...args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /% of teacher/);
  assert.match(r.stdout, /BERT teacher +6 +12\.\dM/);
  assert.match(r.stdout, /DistilBERT: triple loss, teacher init +3 +\d+\.\dM/);
  assert.match(r.stdout, /fewer parameters and is [\d.]+x as fast/);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.match(html, /<svg/);
  assert.match(html, /MR \(movie reviews\) acc\. %/);
  for (const f of ['mlm/teacher.json', 'mlm/triple.json', 'finetune/teacher/mr-s1.json', 'finetune/triple/mr-s1.json', 'speed.json'])
    assert.ok(existsSync(join(out, f)), f);
  const again = cli(...args);
  assert.equal(again.status, 0, again.stderr);
  assert.equal([...again.stdout.matchAll(/done earlier/g)].length, 12, again.stdout);
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
