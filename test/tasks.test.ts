// Fine-tuning data and metrics (issue 4, src/tasks/): the CSV/TSV/JSONL and SQuAD readers and their
// errors, label maps, the metrics against hand-computed values (Pearson/Spearman also checked
// against scipy 1.17), the official SQuAD normalisation, e-mail text extraction, and the offline
// data sets built by `distil datasets` (counts, stratification, determinism).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { encodeLabels, labelIndex } from '../src/tasks/readers/labels.js';
import { parseSquad, readSquad } from '../src/tasks/readers/squad.js';
import { parseCsv, parseExamples, readExamples } from '../src/tasks/readers/table.js';
import { buildDatasets, MR_CSV, SPLIT_FRACTIONS, SPLITS, stratifiedSplit, type LabelledText } from '../src/tasks/readers/datasets.js';
import { messageText } from '../src/tasks/readers/email.js';
import {
  accuracy, averageRanks, evaluateClassification, evaluateRegression, evaluateSquad, f1Score, matthewsCorrcoef,
  normalizeAnswer, pearson, spearman, squadExactMatch, squadF1,
} from '../src/tasks/metrics.js';
import { ROOT } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distil-tasks-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const close = (got: number, want: number, tol = 1e-12) => assert.ok(Math.abs(got - want) <= tol, `got ${got}, want ${want}`);

// --- readers ---

test('CSV: RFC 4180 quoting (commas, doubled quotes, newlines), CRLF, BOM, blank lines', () => {
  const csv = '\ufeffsentence,label\r\n"hello, world",pos\r\n"she said ""hi""",neg\r\n\r\n"two\nlines",pos\r\nplain "as is",neg';
  const d = parseExamples(csv, 'a.csv');
  assert.equal(d.format, 'csv');
  assert.deepEqual(d.columns, ['sentence', 'label']);
  assert.deepEqual(d.examples.map((e) => e.text), ['hello, world', 'she said "hi"', 'two\nlines', 'plain "as is"']);
  // A quote after a closing quote is kept as text rather than failing the whole file.
  assert.equal(parseExamples('sentence,label\n"a"b,1\n', 'q.csv').examples[0]!.text, '"a"b');
  assert.deepEqual(d.examples.map((e) => e.label), ['pos', 'neg', 'pos', 'neg']);
  assert.deepEqual(d.labels, ['neg', 'pos']);
  // Records remember the line they start on, across quoted newlines.
  assert.deepEqual(parseCsv('a\n"x\ny"\nz').map((r) => r.line), [1, 2, 4]);
  // A CRLF or a stray CR inside a field moves no later record's line.
  assert.deepEqual(parseCsv('a\r\n"x\r\ny"\r\nz\r\nw').map((r) => r.line), [1, 2, 4, 5]);
  assert.throws(() => parseExamples('sentence\tlabel\nc\rd\t1\nf\n', 'cr.tsv'), /cr\.tsv:3: 1 field\(s\) where the header has 2/);
  assert.deepEqual(parseCsv('"",b\n,\n').map((r) => r.fields), [['', 'b'], ['', '']]);
});

test('TSV (GLUE): tabs only, quotes are text, labels sorted numerically, text column "text" as fallback', () => {
  const d = parseExamples('text\tlabel\n"quoted" text\t10\nb\t2\r\nc\t0\nd\t2\n', 'train.tsv');
  assert.equal(d.format, 'tsv');
  assert.equal(d.examples[0]!.text, '"quoted" text');
  assert.deepEqual(d.labels, ['0', '2', '10']);
  assert.deepEqual(d.examples.map((e) => e.label), ['10', '2', '0', '2']);
  const idx = labelIndex(d.labels!);
  assert.deepEqual(Array.from(encodeLabels(d.examples, idx)), [2, 1, 0, 1]);
});

