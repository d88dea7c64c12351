#!/usr/bin/env node
// The `distil` command line.
import { Command, InvalidArgumentError } from 'commander';
import { registerCorpus } from './corpus.js';
import { registerDatasets } from './datasets.js';
import { runDemo } from './demo.js';
import { registerExport } from './export.js';
import { registerPrepare } from './prepare.js';
import { registerPrune } from './prune.js';
import { registerTaskCommands } from './tasks.js';
import { registerTrainCommands } from './train_commands.js';

function int(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

const program = new Command()
  .name('distil')
  .description('DistilBERT in TypeScript: distil, train, load and save BERT models (Hugging Face format) on a CPU')
  .showHelpAfterError();

program
  .command('demo')
  .description('forward pass of a small random BERT teacher and DistilBERT student, then a few distillation steps')
  .option('--layers <n>', 'teacher layers (the student gets half)', int('--layers'), 4)
  .option('--hidden <n>', 'hidden size', int('--hidden'), 256)
  .option('--heads <n>', 'attention heads', int('--heads'), 4)
  .option('--batch <n>', 'batch size', int('--batch'), 4)
  .option('--seq-len <n>', 'sequence length', int('--seq-len'), 128)
  .option('--steps <n>', 'distillation steps to run', int('--steps', 0), 5)
  .action((o) => runDemo(o));

registerPrepare(program);
registerTrainCommands(program);
registerDatasets(program);
registerCorpus(program);
registerExport(program);
registerTaskCommands(program);
registerPrune(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`distil: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
