#!/usr/bin/env node
// The `distil` command line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { lockOutput } from '../io/lock.js';
import { Interrupted } from '../train/trainer.js';
import { projectRoot } from '../io/paths.js';
import { registerCorpus } from './corpus.js';
import { registerCrossval } from './crossval.js';
import { registerDatasets } from './datasets.js';
import { EMBEDDED_TEACHER, runDemo, type DemoOptions } from './demo.js';
import { registerExport } from './export.js';
import { intFlag } from './flags.js';
import { registerReport } from './report.js';
import { registerPrepare } from './prepare.js';
import { registerPrune } from './prune.js';
import { registerTaskCommands } from './tasks.js';
import { registerTokenizer } from './tokenizer.js';
import { registerTrainCommands } from './train_commands.js';

const { version } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('distil')
  .version(version, '-V, --version', 'print the version')
  .description('DistilBERT in TypeScript: distil, train, load and save BERT models (Hugging Face format) on a CPU')
  .showHelpAfterError();

program
  .command('demo')
  .description('distil the embedded teacher into a student for a few minutes, fine-tune both on MR, print the comparison and write an HTML report')
  .option('--teacher <dir>', 'BERT teacher directory', EMBEDDED_TEACHER)
  .option('--out <dir>', 'work directory (a finished step there is reused)', 'runs/demo')
  .option('--steps <n>', 'distillation optimizer steps', intFlag('--steps'), 150)
  .option('--batch-size <n>', 'sequences per distillation step', intFlag('--batch-size'), 64)
  .option('--epochs <n>', 'fine-tuning epochs on MR', intFlag('--epochs'), 4)
  .option('--fresh', 'start over: delete --out first', false)
  .action((o: DemoOptions) => runDemo(o));

registerPrepare(program);
registerTokenizer(program);
registerTrainCommands(program);
registerDatasets(program);
registerCorpus(program);
registerExport(program);
registerReport(program);
registerTaskCommands(program);
registerCrossval(program);
registerPrune(program);

// Every command that writes --out takes its lock first (src/io/lock.ts): two runs writing one
// output would interleave metrics and overwrite each other's checkpoints.
program.hook('preAction', (_program, action) => {
  const out = action.opts().out as unknown;
  if (typeof out === 'string') lockOutput(out, `distil ${action.name()}`);
});

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`\ndistil: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof Interrupted ? 128 + e.signal : 1);
});
