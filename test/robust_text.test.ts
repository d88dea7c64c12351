// CI size of test/robustness/bad_text.ts (a 100 MB line in `npm run test:robustness`, 1 MB here):
// empty files and lines, invalid UTF-8, NUL bytes, controls, mixed scripts, emoji and RTL text
// through prepare, fine-tuning data, predict and every pipeline, none of it fatal.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { readLines, type LineCounts } from '../src/data/text_files.js';
import { badText } from './robustness/bad_text.js';
import { workDir } from './robustness/common.js';

const work = workDir('text');
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('bad text is handled and counted by prepare, fine-tuning, predict and the pipelines', async (t) => {
  const r = await badText(work, 1 << 20);
  t.diagnostic(`${r.cases} cases; prepare: ${JSON.stringify(r.prepare)}`);
});

test('readLines: an over-long line comes in pieces cut after a space or between characters; blank and bad lines counted', async () => {
  const file = path.join(work, 'lines.txt');
  const bad = Buffer.from([0x61, 0xff, 0x62]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from('aaa bbb ccc\n\n  \t\néééé\nx\u0000y\n'), bad, Buffer.from('\n')]));
  const counts: LineCounts = { blank: 0, bad: 0, cut: 0 };
  let bytes = 0;
  const got: string[] = [];
  for await (const line of readLines(file, (n) => (bytes += n), { counts, maxLineBytes: 5 })) got.push(line);
  assert.deepEqual(got, ['aaa', 'bbb', 'ccc', 'éé', 'éé', 'x\u0000y', 'a\ufffdb']);
  assert.deepEqual(counts, { blank: 2, bad: 2, cut: 2 });
  assert.equal(bytes, fs.statSync(file).size);
});