test('pairs: textCol + textPairCol', () => {
  const d = parseExamples('id\tsentence1\tsentence2\tlabel\n1\tA man.\tA person.\tentailment\n2\tDogs.\tCats.\tcontradiction\n', 'mnli.tsv',
    { textCol: 'sentence1', textPairCol: 'sentence2' });
  assert.deepEqual(d.examples, [
    { text: 'A man.', textPair: 'A person.', label: 'entailment' },
    { text: 'Dogs.', textPair: 'Cats.', label: 'contradiction' },
  ]);
  assert.ok(!('textPair' in parseExamples('sentence,label\nx,1\n', 'a.csv').examples[0]!));
});

test('JSONL: numeric labels become strings for classification; regression by value or on request', () => {
  const cls = parseExamples('{"text":"a","label":1}\n\n{"text":"b","label":0}\n', 'x.jsonl');
  assert.deepEqual(cls.examples.map((e) => e.label), ['1', '0']);
  assert.deepEqual(cls.labels, ['0', '1']);
  const reg = parseExamples('{"sentence":"a","score":0.5}\n{"sentence":"b","score":"3"}\n', 'sts.jsonl', { labelCol: 'score' });
  assert.equal(reg.labels, null);
  assert.deepEqual(reg.examples.map((e) => e.label), [0.5, 3]);
  const forced = parseExamples('sentence\tlabel\na\t1\nb\t4\n', 'r.tsv', { task: 'regression' });
  assert.deepEqual([forced.labels, forced.examples.map((e) => e.label)], [null, [1, 4]]);
  const asClasses = parseExamples('sentence\tlabel\na\t1.5\nb\t4\n', 'c.tsv', { task: 'classification' });
  assert.deepEqual(asClasses.labels, ['1.5', '4']);
  assert.throws(() => parseExamples('sentence\tlabel\na\t1\nb\tfour\n', 'r.tsv', { task: 'regression' }), /r\.tsv:3: label "label" = "four" is not a number/);
});

test('reader errors name the file, the line and the column', () => {
  const bad = (text: string, file: string, re: RegExp, o = {}) => assert.throws(() => parseExamples(text, file, o), re);
  bad('', 'empty.csv', /empty\.csv: empty file/);
  bad('\ufeff\n\n', 'empty.tsv', /empty\.tsv: empty file/);
  bad('sentence\tlabel\n', 'h.tsv', /h\.tsv: no examples/);
  bad('sentence\tscore\na\t1\n', 'x.tsv', /x\.tsv:1: no label column "label" \(--label-col\); the header has "sentence", "score"/);
  bad('words\tlabel\na\t1\n', 'x.tsv', /x\.tsv:1: no text column "sentence" or "text" \(pass --text-col\); the header has "words", "label"/);
  bad('sentence\tlabel\na\t1\n', 'x.tsv', /x\.tsv:1: no text pair column "hypothesis"/, { textPairCol: 'hypothesis' });
  bad('sentence\tlabel\na\t1\nb\n', 'ragged.tsv', /ragged\.tsv:3: 1 field\(s\) where the header has 2 \("sentence", "label"\)/);
  bad('sentence,label\n"a\n,1\n', 'q.csv', /q\.csv:3: Quote Not Closed/);
  bad('sentence,label\na, \n', 'e.csv', /e\.csv:2: empty label in column "label"/);
  bad('{"text":"a","label":1}\n{"text":"b",\n', 'bad.jsonl', /bad\.jsonl:2: invalid JSON/);
  bad('{"text":"a","label":1}\n{"text":2,"label":1}\n', 'bad.jsonl', /bad\.jsonl:2: "text" must be a string/);
  bad('{"text":"a"}\n', 'bad.jsonl', /bad\.jsonl:1: no label key "label" \(--label-col\); the record has "text"/);
  bad('x', 'data.parquet', /data\.parquet: unknown format "\.parquet"/);
});

