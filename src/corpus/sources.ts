// Every corpus source, in the fixed order `distil corpus` reads them (the order decides which copy
// of a duplicate line is kept, so it is part of the output's definition).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { aptSource } from './debian.js';
import { readGcide } from './gcide.js';
import { mobyDick } from './moby_dick.js';
import { movieReviews } from './movie_reviews.js';
import { stripPod } from './pod.js';
import { stripRest } from './rest.js';
import type { CorpusSource } from './source.js';
import { sotu } from './sotu.js';
import { wordnet } from './wordnet.js';

/** A Sphinx-built Debian documentation package: its reST sources are under html/_sources as *.txt. */
function sphinxDocs(name: string, description: string, pkg: string, license: string, root: string, exclude: readonly string[] = []): CorpusSource {
  return aptSource({
    name,
    description,
    package: pkg,
    license,
    root,
    suffixes: ['.txt'],
    exclude,
    *read(file, id) {
      yield { id, ...stripRest(fs.readFileSync(file, 'utf8')) };
    },
  });
}

/** perl-doc installs its pods under /usr/share/perl/<version>/pod. */
function perlPodDir(): string {
  const base = '/usr/share/perl';
  const dirs = fs.existsSync(base) ? fs.readdirSync(base).map((v) => path.join(base, v, 'pod')).filter((d) => fs.existsSync(d)) : [];
  if (dirs.length === 0) throw new Error(`no ${base}/<version>/pod directory: is the Debian package perl-doc installed? (apt-get install -y perl-doc)`);
  return dirs.sort().pop()!;
}

export const SOURCES: readonly CorpusSource[] = [
  sotu,
  mobyDick,
  wordnet,
  sphinxDocs('python-docs', 'Python 3.11 documentation (reST sources)', 'python3.11-doc', 'PSF License Version 2', '/usr/share/doc/python3.11/html/_sources'),
  // Translations are left out: the corpus is English.
  sphinxDocs('linux-docs', 'Linux 6.1 kernel documentation (reST sources)', 'linux-doc-6.1', 'GPL-2.0 (kernel documentation)', '/usr/share/doc/linux-doc-6.1/html/_sources', ['translations']),
  sphinxDocs('sphinx-docs', 'Sphinx 5.3 documentation (reST sources)', 'sphinx-doc', 'BSD-2-Clause', '/usr/share/doc/sphinx-doc/html/_sources'),
  sphinxDocs('debian-policy', 'Debian Policy Manual (reST sources)', 'debian-policy', 'GPL-2.0-or-later', '/usr/share/doc/debian-policy/policy.html/_sources'),
  sphinxDocs('debian-devref', "Debian Developer's Reference (reST sources)", 'developers-reference', 'MIT', '/usr/share/developers-reference/_sources'),
  aptSource({
    name: 'perl-docs',
    description: 'Perl 5 manual pages (POD sources)',
    package: 'perl-doc',
    license: 'GPL-1.0-or-later OR Artistic-1.0 (Perl)',
    root: perlPodDir,
    suffixes: ['.pod'],
    // The table of contents and the Unicode property tables are lists, not prose.
    exclude: ['perltoc.pod', 'perluniprops.pod'],
    *read(file, id) {
      yield { id, ...stripPod(fs.readFileSync(file, 'utf8')) };
    },
  }),
  aptSource({
    name: 'gcide',
    description: "GCIDE: Webster's Revised Unabridged Dictionary (1913) with WordNet additions",
    package: 'dict-gcide',
    license: 'GPL-2.0-or-later',
    root: '/usr/share/dictd',
    suffixes: ['gcide.dict.dz'],
    read: (file) => readGcide(file),
  }),
  // Last, so adding it left every other source's lines as they were.
  movieReviews,
];

export const SOURCE_NAMES: readonly string[] = SOURCES.map((s) => s.name);

/** The sources named in `names` (in the fixed order), or an error naming the unknown ones and the known ones. */
export function selectSources(names: readonly string[] | undefined): CorpusSource[] {
  if (!names) return [...SOURCES];
  const unknown = names.filter((n) => !SOURCE_NAMES.includes(n));
  if (unknown.length > 0) throw new Error(`unknown corpus source${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${SOURCE_NAMES.join(', ')})`);
  return SOURCES.filter((s) => names.includes(s.name));
}
