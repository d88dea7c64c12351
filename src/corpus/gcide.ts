// GCIDE, the Collaborative International Dictionary of English (Debian dict-gcide: Webster's
// Revised Unabridged Dictionary of 1913 plus WordNet additions, GPL), as the dictd text file
// /usr/share/dictd/gcide.dict.dz (gzip-compatible). Each entry starts at column 0 with its
// headword, pronunciation and etymology ("Take \Take\, v. t. [imp. {Took} ...] [Icel. taka ...]"),
// and its indented body holds numbered senses, literary quotations with right-aligned attributions
// ("--Pope."), "[1913 Webster]" source tags, "Syn:" lists and "Note:" paragraphs. The header, tags,
// synonym lists and attributions are dropped; a sense becomes "headword: definition", a quotation
// or note stays as it is. One entry is one document, id "headword#n" (n-th entry of that headword).
import * as fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { countWords } from './clean.js';
import type { CorpusDocument } from './source.js';

/** Sense markers at the start of a body line: "1. ", "(a) ", "2. (b) ". */
const SENSE = /^(?:\d+\.\s+)?(?:\([a-z]\)\s+)?/;
/** A right-aligned attribution ("--Shak.", "--1 Sam. xiv.") runs from "--" to the end of the line. */
const ATTRIBUTION = /(^|\s)--(?=[A-Z0-9])[^\n]*$/;
/** A unit starting this deep is a quotation; senses start at 3, sub-senses ("(a) ...") at 6. */
const QUOTE_INDENT = 8;
/** Lines this deep hold only the wrapped tail of an attribution ("27."). */
const ATTRIBUTION_INDENT = 30;

/** Labels and source tags in brackets ("[Obs.]", "[R.]", "[1913 Webster]", "[WordNet 1.5]", "[PJC]"). */
const LABEL = /^(?:[^\]]*\.|.*(?:Webster|WordNet|PJC|Century|Chambers|\d{4}).*)$/;

/**
 * Accent codes of the GCIDE transliteration ("[=a]", "[e^]", "['e]", "[ae]") -> plain letters;
 * labels and source tags go; an editor's insertion in a quotation ("[Time's] gradual touch") keeps
 * its words; cross-reference braces ("See {Cluck}") go.
 */
export function plainGcideText(s: string): string {
  return s
    .replace(/\[(?:[=^~.\-'"`]+([a-zA-Z]{1,2})|([a-z]{1,2})[=^~\-'"`]+|(ae|oe))\]/g, (_, a?: string, b?: string, c?: string) => a ?? b ?? c ?? '')
    .replace(/(\s*)\[([^\[\]\n]{0,60})\]/g, (_, sp: string, inner: string) => (LABEL.test(inner) ? '' : `${sp}${inner}`))
    .replace(/[{}]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Number of lines of an entry's header: the first line and continuations until its brackets close. */
function headerLines(lines: readonly string[]): number {
  let depth = 0;
  for (let i = 0; i < lines.length; i++) {
    for (const ch of lines[i]!) {
      if (ch === '[') depth++;
      else if (ch === ']') depth = Math.max(0, depth - 1);
    }
    if (depth === 0) return i + 1;
  }
  return lines.length;
}

/** The headword of a header line ("Apple pie \Ap"ple pie`\, n." -> "Apple pie"). */
function headword(header: string): string {
  return (/^([^\\,[(]+)/.exec(header)?.[1] ?? header).trim();
}

/** One entry's lines (header first) as paragraphs, plus the words dropped as markup. */
export function parseEntry(lines: readonly string[]): { word: string; paragraphs: string[]; markupWords: number } {
  const nHeader = headerLines(lines);
  const word = headword(lines[0]!);
  let markupWords = lines.slice(0, nHeader).reduce((n, l) => n + countWords(l), 0);
  const paragraphs: string[] = [];
  let unit: string[] = [];
  let unitIndent = 0;
  const flush = (): void => {
    // A sub-entry ("{Coagulated proteid} (Physiol. Chem.), one of ...") names its own subject.
    const subEntry = unit[0]?.startsWith('{') ?? false;
    const text = plainGcideText(unit.join(' '));
    unit = [];
    if (!text) return;
    if (/^Syn\s*:/.test(text)) markupWords += countWords(text);
    else if (/^Note\s*:/.test(text)) paragraphs.push(text.replace(/^Note\s*:\s*/, ''));
    else if (unitIndent >= QUOTE_INDENT || subEntry) paragraphs.push(text);
    else paragraphs.push(`${word}: ${text}`);
  };
  for (const raw of lines.slice(nHeader)) {
    const indent = raw.length - raw.trimStart().length;
    let line = raw.trim();
    // Blank lines, source tags (sometimes followed by a stray next headword: "[1913 Webster] Moldery")
    // and deep attribution tails end a unit without adding to it.
    if (line === '' || /^\[[^\]]*\]\s*\S*$/.test(line) || indent >= ATTRIBUTION_INDENT) {
      if (line !== '') markupWords += countWords(line);
      flush();
      continue;
    }
    const attribution = ATTRIBUTION.exec(line);
    if (attribution) {
      markupWords += countWords(attribution[0]);
      line = line.slice(0, attribution.index).trim();
    }
    const sense = SENSE.exec(line)![0];
    if (sense) flush();
    if (unit.length === 0) unitIndent = indent;
    if (line.slice(sense.length)) unit.push(line.slice(sense.length));
  }
  flush();
  return { word, paragraphs, markupWords };
}

/** The entries of a dictd text (decompressed), in order, without the 00-database-* metadata entries. */
export function* gcideDocuments(text: string): Iterable<CorpusDocument> {
  const seen = new Map<string, number>();
  let entry: string[] = [];
  function* emit(): Iterable<CorpusDocument> {
    if (!entry[0] || entry[0].startsWith('00-database') || entry[0].startsWith('00database')) return;
    const e = parseEntry(entry);
    const n = (seen.get(e.word) ?? 0) + 1;
    seen.set(e.word, n);
    yield { id: `${e.word}#${n}`, paragraphs: e.paragraphs, markupWords: e.markupWords };
  }
  for (const line of text.split('\n')) {
    // A line at column 0 starts an entry; everything else (indented or blank) belongs to the current one.
    if (line.length > 0 && line[0] !== ' ' && line[0] !== '\t') {
      yield* emit();
      entry = [];
    }
    entry.push(line.trimEnd());
  }
  yield* emit();
}

/** The documents of a gcide.dict.dz file. */
export function readGcide(file: string): Iterable<CorpusDocument> {
  return gcideDocuments(gunzipSync(fs.readFileSync(file)).toString('utf8'));
}