test('readExamples streams a file by extension: the same examples as parsing it whole, and the same errors', async () => {
  const cases: Array<[string, string]> = [
    ['small.tsv', 'sentence\tlabel\ngood\tpositive\nbad\tnegative\n'],
    ['quoted.csv', '\ufeffsentence,label\r\n"hello, world",pos\r\n"two\nlines",neg\r\n'],
    ['lines.jsonl', '{"text":"a","label":1}\r\n\n{"text":"b","label":0}\n'],
  ];
  for (const [name, text] of cases) {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text);
    assert.deepEqual(await readExamples(f), parseExamples(text, f), name);
  }
  // Big enough to span many read chunks: every record arrives, in order.
  const many = path.join(tmp, 'many.csv');
  const rows = Array.from({ length: 20000 }, (_, i) => `"review ${i}, with a comma",${i % 3}`);
  fs.writeFileSync(many, `text,label\n${rows.join('\n')}\n`);
  const d = await readExamples(many);
  assert.equal(d.examples.length, 20000);
  assert.deepEqual([d.examples[12345]!.text, d.examples[12345]!.label], ['review 12345, with a comma', '0']);
  const bad = path.join(tmp, 'ragged.tsv');
  fs.writeFileSync(bad, 'sentence\tlabel\na\t1\nb\n');
  await assert.rejects(readExamples(bad), /ragged\.tsv:3: 1 field\(s\) where the header has 2/);
  await assert.rejects(readExamples(path.join(tmp, 'missing.tsv')), /ENOENT/);
  await assert.rejects(readExamples(path.join(tmp, 'missing.jsonl')), /ENOENT/);
});

