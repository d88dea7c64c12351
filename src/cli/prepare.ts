// `distil prepare`: text files -> a tokenized, sharded, shuffled dataset (docs/method.md §4; src/data/).
import { InvalidArgumentError, type Command } from 'commander';
import { intFlag, ratioFlag, seedFlag } from './flags.js';
import { PACK_MODES, type PackMode } from '../data/packing.js';
import { prepare, type PrepareTokenizer } from '../data/prepare.js';
import { MAX_LINE_BYTES } from '../data/text_files.js';
import { Progress } from './progress.js';

/** The tokenizer of `dir`; imported here so other commands do not load the tokenizers binary. */
async function loadTokenizer(dir: string): Promise<PrepareTokenizer> {
  // A model directory's tokenizer is checked against its config.json (src/text/fit.ts).
  const { tokenizerForModel } = await import('../text/fit.js');
  return tokenizerForModel(dir);
}

interface PrepareFlags {
  input: string[];
  tokenizer: string;
  out: string;
  maxLen: number;
  minLen: number;
  maxUnkRatio: number;
  seed: number;
  batchLines: number;
  shardTokens: number;
  overwrite: boolean;
  pack?: PackMode | true;
}

function packArg(v: string): PackMode {
  if (!(PACK_MODES as readonly string[]).includes(v)) throw new InvalidArgumentError(`--pack takes ${PACK_MODES.join(' or ')}, got "${v}"`);
  return v as PackMode;
}

async function runPrepare(o: PrepareFlags): Promise<void> {
  const tokenizer = await loadTokenizer(o.tokenizer);
  let bar: Progress | undefined; // created at the first report, when the total size is known
  // Ctrl-C stops after the current batch and removes the partial output; a second one kills.
  const abort = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ninterrupted: removing the partial dataset (Ctrl-C again to quit now)\n');
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    const r = await prepare({
      inputs: o.input,
      tokenizer,
      out: o.out,
      maxLen: o.maxLen,
      minLen: o.minLen,
      maxUnkRatio: o.maxUnkRatio,
      seed: o.seed,
      batchLines: o.batchLines,
      shardTokens: o.shardTokens,
      overwrite: o.overwrite,
      pack: o.pack === true ? 'doc' : (o.pack ?? null),
      signal: abort.signal,
      onProgress: (p) => {
        bar ??= new Progress({ total: p.totalBytes, unit: 'B', label: 'prepare' });
        bar.update(p.bytes, `${p.sequences.toLocaleString('en-US')} seq`);
      },
    });
    bar?.done(r.bytes, `${r.meta.num_sequences.toLocaleString('en-US')} seq`);
    const m = r.meta;
    console.log(`wrote ${r.out} in ${r.seconds.toFixed(1)} s: ${m.num_sequences} sequences, ${m.num_tokens} tokens (${m.dtype}), ${m.shards.length} shard(s)`);
    console.log(`  ${m.num_lines} lines from ${m.sources.length} file(s)${m.pack ? `, ${m.documents} documents, packed (${m.pack}): ` +
      `${(m.num_tokens / Math.max(m.num_sequences, 1)).toFixed(1)} tokens a sequence on average` : ''}; ` +
      `${m.split_long} line(s) longer than max-len split into chunks of <= ${m.max_len} tokens`);
    console.log(`  dropped: ${m.dropped.too_short} shorter than ${m.min_len} tokens, ${m.dropped.too_unknown} with >= ${m.max_unk_ratio} [UNK]; ` +
      `${m.blank_lines} blank line(s) ${m.pack ? 'read as document ends' : 'skipped'}`);
    if (m.bad_text_lines > 0) console.log(`  ${m.bad_text_lines} line(s) with invalid UTF-8 or NUL bytes: kept, those bytes removed`);
    if (m.cut_lines > 0) console.log(`  ${m.cut_lines} line(s) over ${MAX_LINE_BYTES >> 10} KiB read in pieces`);
    if (r.skipped.length > 0) console.log(`  skipped ${r.skipped.length} file(s) (listed above)`);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** Add `prepare` to the `distil` program. */
export function registerPrepare(program: Command): void {
  program
    .command('prepare')
    .description('tokenize text files into a sharded, shuffled dataset: one sequence a line (the distiller\'s data), or lines packed to --max-len (--pack, for pretraining)')
    .requiredOption('--input <paths...>', 'text files and/or directories (walked recursively; binary files skipped)')
    .requiredOption('--tokenizer <dir>', 'tokenizer directory (the teacher\'s vocab / tokenizer files)')
    .requiredOption('--out <dir>', 'dataset directory to create (written to a temporary sibling, renamed when complete)')
    .option('--max-len <n>', 'longest sequence in tokens incl. [CLS]/[SEP]; longer lines are cut into chunks', intFlag('--max-len', 3), 512)
    .option('--min-len <n>', 'drop sequences shorter than this many tokens (12: the reference drops <= 11)', intFlag('--min-len', 1), 12)
    .option('--max-unk-ratio <x>', 'drop sequences whose share of [UNK] tokens is >= this', ratioFlag('--max-unk-ratio'), 0.5)
    .option('--seed <n>', 'seed of the stored shuffle order', seedFlag('--seed'), 56)
    .option('--batch-lines <n>', 'lines per tokenizer batch', intFlag('--batch-lines', 1), 1000)
    .option('--shard-tokens <n>', 'start a new shard file once one holds this many tokens', intFlag('--shard-tokens', 1, 0xffffffff), 50_000_000)
    .option('--pack [mode]', 'fill each sequence up to --max-len with consecutive lines: "doc" keeps a sequence inside one document ' +
      '(RoBERTa DOC-SENTENCES; the default mode), "full" runs across documents with [SEP] between them (FULL-SENTENCES); ' +
      'a blank line ends a document', packArg)
    .option('--overwrite', 'replace --out if it exists', false)
    .action((o: PrepareFlags) => runPrepare(o));
}
