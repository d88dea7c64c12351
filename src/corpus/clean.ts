// Cleaning shared by every corpus source (`distil corpus`): a reader hands over paragraphs already
// free of markup, possibly hard-wrapped; here they become single normalized lines, over-long ones
// are cut at sentence ends, and each line is kept, or dropped as too short, not prose, or an exact
// duplicate. The train/valid split is also decided here, by document.
import { createHash } from 'node:crypto';

/** Lines with fewer words are dropped: headings, captions, list labels, one-word examples. */
export const MIN_WORDS = 4;
/**
 * Paragraphs longer than this are cut at sentence ends into lines of at most this many words.
 * 256 words are ~330 WordPiece tokens, so a line fits `distil prepare`'s 512-token sequences whole;
 * State of the Union addresses come without paragraph breaks and would otherwise be cut mid-sentence.
 */
export const MAX_WORDS = 256;
/** Documents whose hash falls below VALID_PER_10K out of 10,000 go to valid.txt (1%). */
export const VALID_PER_10K = 100;

/** Number of whitespace-separated words. */
export function countWords(s: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

/**
 * One line from a (hard-wrapped) paragraph: line breaks, tabs, no-break and other Unicode spaces
 * become single spaces; zero-width and control characters (form feeds, soft hyphens, BOMs) go.
 * NFC so that the same word spelt with a combining accent dedups with its precomposed form.
 */
export function normalizeParagraph(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[\u00ad\u200b-\u200d\u2060\ufeff]/g, '')
    .replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
}

/** Words before a period that do not end a sentence ("Mr. Smith", "U.S. Navy", "e.g. this"). */
const ABBREVIATIONS = new Set(
  ('mr mrs ms dr st jr sr no nos gen gov hon rev vs etc e.g i.e u.s co inc ltd mt ft capt col lt sen rep ' +
    'jan feb mar apr jun jul aug sep sept oct nov dec fig figs vol pp cf al approx dept').split(' '),
);

/** Sentences of a one-line paragraph: split after . ! or ? (and closing quotes) before a capital or digit. */
export function splitSentences(line: string): string[] {
  const out: string[] = [];
  const re = /[.!?]["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])/g;
  let start = 0;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const end = m.index + m[0].trimEnd().length;
    const lastWord = line.slice(start, m.index).split(' ').pop() ?? '';
    // "Mr." and single initials ("John Q. Adams") end no sentence.
    if (ABBREVIATIONS.has(lastWord.toLowerCase().replace(/^["'“‘(]+/, '')) || /^[A-Z]$/.test(lastWord)) continue;
    out.push(line.slice(start, end));
    start = m.index + m[0].length;
  }
  if (start < line.length) out.push(line.slice(start));
  return out;
}

/** A one-line paragraph as lines of at most `maxWords` words, cut only at sentence ends (a longer sentence stays whole). */
export function splitLongParagraph(line: string, maxWords = MAX_WORDS): string[] {
  if (countWords(line) <= maxWords) return [line];
  return groupSentences(splitSentences(line), maxWords);
}

/** Consecutive `sentences` joined into lines of at most `maxWords` words (a longer sentence stays whole). */
export function groupSentences(sentences: Iterable<string>, maxWords = MAX_WORDS): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let words = 0;
  for (const s of sentences) {
    const w = countWords(s);
    if (cur.length > 0 && words + w > maxWords) {
      out.push(cur.join(' '));
      cur = [];
      words = 0;
    }
    cur.push(s);
    words += w;
  }
  if (cur.length > 0) out.push(cur.join(' '));
  return out;
}

/** Why a line is dropped by `classifyLine`. */
export type LineVerdict = 'keep' | 'short' | 'non-prose';

/** A prose token: letters with inner apostrophes or hyphens, optionally wrapped in quotes, brackets and punctuation. */
const WORDLIKE = /^[("'“‘[]*[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'’-]*[)"'”’\]]*[.,;:!?]*[)"'”’\]]*$/;
/** Line openings that mark shell prompts, interpreter sessions, directives, options and table rules. */
const NON_PROSE_START = /^(?:\$ |# |>>> |\.\.\.? |\.\. |::|--?[A-Za-z0-9]|[|+]|={3,}|-{3,}|\*{3,}|#include|[{}])/;

/**
 * Keep a line of ordinary prose. Short lines (< MIN_WORDS words) are headings and labels; lines
 * that open like code or an option, that have too few letters (tables, numbers, symbols), too many
 * code characters, too few word-like tokens, or no lower-case letter at all (shouted headings) are
 * not prose. The thresholds were read off samples of each source: prose sits far above them.
 */
export function classifyLine(line: string): LineVerdict {
  const tokens = line.split(' ');
  if (tokens.length < MIN_WORDS) return 'short';
  if (NON_PROSE_START.test(line)) return 'non-prose';
  let letters = 0, code = 0, other = 0, lower = 0;
  for (const ch of line) {
    if (ch === ' ') continue;
    if (/\p{L}/u.test(ch)) {
      letters++;
      if (ch !== ch.toUpperCase()) lower++;
    } else if ('{}[]<>=\\/|*#$@~^`&%'.includes(ch)) code++;
    else other++;
  }
  const chars = letters + code + other;
  if (lower === 0 || letters < 0.7 * chars || code > 0.05 * chars) return 'non-prose';
  let wordlike = 0;
  for (const t of tokens) if (WORDLIKE.test(t)) wordlike++;
  return wordlike < 0.7 * tokens.length ? 'non-prose' : 'keep';
}

/**
 * Exact-duplicate detection over the whole corpus: a set of 128-bit line hashes (SHA-256 prefix),
 * 16 bytes a line instead of the line itself; a collision at this width is not a practical concern.
 */
export class Dedup {
  private readonly seen = new Set<string>();
  /** True the first time `line` is seen, false for every repeat. */
  firstTime(line: string): boolean {
    const h = createHash('sha256').update(line).digest('base64').slice(0, 22);
    if (this.seen.has(h)) return false;
    this.seen.add(h);
    return true;
  }
  get size(): number {
    return this.seen.size;
  }
}

/**
 * The split, by document: a document goes to valid when the first 4 bytes of SHA-256("source\0id")
 * read as a big-endian integer, modulo 10,000, fall below VALID_PER_10K. Whole documents (an
 * address, a chapter, a manual page, a synset) are held out, so the valid lines do not sit next to
 * their own neighbouring paragraphs in train; the rule depends only on the names, so it is the same
 * on every machine, in every run, and whatever other sources are selected.
 */
export function isValidDocument(source: string, docId: string): boolean {
  const h = createHash('sha256').update(`${source}\0${docId}`).digest();
  return h.readUInt32BE(0) % 10000 < VALID_PER_10K;
}

/** The split rule in words, for meta.json. */
export const SPLIT_RULE =
  `by document: valid when SHA-256("<source>\\0<document id>") read as a big-endian uint32 from its first 4 bytes, ` +
  `modulo 10000, is below ${VALID_PER_10K} (${VALID_PER_10K / 100}% of documents); an exact-duplicate line is kept only at its first occurrence, ` +
  'in source order, so no line is in both train and valid';