test('header-less CSV/TSV: --no-header names columns by index; without it the error says a header is expected, echoing at most ~80 characters', async () => {
  const review = `${'a long review that goes on and on '.repeat(40)}the end`;
  const text = `1\t${review}\n0\tshort and bad\n`;
  const d = parseExamples(text, 'cola.tsv', { noHeader: true, textCol: '1', labelCol: '0' });
  assert.deepEqual(d.columns, ['0', '1']);
  assert.deepEqual(d.examples.map((e) => [e.text, e.label]), [[review, '1'], ['short and bad', '0']]);
  const f = path.join(tmp, 'noheader.csv');
  fs.writeFileSync(f, '"x, y",pos\nz,neg\n');
  assert.deepEqual((await readExamples(f, { noHeader: true, textCol: '0', labelCol: '1' })).examples.map((e) => e.text), ['x, y', 'z']);
  const err = (() => { try { parseExamples(text, 'cola.tsv'); } catch (e) { return (e as Error).message; } return ''; })();
  assert.match(err, /cola\.tsv:1: no text column "sentence" or "text" \(pass --text-col\)/);
  assert.match(err, /first row must be a header naming the columns; for a file without one, pass --no-header/);
  assert.ok(!err.includes('the end'), 'the first row is not echoed whole');
  assert.ok(err.length < 400, `short message: ${err.length} characters`);
  assert.match(err, /"a long review that goes on and on a long review that goes on and on a long re\.\.\."/);
  assert.throws(() => parseExamples(text, 'cola.tsv', { noHeader: true, labelCol: '0' }), /with --no-header, name the text column by its index \(--text-col N/);
  assert.throws(() => parseExamples(text, 'cola.tsv', { noHeader: true, textCol: '1' }), /with --no-header, name the label column by its index \(--label-col N\)/);
  assert.throws(() => parseExamples(text, 'cola.tsv', { noHeader: true, textCol: '2', labelCol: '0' }), /no text column "2" \(--text-col\); the columns are 0\.\.1 \(--no-header\)/);
  assert.throws(() => parseExamples('{"text":"a","label":1}\n', 'x.jsonl', { noHeader: true }), /--no-header applies to CSV and TSV/);
});

test('labelIndex: Hugging Face id2label / label2id maps, unknown labels named', () => {
  const idx = labelIndex(['constructor', 'spam']);
  assert.deepEqual({ ...idx.id2label }, { 0: 'constructor', 1: 'spam' });
  assert.deepEqual({ ...idx.label2id }, { constructor: 0, spam: 1 });
  assert.equal(idx.id('constructor'), 0);
  assert.throws(() => idx.id('toString'), /unknown label "toString" \(labels: "constructor", "spam"\)/);
  assert.equal(JSON.stringify(idx.id2label), '{"0":"constructor","1":"spam"}');
  assert.throws(() => labelIndex(['a', 'a']), /duplicate label "a"/);
});

const squad = (qas: unknown[], context = 'Denver Broncos won Super Bowl 50.') =>
  JSON.stringify({ version: '1.1', data: [{ title: 'SB', paragraphs: [{ context, qas }] }] });

test('SQuAD v1.1 reader: examples, misaligned answers counted, errors with the JSON path', () => {
  const d = parseSquad(squad([
    { id: 'q1', question: 'Who won?', answers: [{ text: 'Denver Broncos', answer_start: 0 }, { text: 'Broncos', answer_start: 7 }] },
    { id: 'q2', question: 'Which?', answers: [{ text: 'Super Bowl 50', answer_start: 18 }] },
  ]), 'dev.json');
  assert.equal(d.version, '1.1');
  assert.equal(d.examples.length, 2);
  assert.deepEqual(d.examples[0], { id: 'q1', title: 'SB', context: 'Denver Broncos won Super Bowl 50.', question: 'Who won?',
    answers: [{ text: 'Denver Broncos', answer_start: 0 }, { text: 'Broncos', answer_start: 7 }] });
  assert.equal(d.misaligned, 1); // "Super Bowl 50" starts at 19
  const f = path.join(tmp, 'squad.json');
  fs.writeFileSync(f, squad([{ id: 'a', question: 'q', answers: [{ text: 'Denver', answer_start: 0 }] }]));
  assert.equal(readSquad(f).examples[0]!.answers[0]!.text, 'Denver');
  const bad = (json: string, re: RegExp) => assert.throws(() => parseSquad(json, 'x.json'), re);
  bad('{"data": 3}', /x\.json: data: expected an array/);
  bad('[', /x\.json: invalid JSON/);
  bad(squad([{ id: 'a', question: 'q', answers: [{ text: 'D', answer_start: 0 }] }, { id: 'a', question: 'q', answers: [{ text: 'D', answer_start: 0 }] }]),
    /data\[0\]\.paragraphs\[0\]\.qas\[1\]\.id: duplicate question id "a"/);
  bad(squad([{ id: 'a', question: 'q', answers: [{ text: 'D', answer_start: 99 }] }]), /qas\[0\]\.answers\[0\]\.answer_start: expected an integer in \[0, 32\]/);
  bad(squad([{ id: 'a', question: 'q', answers: [] }]), /qas\[0\]\.answers: no answers/);
  bad(squad([{ id: 'a', question: 'q', answers: [], is_impossible: true }]), /unanswerable question \(SQuAD 2\.0\)/);
  bad(squad([{ id: 'a', answers: [{ text: 'D', answer_start: 0 }] }]), /qas\[0\]\.question: expected a string/);
});

// --- metrics ---

test('binary classification: accuracy, F1 of the positive label, MCC (by hand)', () => {
  // TP 3, FP 1, FN 1, TN 3: acc 6/8, F1 2*3/(6+1+1), MCC (9-1)/sqrt(4^4).
  const golds = [0, 0, 1, 1, 1, 0, 1, 0], preds = [0, 1, 1, 1, 0, 0, 1, 0];
  assert.deepEqual(evaluateClassification(preds, golds, ['negative', 'positive']), { accuracy: 0.75, f1: 0.75, matthews_correlation: 0.5 });
  close(f1Score(preds, golds, 2, { average: 'binary', positive: 0 }), 0.75);
  // Never predicting the positive label: F1 0, MCC 0 (zero denominator), as scikit-learn.
  assert.deepEqual(evaluateClassification([0, 0, 0, 0], [0, 1, 0, 1], ['0', '1']), { accuracy: 0.5, f1: 0, matthews_correlation: 0 });
  assert.equal(accuracy(['a', 'b'], ['a', 'c']), 0.5);
  assert.throws(() => accuracy([1], [1, 2]), /1 predictions for 2 gold labels/);
  assert.throws(() => matthewsCorrcoef([2], [0], 2), /predicted label id 2 at 0 is not in \[0, 2\)/);
});

test('multiclass: macro F1 and multiclass MCC (by hand)', () => {
  // Confusion rows (gold) x cols (pred): [[2,0,0],[1,0,1],[0,1,1]].
  const golds = [0, 1, 2, 0, 1, 2], preds = [0, 2, 1, 0, 0, 2];
  const m = evaluateClassification(preds, golds, ['a', 'b', 'c']);
  close(m.accuracy, 0.5);
  close(m.f1, (0.8 + 0 + 0.5) / 3); // per label 2*2/(2+3), 0, 2*1/(2+2)
  close(m.matthews_correlation, 6 / Math.sqrt(22 * 24)); // (3*6 - 12) / sqrt((36-14)(36-12))
  // A label neither gold nor predicted is left out of the macro mean (scikit-learn).
  close(f1Score([0, 0, 2, 0], [0, 0, 2, 2], 3, { average: 'macro' }), (0.8 + 2 / 3) / 2);
});

test('Pearson and Spearman with ties (average ranks), checked against scipy', () => {
  const x = [1, 2, 3, 4, 5], y = [2, 4, 5, 4, 5];
  close(pearson(x, y), 6 / Math.sqrt(60)); // scipy 0.7745966692414834
  close(spearman(x, y), 7 / Math.sqrt(90)); // y ranks [1, 2.5, 4.5, 2.5, 4.5]; scipy 0.7378647873726218
  const a = [3.1, 1.2, 3.1, 0.5, 2.2, 2.2, 2.2, 4.0], b = [1, 2, 2, 3, 3, 3, 0, 5];
  assert.deepEqual(Array.from(averageRanks(a)), [6.5, 2, 6.5, 1, 4, 4, 4, 8]);
  close(pearson(a, b), 0.21015643873534165, 1e-14);
  close(spearman(a, b), 0.06962025316455699, 1e-14);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  const r = evaluateRegression(x, y);
  close(r.pearson, 6 / Math.sqrt(60));
  close(r.spearmanr, 7 / Math.sqrt(90));
  close(r.mse, 9 / 5);
});

test('SQuAD: official normalisation (Python string.punctuation, \\b articles, str.split)', () => {
  const cases: Array<[string, string]> = [
    ['The Cat!', 'cat'],
    ['  a  b-c   an apple ', 'bc apple'],
    ['éthe cat', 'éthe cat'], // "the" inside a Unicode word is not an article (Python's \b)
    ['\x1ccat\x85dog', 'cat dog'], // Python whitespace that JS's \s lacks
    ['x\ufeffy', 'x\ufeffy'], // ... and JS whitespace that Python's lacks
    ['Über-THE «quoted»', 'überthe «quoted»'], // only ASCII punctuation is removed
    ['a_the b', 'athe b'],
    ['the', ''],
  ];
  for (const [input, want] of cases) assert.equal(normalizeAnswer(input), want, JSON.stringify(input));
  assert.equal(squadExactMatch('the Denver Broncos.', ['Broncos', 'Denver Broncos']), 1);
  assert.equal(squadExactMatch('Denver', ['Broncos']), 0);
  close(squadF1('the cat sat on the mat', ['a cat on a mat']), 6 / 7); // P 3/4, R 1
  close(squadF1('x x y', ['x y y']), 2 / 3); // token bags, not sets
  close(squadF1('x y', ['z', 'y', 'x y q']), 0.8); // max over golds
  assert.equal(squadF1('the', ['a']), 0); // v1.1: no shared token -> 0 even when both are empty
  assert.equal(squadExactMatch('the', ['a']), 1);
  const examples = [
    { id: 'q1', answers: [{ text: 'Denver Broncos' }] },
    { id: 'q2', answers: [{ text: 'Santa Clara, California' }, { text: "Levi's Stadium" }] },
    { id: 'q3', answers: [{ text: 'gold' }] },
  ];
  const m = evaluateSquad(examples, { q1: 'Denver Broncos', q2: 'Santa Clara' });
  close(m.exact_match, 100 / 3);
  close(m.f1, (100 * (1 + 0.8)) / 3); // q2: P 1, R 2/3
  assert.equal(m.missing, 1);
  assert.deepEqual(evaluateSquad(examples, new Map([['q3', 'Gold!']])), { exact_match: 100 / 3, f1: 100 / 3, missing: 2 });
});

test('e-mail text: Subject (RFC 2047) + text parts (quoted-printable, base64, HTML), no headers or attachments', () => {
  const raw = [
    'From someone@example.com  Thu Aug 22 13:17:22 2002',
    'Received: from x',
    '\tby y',
    'Subject: =?iso-8859-1?Q?Caf=E9?= =?utf-8?B?IGNsdWI=?=',
    'Content-Type: multipart/mixed; boundary="BB"',
    '',
    'preamble',
    '--BB',
    'Content-Type: multipart/alternative; boundary=AA',
    '',
    '--AA',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Cr=E8me br=FBl=',
    '=E9e  tonight',
    '--AA',
    'Content-Type: text/html',
    '',
    '<p>ignored html version</p>',
    '--AA--',
    '--BB',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('<html><style>p{}</style><b>Bold</b>&amp;&nbsp;more &#233;</html>').toString('base64'),
    '--BB',
    'Content-Type: application/octet-stream',
    'Content-Disposition: attachment; filename="x.bin"',
    '',
    'AAAA',
    '--BB--',
  ].join('\r\n');
  assert.equal(messageText(Buffer.from(raw, 'latin1')), 'Café club Crème brûlée tonight Bold & more é');
  assert.equal(messageText('Subject: hi\n\nabc def', 5), 'hi ab');
  // Raw 8-bit Latin-1 in a body without a declared charset.
  assert.equal(messageText(Buffer.from('Subject: x\n\nna\xefve', 'latin1')), 'x naïve');
});

// --- data sets ---

test('stratifiedSplit: 80/10/10 per label within 1, nothing lost, deterministic, seed-dependent', () => {
  const items: LabelledText[] = [];
  for (let i = 0; i < 103; i++) items.push({ text: `a${i}`, label: 'a' });
  for (let i = 0; i < 17; i++) items.push({ text: `b${i}`, label: 'b' });
  const s = stratifiedSplit(items, 56);
  for (const [label, n] of [['a', 103], ['b', 17]] as const)
    for (const name of SPLITS) {
      const c = s[name].filter((x) => x.label === label).length;
      assert.ok(Math.abs(c - SPLIT_FRACTIONS[name] * n) <= 1, `${name}/${label}: ${c} of ${n}`);
    }
  assert.deepEqual(SPLITS.flatMap((n) => s[n].map((x) => x.text)).sort(), items.map((x) => x.text).sort());
  assert.deepEqual(stratifiedSplit(items, 56), s);
  assert.notDeepEqual(stratifiedSplit(items, 57).train, s.train);
});

const readTsv = (file: string): LabelledText[] => {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines[0], 'sentence\tlabel');
  assert.equal(lines.at(-1), '');
  return lines.slice(1, -1).map((l) => {
    const f = l.split('\t');
    assert.equal(f.length, 2, `${file}: ${l.slice(0, 80)}`);
    return { text: f[0]!, label: f[1]! };
  });
};

