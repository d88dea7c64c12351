// Bad text through every consumer: empty files and lines, invalid UTF-8, NUL bytes, control and
// bidi characters, mixed scripts, emoji sequences, huge words and a huge line go through `distil
// prepare` (real bert-base-uncased tokenizer), fine-tuning data (CSV, TSV, JSONL and a one-epoch
// `distil finetune`), `distil predict` and all four pipelines (the tiny fixture model). Each must be
// handled: counted in prepare's report where it is skipped or repaired, never fatal.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataset } from '../../src/data/dataset.js';
import { MAX_LINE_BYTES } from '../../src/data/text_files.js';
import { pipeline } from '../../src/infer/pipeline.js';
import { readExamples } from '../../src/tasks/readers/table.js';
import { defaultTokenizerDir } from '../../src/text/default_vocab.js';
import { check, cliOk, peakRssMb, spawnCli, tinyModel } from './common.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

/** prepare's peak RSS with the huge line, BERT's tokenizer included (the bound `prepare` is held to). */
const RSS_LIMIT_MB = 1024;

/** Named samples as raw bytes (several are not valid UTF-8, so they cannot be JS strings). */
export const BAD_TEXTS: ReadonlyArray<[string, Buffer]> = [
  ['empty', b('')],
  ['whitespace only', b(' \t  \u00a0 ')],
  ['invalid UTF-8', Buffer.concat([b('w01 '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), b(' w02')])],
  ['encoded surrogate', Buffer.concat([b('w03 '), Buffer.from([0xed, 0xa0, 0x80]), b(' w04')])],
  ['NUL bytes', b('w05\u0000w06 \u0000\u0000 w07')],
  ['control characters', b('\u0001\u0002\u001b[31m w08 \u007f\u0085')],
  ['mixed scripts', b('w09 Привет 你好世界 مرحبا بالعالم שלום नमस्ते ᚠᛇᚻ w10')],
  ['emoji sequences', b('👨‍👩‍👧‍👦 🏳️‍🌈 w11 😀😀😀 🇫🇷 👍🏽')],
  ['RTL and bidi controls', b('\u202e w12 \u202c \u200f עברית w13 \u200e \u2066x\u2069')],
  ['combining marks', b('e\u0301\u0301\u0301 Z\u0324\u0308\u0345 w14')],
  ['BOM and line separators', b('\ufeffw15 \ufeff w16 \u2028 \u2029 \u3000')],
  ['noncharacters and private use', b('\ue000 \uffff \ufffe w17 \u{10ffff}')],
  ['one 10,000-character word', b('w'.repeat(10_000))],
  ['50,000 words', b(Array.from({ length: 50_000 }, (_, i) => `w${String(i % 94).padStart(2, '0')}`).join(' '))],
];

export interface BadTextReport {
  /** Sample x consumer combinations checked. */
  cases: number;
  /** prepare's counts over the bad-text corpus. */
  prepare: { lines: number; blank: number; badText: number; cutLines: number; skippedFiles: number; dropped: number };
  /** Size of the single huge line and the peak RSS of the prepare run that read it. */
  hugeLineMb: number;
  prepareRssMb: number;
}

/** A JSON string literal of raw bytes: quotes, backslashes and controls escaped, other bytes (even invalid UTF-8) as they are. */
function jsonBytes(s: Buffer): Buffer {
  const out: number[] = [0x22];
  for (const c of s) {
    if (c === 0x22 || c === 0x5c) out.push(0x5c, c);
    else if (c < 0x20) out.push(...Buffer.from(`\\u${c.toString(16).padStart(4, '0')}`));
    else out.push(c);
  }
  out.push(0x22);
  return Buffer.from(out);
}

/** Labelled files (one example a sample, labels alternating) in each fine-tuning format. */
function taskFiles(dir: string): Record<'csv' | 'tsv' | 'jsonl', string> {
  const label = (i: number) => (i % 2 ? 'positive' : 'negative');
  const rows = (head: string, row: (s: Buffer, i: number) => Buffer) => Buffer.concat([b(head), ...BAD_TEXTS.map(([, s], i) => row(s, i))]);
  const files = { csv: path.join(dir, 'bad.csv'), tsv: path.join(dir, 'bad.tsv'), jsonl: path.join(dir, 'bad.jsonl') };
  const flat = (s: Buffer) => Buffer.from(s.map((c) => (c === 0x09 || c === 0x0a || c === 0x0d ? 0x20 : c)));
  fs.writeFileSync(files.csv, rows('sentence,label\n', (s, i) => Buffer.concat([b('"'), Buffer.from(s.toString('latin1').replaceAll('"', '""'), 'latin1'), b(`",${label(i)}\n`)])));
  fs.writeFileSync(files.tsv, rows('sentence\tlabel\n', (s, i) => Buffer.concat([flat(s), b(`\t${label(i)}\n`)])));
  fs.writeFileSync(files.jsonl, rows('', (s, i) => Buffer.concat([b('{"sentence": '), jsonBytes(s), b(`, "label": "${label(i)}"}\n\n`)])));
  return files;
}

