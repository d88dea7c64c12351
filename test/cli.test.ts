// The `distil` CLI: --help lists the commands, bad flags fail with a clear message, and the demo
// runs end to end (at a tiny budget) on the embedded teacher, and resumes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bertConfig } from '../src/io/config.js';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { cli, ROOT, tinyBertDir } from './helpers.js';


test('distil --help lists the commands', () => {
  const r = cli('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Usage: distil/);
  assert.match(r.stdout, /demo/);
});

test('distil --version prints the package version; help cites docs/method.md, nothing outside the repository', () => {
  const r = cli('--version');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  for (const cmd of ['init-student', 'distill']) {
    const h = cli(cmd, '--help').stdout;
    assert.match(h, /docs\/method\.md §\d/);
    assert.doesNotMatch(h, /SPEC/);
  }
});

test('inputs longer than the model\'s positions are refused up front, naming the limit and the fix', () => {
  const work = mkdtempSync(join(tmpdir(), 'distil-positions-'));
  const text = join(work, 'text.txt');
  writeFileSync(text, Array.from({ length: 40 }, (_, i) => `line ${i} of a corpus whose lines are long enough to pass the minimum length of twelve tokens`).join('\n'));
  const data = join(work, 'data');
  assert.equal(cli('prepare', '--input', text, '--tokenizer', defaultTokenizerDir(), '--out', data, '--max-len', '64', '--pack', 'full').status, 0);
  const config = join(work, 'config.json');
  writeFileSync(config, JSON.stringify({ ...bertConfig({ hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64,
    max_position_embeddings: 32 }), model_type: 'bert' }));
  const out = join(work, 'teacher');
  const r = cli('pretrain', '--config', config, '--data', data, '--out', out, '--batch-size', '4', '--max-steps', '2');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /data: a sequence of \d+ tokens is longer than the model's max_position_embeddings 32 \(config\.json\): .*distil prepare --max-len 32/);
  assert.ok(!existsSync(join(out, 'metrics.jsonl')), 'refused before the first step');
  const model = tinyBertDir(join(work, 'small'), { num_hidden_layers: 1, max_position_embeddings: 48 });
  const mr = join(ROOT, 'assets', 'datasets', 'mr');
  const f = cli('finetune', '--model', model, '--train', join(mr, 'dev.tsv'), '--eval', join(mr, 'test.tsv'), '--out', join(work, 'ft'), '--max-length', '64');
  assert.notEqual(f.status, 0);
  assert.match(f.stderr, /--max-length 64 is longer than .*small's max_position_embeddings 48 \(config\.json\): pass --max-length 48 or less/);
});

test('every numeric flag is checked, with the flag named: 0, -3, abc and 2.5 never reach the engine', () => {
  const cases: Array<[string[], RegExp]> = [
    ...['0', '-3', 'abc', '2.5'].map((v): [string[], RegExp] =>
      [['predict', '--model', 'm', '--input', 'x.txt', '--batch-size', v], new RegExp(`--batch-size must be an integer in \\[1, \\.\\.\\.\\], got "${v.replace('.', '\\.')}"`)]),
    [['eval-mlm', '--model', 'm', '--data', 'd', '--batch-size', '0'], /--batch-size must be an integer/],
    [['prepare', '--input', 'x', '--tokenizer', 't', '--out', 'o', '--max-len', '2'], /--max-len must be an integer in \[3,/],
    [['distill', '--teacher', 't', '--student', 's', '--data', 'd', '--out', 'o', '--batch-size', '2.5'], /command line: --batch-size must be an integer in \[1, 1000000\], got 2\.5/],
    [['finetune', '--model', 'm', '--train', 't.tsv', '--out', 'o', '--n-epoch', '0'], /command line: --n-epoch must be an integer/],
    [['crossval', '--model', 'm', '--data', 'd.tsv', '--seeds', '1,x'], /--seeds must be an integer in \[0, 4294967295\], got "x"/],
    [['demo', '--steps', '0'], /--steps must be an integer in \[1,/],
    [['train-tokenizer', '--input', 'x', '--out', 'o', '--vocab-size', 'many'], /--vocab-size must be an integer/],
    [['evaluate', '--model', 'm', '--data', 'd.tsv', '--max-length', '1e9'], /--max-length must be an integer in \[4, 100000\]/],
  ];
  for (const [args, want] of cases) {
    const r = cli(...args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, want, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('a bad flag value is rejected with the flag named', () => {
  const r = cli('demo', '--steps', 'x');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--steps must be an integer/);
});

test('distil demo: distils the embedded teacher, fine-tunes both on MR, prints the table, writes the report, resumes', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'distil-demo-')), 'demo');
  const args = ['demo', '--out', out, '--steps', '2', '--batch-size', '8', '--epochs', '1'];
  const r = cli(...args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /% of teacher/);
  assert.match(r.stdout, /BERT teacher +6 +7\.\dM/);
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