const expected = { mr: { total: 4000, labels: { negative: 2000, positive: 2000 } }, spam: { total: 6046, labels: { ham: 4150, spam: 1896 } } };
const builtDir = path.join(ROOT, 'assets', 'datasets');

test('built data sets (assets/datasets): counts, stratification, meta.json matches the files', async (t) => {
  if (!fs.existsSync(path.join(builtDir, 'mr', 'meta.json')) || !fs.existsSync(path.join(builtDir, 'spam', 'meta.json')))
    return t.skip('assets/datasets not built (npm test builds them)');
  for (const [name, want] of Object.entries(expected)) {
    const dir = path.join(builtDir, name);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as {
      counts: Record<string, Record<string, number>>; labels: string[]; files: Record<string, { sha256: string }>;
    };
    assert.deepEqual(meta.labels, Object.keys(want.labels));
    let total = 0;
    for (const s of SPLITS) {
      const bytes = fs.readFileSync(path.join(dir, `${s}.tsv`));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), meta.files[`${s}.tsv`]!.sha256, `${name}/${s}.tsv`);
      const rows = readTsv(path.join(dir, `${s}.tsv`));
      total += rows.length;
      assert.equal(rows.length, meta.counts[s]!.total);
      for (const [label, n] of Object.entries(want.labels)) {
        const c = rows.filter((r) => r.label === label).length;
        assert.equal(c, meta.counts[s]![label]);
        assert.ok(Math.abs(c - SPLIT_FRACTIONS[s] * n) <= 1, `${name}/${s}/${label}: ${c} of ${n}`);
      }
      assert.ok(rows.every((r) => r.text.length > 0 && r.text.length <= 2000 && r.text === r.text.trim()));
      // The files are what the project's own reader expects.
      assert.equal((await readExamples(path.join(dir, `${s}.tsv`))).examples.length, rows.length);
    }
    assert.equal(total, want.total);
    assert.equal(meta.counts.all!.total, want.total);
  }
});

