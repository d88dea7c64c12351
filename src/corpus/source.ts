// What a corpus source is (`distil corpus`): a package installed from npm or Debian, the files of
// it that hold text, and a reader that turns one file into documents of markup-free paragraphs.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** One unit of the train/valid split: an address, a chapter, a manual page, a dictionary entry. */
export interface CorpusDocument {
  /** Stable within the source (a path relative to the package, a synset offset): the split hashes it. */
  id: string;
  /** Paragraphs in order, markup removed; line breaks inside one are hard wraps, joined later. */
  paragraphs: string[];
  /** Words the reader removed as non-prose structure (code blocks, tables, directives, headings). */
  markupWords: number;
}

/** Where a source's package comes from. */
export type Origin = { kind: 'npm'; package: string } | { kind: 'apt'; package: string };

export interface CorpusSource {
  /** Name for `--sources`, lower-case with hyphens. */
  name: string;
  /** What the text is, one line. */
  description: string;
  origin: Origin;
  /** Licence of the text, for meta.json. */
  license: string;
  /** The files to read, absolute and sorted; throws naming the package when it is not installed. */
  files(): string[];
  /** The documents of one of `files()`. */
  read(file: string): Iterable<CorpusDocument>;
}

/** Directory of an installed npm dependency of this package. */
export function npmPackageDir(name: string): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    throw new Error(`npm package ${name} is not installed (run npm ci in the distilbert-ts checkout)`);
  }
}

/** Version of an installed npm dependency. */
export function npmPackageVersion(name: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(npmPackageDir(name), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/** Files under `dir` (recursively) whose names end with one of `suffixes`, sorted by path. */
export function walkFiles(dir: string, suffixes: readonly string[]): string[] {
  const out: string[] = [];
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile() && suffixes.some((s) => e.name.endsWith(s))) out.push(p);
    }
  };
  visit(dir);
  // Code-unit order, not locale order: the same on every machine.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
