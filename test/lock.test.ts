// One writer per output (src/io/lock.ts): a second `distil` writing the same --out while the first
// runs is refused with the holder's PID; after the holder is killed with -9 its lock is taken over,
// and that is said; a finished run leaves no lock behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultTokenizerDir } from '../src/text/default_vocab.js';
import { cli, ROOT } from './helpers.js';

test('two runs writing one --out: the second is refused naming the first; a dead holder\'s lock is taken over', async () => {
  const work = mkdtempSync(join(tmpdir(), 'distil-lock-'));
  const text = join(work, 'text.txt');
  writeFileSync(text, Array.from({ length: 200 }, (_, i) => `line ${i} of a corpus with enough words to make a sequence of more than twelve tokens`).join('\n') + '\n');
  const data = join(work, 'data');
  assert.equal(cli('prepare', '--input', text, '--tokenizer', defaultTokenizerDir(), '--out', data, '--max-len', '32').status, 0);
  const out = join(work, 'teacher');
  const args = ['pretrain', '--config', 'tiny', '--data', data, '--out', out, '--batch-size', '4', '--max-steps', '100000', '--n-epoch', '1000'];
  const first = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], { stdio: 'ignore' });
  try {
    // Wait until the first run holds the lock (it takes it before loading anything).
    for (let i = 0; i < 200 && !existsSync(`${out}.lock`); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(JSON.parse(readFileSync(`${out}.lock`, 'utf8')).pid, first.pid);
    const second = cli(...args);
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, new RegExp(`${out} is being written by process ${first.pid} \\(distil pretrain, since .*\\); wait for it to finish, stop it, or choose another output`));
  } finally {
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
  }
  assert.ok(existsSync(`${out}.lock`), 'a killed run leaves its lock');
  const third = cli('pretrain', '--config', 'tiny', '--data', data, '--out', out, '--batch-size', '4', '--max-steps', '2', '--resume');
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stderr, new RegExp(`${out}\\.lock: took over the lock of process ${first.pid}, which is no longer running`));
  assert.ok(!existsSync(`${out}.lock`), 'a finished run removes its lock');
});