test('distil datasets is deterministic: same seed -> identical files, another seed -> another split', (t) => {
  if (!fs.existsSync(MR_CSV)) return t.skip(`${MR_CSV} missing (apt-get install python3-pattern)`);
  const a = path.join(tmp, 'ds-a'), b = path.join(tmp, 'ds-b'), c = path.join(tmp, 'ds-c');
  const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'datasets', '--out', a, '--seed', '56'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /mr: 4000 examples \(2000 negative \/ 2000 positive\); train 3200, dev 400, test 400; seed 56/);
  assert.match(cli.stdout, /spam: 6046 examples \(4150 ham \/ 1896 spam\); train 4837, dev 605, test 604; seed 56/);
  buildDatasets({ out: b, seed: 56 });
  buildDatasets({ out: c, seed: 7, names: ['mr'] });
  for (const name of ['mr', 'spam'])
    for (const f of ['train.tsv', 'dev.tsv', 'test.tsv', 'meta.json'])
      assert.ok(fs.readFileSync(path.join(a, name, f)).equals(fs.readFileSync(path.join(b, name, f))), `${name}/${f} differs between runs`);
  assert.ok(!fs.readFileSync(path.join(a, 'mr', 'train.tsv')).equals(fs.readFileSync(path.join(c, 'mr', 'train.tsv'))));
  // The default build (seed 56) is the same data.
  if (fs.existsSync(path.join(builtDir, 'mr', 'meta.json')))
    assert.ok(fs.readFileSync(path.join(a, 'mr', 'train.tsv')).equals(fs.readFileSync(path.join(builtDir, 'mr', 'train.tsv'))));
  assert.equal(fs.readdirSync(a).sort().join(','), 'mr,spam'); // no temporary folders left
  const bad = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'datasets', '--only', 'imdb'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--only: unknown data set "imdb" \(known: mr, spam\)/);
});
