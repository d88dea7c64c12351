// `distil train-tokenizer`: learn a WordPiece vocabulary from text (src/text/wordpiece_trainer.ts)
// and write a BERT tokenizer directory (tokenizer.json, vocab.txt, tokenizer_config.json).
import type { Command } from 'commander';
import { intFlag } from './flags.js';
import { listSources } from '../data/text_files.js';
import { BertTokenizer } from '../text/tokenizer.js';
import { countWords, trainWordPiece } from '../text/wordpiece_trainer.js';
import { Progress } from './progress.js';

interface Flags {
  input: string[];
  out: string;
  vocabSize: number;
  minFrequency: number;
  limitAlphabet: number;
  cased: boolean;
}

async function run(o: Flags): Promise<void> {
  const { files, skipped } = listSources(o.input);
  for (const k of skipped) console.error(`skipped ${k.path}: ${k.reason}`);
  if (files.length === 0) throw new Error(`no text files in ${o.input.join(', ')}`);
  const t0 = performance.now();
  const counts = await countWords(files.map((f) => f.path), !o.cased, (n) => {
    process.stderr.write(`\rtrain-tokenizer: counting words, ${n.toLocaleString('en-US')} lines`);
  });
  process.stderr.write('\n');
  let total = 0;
  for (const n of counts.values()) total += n;
  if (total === 0) throw new Error(`${o.input.join(', ')}: no words to learn a vocabulary from`);
  let bar: Progress | null = null;
  const vocab = trainWordPiece(counts, {
    vocabSize: o.vocabSize, minFrequency: o.minFrequency, limitAlphabet: o.limitAlphabet,
    onProgress: (p) => (bar ??= new Progress({ total: p.total, unit: 'merges', label: 'train-tokenizer' })).update(p.done),
  });
  (bar as Progress | null)?.done();
  const tok = BertTokenizer.fromTokens(vocab, { lowercase: !o.cased }, 'learned vocabulary');
  tok.save(o.out);
  console.log(`${o.out}: ${vocab.length} tokens learned from ${total.toLocaleString('en-US')} words ` +
    `(${counts.size.toLocaleString('en-US')} distinct) in ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (vocab.length < o.vocabSize) console.log(`  stopped at ${vocab.length} tokens: no pair left seen >= ${o.minFrequency} times`);
}

/** Add `train-tokenizer` to the `distil` program. */
export function registerTokenizer(program: Command): void {
  program
    .command('train-tokenizer')
    .description('learn a WordPiece vocabulary from text (as Hugging Face\'s BertWordPieceTokenizer.train) and write a BERT tokenizer directory')
    .requiredOption('--input <paths...>', 'text files and/or directories (e.g. corpus/train.txt)')
    .requiredOption('--out <dir>', 'tokenizer directory to write (tokenizer.json, vocab.txt, tokenizer_config.json)')
    .option('--vocab-size <n>', 'tokens in the vocabulary, [PAD] [UNK] [CLS] [SEP] [MASK] included', intFlag('--vocab-size', 6), 8192)
    .option('--min-frequency <n>', 'never merge a pair seen fewer times', intFlag('--min-frequency', 1), 2)
    .option('--limit-alphabet <n>', 'keep the n most frequent characters; words with others become [UNK]', intFlag('--limit-alphabet', 1), 1000)
    .option('--cased', 'keep case (default: lowercase and strip accents, as bert-base-uncased)', false)
    .action((o: Flags) => run(o));
}
