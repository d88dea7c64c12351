// Sequence packing (src/data/packing.ts, `distil prepare --pack`): DOC-SENTENCES and FULL-SENTENCES
// layouts, long lines, every token kept once and in order, document boundaries from blank lines,
// determinism, and the real BERT tokenizer through the CLI.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { Packer, type PackMode } from '../src/data/packing.js';
import { cli, ROOT } from './helpers.js';
import { checkContents, CLS, fresh, run, SEP, text, WordTokenizer, words, wrap } from './data_helpers.js';

/** Pack documents (lists of lines of inner ids) and return the sequences. */
function pack(docs: number[][][], maxLen: number, mode: PackMode): number[][] {
  const out: number[][] = [];
  const p = new Packer(maxLen, CLS, SEP, mode, (s) => out.push(Array.from(s)));
  for (const doc of docs) {
    for (const line of doc) p.add(wrap(line));
    p.endDocument();
  }
  p.finish();
  return out;
}

test('Packer doc: lines of one document fill a sequence; a line that does not fit starts the next', () => {
  const a = [5, 6, 7], b = [8, 9], c = [10, 11, 12, 13], d = [14];
  // max-len 8 -> 6 inner tokens: a+b (5), then c+d (5); the next document starts a new sequence.
  assert.deepEqual(pack([[a, b, c, d], [b, a]], 8, 'doc'), [wrap([...a, ...b]), wrap([...c, ...d]), wrap([...b, ...a])]);
});

test('Packer full: documents run on with [SEP] between them; the separator counts toward the length', () => {
  const a = [5, 6, 7], b = [8, 9], c = [10, 11];
  assert.deepEqual(pack([[a], [b], [c]], 8, 'full'), [wrap([...a, SEP, ...b]), wrap([...c])]);
  // [SEP] + the next document's line must fit together, else the line starts the next sequence.
  assert.deepEqual(pack([[a, c], [b]], 8, 'full'), [wrap([...a, ...c]), wrap([...b])]);
});

test('Packer: a line longer than a sequence is cut; its tail stays open for the lines after it', () => {
  const long = words(13, 1), next = [50, 51];
  const p = pack([[long, next]], 7, 'doc'); // 5 inner tokens a sequence
  assert.deepEqual(p, [wrap(long.slice(0, 5)), wrap(long.slice(5, 10)), wrap([...long.slice(10), ...next])]);
});

test('Packer: every token of every line lands once, in order, in sequences of at most max-len', () => {
  for (const mode of ['doc', 'full'] as const)
    for (const maxLen of [3, 16, 50]) {
      const docs = Array.from({ length: 30 }, (_, d) => Array.from({ length: 1 + (d % 5) }, (_, l) => words(1 + ((d * 7 + l * 3) % 40), d * 10 + l)));
      const seqs = pack(docs, maxLen, mode);
      assert.ok(seqs.every((s) => s.length <= maxLen && s[0] === CLS && s[s.length - 1] === SEP && s.length > 2));
      const inner = seqs.flatMap((s) => s.slice(1, -1)).filter((id) => id !== SEP);
      assert.deepEqual(inner, docs.flat(2), `${mode} at max-len ${maxLen}`);
      if (mode === 'full') assert.ok(seqs.flatMap((s) => s.slice(1, -1)).filter((id) => id === SEP).length < docs.length);
    }
});

test('prepare --pack: blank lines end documents, whichever batch they fall in; deterministic; meta records the mode', async () => {
  const dir = fresh('pack-corpus');
  fs.mkdirSync(dir);
  const docs = Array.from({ length: 40 }, (_, d) => Array.from({ length: 1 + (d % 4) }, (_, l) => words(3 + ((d + l) % 9), d * 4 + l)));
  // Documents apart by one or more blank (or whitespace) lines; the file has no final newline.
  fs.writeFileSync(path.join(dir, 'a.txt'), docs.map((doc, d) => doc.map(text).join('\n') + (d % 3 === 0 ? '\n \n\n' : '\n\n')).join('').trimEnd());
  for (const mode of ['doc', 'full'] as const) {
    const expected = pack(docs, 24, mode).filter((s) => s.length >= 6);
    const outs = [fresh(`pack-${mode}`), fresh(`pack-${mode}-again`)];
    for (const [i, out] of outs.entries()) {
      const { meta } = await run({ inputs: [dir], tokenizer: new WordTokenizer(), out, maxLen: 24, minLen: 6, pack: mode, batchLines: 3 + i * 4 });
      assert.equal(meta.pack, mode);
      assert.equal(meta.documents, docs.length);
      assert.equal(meta.num_lines, docs.flat().length);
      checkContents(out, expected, 100);
    }
    for (const f of ['shard-00000.bin', 'shard-00000.idx', 'order.bin'])
      assert.deepEqual(fs.readFileSync(path.join(outs[0]!, f)), fs.readFileSync(path.join(outs[1]!, f)), `${mode}: ${f} depends on the batch size`);
  }
  const unpacked = fresh('unpacked');
  const { meta } = await run({ inputs: [dir], tokenizer: new WordTokenizer(), out: unpacked, maxLen: 24, minLen: 1 });
  assert.equal(meta.pack, undefined);
  assert.equal(meta.num_sequences, docs.flat().length, 'without --pack: one sequence a line, blank lines skipped');
  await assert.rejects(run({ inputs: [dir], tokenizer: new WordTokenizer(), out: fresh('bad'), pack: 'all' as PackMode }), /pack must be "doc" or "full", got "all"/);
});

test('distil prepare --pack full with the BERT tokenizer: long sequences, [SEP] between documents; a bad mode is named', () => {
  const dir = fresh('pack-cli');
  fs.mkdirSync(dir);
  const para = (i: number) => `Paragraph ${i} of the story: the whale swam north, and the crew watched the grey sea for a sign of it.`;
  fs.writeFileSync(path.join(dir, 'text.txt'), Array.from({ length: 12 }, (_, d) => `${para(2 * d)}\n${para(2 * d + 1)}\n`).join('\n'));
  const out = fresh('pack-cli-out');
  const tok = path.join(ROOT, 'assets', 'bert-base-uncased');
  const r = cli('prepare', '--input', dir, '--tokenizer', tok, '--out', out, '--max-len', '128', '--pack', 'full');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /24 lines from 1 file\(s\), 12 documents, packed \(full\): \d+\.\d tokens a sequence on average/);
  const ds = openDataset(out);
  assert.equal(ds.meta.pack, 'full');
  const all = Array.from({ length: ds.size }, (_, i) => Array.from(ds.get(i)));
  assert.ok(all.every((s) => s.length <= 128 && s[0] === 101 && s[s.length - 1] === 102));
  assert.ok(all.some((s) => s.length > 100), 'sequences fill up toward max-len');
  assert.ok(all.some((s) => s.slice(1, -1).includes(102)), '[SEP] separates documents inside a sequence');
  const bad = cli('prepare', '--input', dir, '--tokenizer', tok, '--out', fresh('x'), '--pack', 'sentences');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--pack takes doc or full, got "sentences"/);
});