async function throughPrepare(work: string, hugeLineBytes: number): Promise<Pick<BadTextReport, 'prepare' | 'prepareRssMb'>> {
  const dir = path.join(work, 'bad-corpus');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'empty.txt'), '');
  fs.writeFileSync(path.join(dir, 'samples.txt'), Buffer.concat(BAD_TEXTS.flatMap(([, s]) => [s, b('\n\n\r\n')])));
  // The huge line is generated into the file in pieces: never held whole here either.
  const fd = fs.openSync(path.join(dir, 'huge-line.txt'), 'w');
  const piece = b('the quick brown fox jumps over the lazy dog, 🦊 schnell über den faulen hund ');
  for (let done = 0; done < hugeLineBytes; done += piece.length * 4096) fs.writeSync(fd, Buffer.concat(Array(4096).fill(piece)));
  fs.closeSync(fd);
  const out = path.join(work, 'bad-data');
  const run = spawnCli(['prepare', '--input', dir, '--tokenizer', defaultTokenizerDir(), '--out', out, '--max-len', '128', '--min-len', '3']);
  let rss = 0;
  const poll = setInterval(() => (rss = Math.max(rss, peakRssMb(run.child.pid!) ?? 0)), 100);
  const r = await run.done;
  clearInterval(poll);
  check(r.status === 0, `prepare on bad text failed (exit ${r.status ?? r.signal}):\n${r.stderr.slice(-2000)}`);
  check(rss < RSS_LIMIT_MB, `prepare with a ${(hugeLineBytes / 2 ** 20).toFixed(0)} MB line peaked at ${rss.toFixed(0)} MB RSS, over ${RSS_LIMIT_MB} MB`);
  check(/line\(s\) with invalid UTF-8 or NUL bytes/.test(r.stdout) && /blank line\(s\) skipped/.test(r.stdout),
    `prepare's report does not count the bad lines:\n${r.stdout}`);
  const m = openDataset(out).meta;
  // invalid UTF-8, encoded surrogate, NUL bytes; whitespace-only and the blank separator lines.
  check(m.bad_text_lines >= 3 && m.blank_lines >= 2 * BAD_TEXTS.length && m.cut_lines >= (hugeLineBytes > MAX_LINE_BYTES ? 1 : 0),
    `prepare's counts are off: ${JSON.stringify({ bad: m.bad_text_lines, blank: m.blank_lines, cut: m.cut_lines })}`);
  check(r.stderr.includes('skipped') && r.stderr.includes('empty.txt'), 'the empty file was not reported as skipped');
  return {
    prepare: { lines: m.num_lines, blank: m.blank_lines, badText: m.bad_text_lines, cutLines: m.cut_lines, skippedFiles: 1,
      dropped: m.dropped.too_short + m.dropped.too_unknown },
    prepareRssMb: rss,
  };
}

/** Every pipeline and `distil predict` over the samples; outputs must be one per input and finite. */
async function throughPipelines(work: string, model: string): Promise<number> {
  const texts = BAD_TEXTS.map(([, s]) => s.toString('utf8'));
  const finite = (x: unknown): boolean => JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? 'NaN!' : v)).includes('NaN!') === false;
  const classify = await pipeline('text-classification', model);
  const fill = await pipeline('fill-mask', model);
  const features = await pipeline('feature-extraction', model);
  const qa = await pipeline('question-answering', model);
  const outs: Array<[string, unknown[]]> = [
    ['text-classification', (await classify(texts)) as unknown[]],
    ['fill-mask', (await fill(texts.map((t) => `[MASK] ${t}`))) as unknown[]],
    ['feature-extraction', (await features(texts, { pooling: 'mean' })) as unknown[]],
    // Contexts cut to 2,000 characters: a longer one only adds windows of the same kind.
    ['question-answering', await qa(texts.map((t) => ({ question: t, context: `${t.slice(0, 2000)} w01 w02` })))],
  ];
  for (const [task, out] of outs) {
    check(out.length === texts.length, `${task}: ${out.length} outputs for ${texts.length} inputs`);
    out.forEach((o, i) => check(finite(o instanceof Float32Array ? Array.from(o) : o), `${task}: non-finite output for "${BAD_TEXTS[i]![0]}"`));
  }
  const input = path.join(work, 'predict.txt');
  fs.writeFileSync(input, Buffer.concat(BAD_TEXTS.flatMap(([, s]) => [s, b('\n')])));
  const lines = cliOk(['predict', '--model', model, '--input', input]).trim().split('\n');
  const nonEmpty = BAD_TEXTS.filter(([, s]) => s.toString('utf8').trim() !== '').length;
  check(lines.length === nonEmpty, `predict wrote ${lines.length} lines for ${nonEmpty} non-empty inputs`);
  return outs.length * texts.length + nonEmpty;
}

/** Reading and fine-tuning on the samples in each format. */
async function throughFinetune(work: string, model: string): Promise<number> {
  const files = taskFiles(work);
  for (const f of Object.values(files)) {
    const d = await readExamples(f);
    check(d.examples.length === BAD_TEXTS.length, `${f}: ${d.examples.length} examples for ${BAD_TEXTS.length} rows`);
  }
  cliOk(['finetune', '--model', model, '--train', files.tsv, '--eval', files.jsonl, '--out', path.join(work, 'finetuned'),
    '--n-epoch', '1', '--batch-size', '8', '--max-length', '32']);
  return 3 * BAD_TEXTS.length + BAD_TEXTS.length;
}

export async function badText(work: string, hugeLineBytes: number): Promise<BadTextReport> {
  const model = tinyModel(path.join(work, 'tiny-model'));
  const p = await throughPrepare(work, hugeLineBytes);
  const cases = BAD_TEXTS.length + 1 + (await throughFinetune(work, model)) + (await throughPipelines(work, model));
  return { cases, ...p, hugeLineMb: hugeLineBytes / 2 ** 20 };
}
