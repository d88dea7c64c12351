// Movie reviews: Pang & Lee's polarity dataset v2.0 as Debian's python3-pattern ships it, 1,500
// full reviews from the rec.arts.movies.reviews newsgroup, lower-cased and tokenized, one sentence
// a line. Their labels are dropped: this is unlabelled text, the corpus' only text in the domain of
// the MR task. The MR sentences (the same authors' sentence polarity data, from another site) are
// what MR scores, so a review sentence that shares any run of OVERLAP_WORDS words with an MR
// sentence is left out, to keep MR's test sentences out of pretraining.
import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { aptInstallCommand, aptSource } from './debian.js';
import { countWords, groupSentences, MAX_WORDS } from './clean.js';
import type { CorpusDocument, CorpusSource } from './source.js';

const PACKAGE = 'python3-pattern';
const CORPORA = '/usr/share/doc/python3-pattern/test/corpora';
/** The reviews, `"label","review"` a row (the package's README swaps the names of the two files). */
const REVIEWS_FILE = 'polarity-en-pang&lee1.csv';
export const REVIEWS_CSV = `${CORPORA}/${REVIEWS_FILE}`;
/** The MR sentences, `"label","sentence"` a row. */
export const MR_CSV = `${CORPORA}/polarity-en-pang&lee2.csv`;
/** A review sentence sharing a run of this many words with an MR sentence is dropped. */
export const OVERLAP_WORDS = 8;

/** `file` (gunzipped when it ends in .gz), or `file`.gz where Debian compressed it, as text; throws naming the package. */
export function readPatternFile(file: string): string {
  const read = (f: string): string => (f.endsWith('.gz') ? gunzipSync(fs.readFileSync(f)) : fs.readFileSync(f)).toString('utf8');
  if (fs.existsSync(file)) return read(file);
  if (fs.existsSync(`${file}.gz`)) return read(`${file}.gz`);
  throw new Error(`${file}: not found (install the Debian package ${PACKAGE}: ${aptInstallCommand([PACKAGE])})`);
}

/** Rows of a header-less two-column CSV (`label`, `text`) with a BOM; `file` names errors. */
function readRows(file: string): Array<[string, string]> {
  const rows = parse(readPatternFile(file), { bom: true, relax_column_count: true }) as string[][];
  return rows.map((r, i) => {
    if (r.length !== 2) throw new Error(`${file}: row ${i + 1} has ${r.length} fields, expected 2 (label, text)`);
    return [r[0]!, r[1]!];
  });
}

/** Lower-case alphanumeric words: punctuation and spacing never hide an overlap. */
const words = (s: string): string[] => s.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0);

/** Every run of `n` consecutive words of `s`, joined by spaces. */
function runs(s: string, n: number): string[] {
  const w = words(s);
  const out: string[] = [];
  for (let i = 0; i + n <= w.length; i++) out.push(w.slice(i, i + n).join(' '));
  return out;
}

/** The runs of OVERLAP_WORDS words of every MR sentence. */
function mrRuns(): Set<string> {
  const set = new Set<string>();
  for (const [, sentence] of readRows(MR_CSV)) for (const r of runs(sentence, OVERLAP_WORDS)) set.add(r);
  return set;
}

/**
 * One review as a document: its sentences (one a line) grouped in order into paragraphs of at most
 * MAX_WORDS words. The reviews are lower-case, so the cleaner's sentence splitter (which looks for
 * a capital after a full stop) could not cut them; the line breaks mark the sentences instead.
 */
export function reviewDocument(text: string, id: string, exclude: ReadonlySet<string>): CorpusDocument {
  const kept: string[] = [];
  let droppedWords = 0;
  for (const raw of text.split('\n')) {
    const sentence = raw.trim();
    if (!sentence) continue;
    if (runs(sentence, OVERLAP_WORDS).some((r) => exclude.has(r))) droppedWords += countWords(sentence);
    else kept.push(sentence);
  }
  return { id, paragraphs: groupSentences(kept, MAX_WORDS), markupWords: droppedWords };
}

export const movieReviews: CorpusSource = aptSource({
  name: 'movie-reviews',
  description: "Pang & Lee's polarity dataset v2.0: 1,500 movie reviews, labels dropped, sentences overlapping MR's left out",
  package: PACKAGE,
  license: 'research data set (Cornell movie-review data), packaged by Debian python3-pattern (BSD-3-Clause)',
  root: CORPORA,
  suffixes: [REVIEWS_FILE, `${REVIEWS_FILE}.gz`],
  *read(file) {
    const exclude = mrRuns();
    const rows = readRows(file);
    for (let i = 0; i < rows.length; i++) yield reviewDocument(rows[i]![1], `review-${String(i + 1).padStart(4, '0')}`, exclude);
  },
});
