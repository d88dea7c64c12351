// `distil crossval`: k-fold cross-validation of fine-tuning (src/tasks/classification/crossval.ts).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { intFlag, intListFlag, seedFlag } from './flags.js';
import { crossValidate } from '../tasks/classification/crossval.js';
import { FINETUNE_SCHEMA } from '../tasks/finetune_loop.js';
import { omit } from '../train/schema.js';
import type { Precision } from '../tensor/precision.js';
import { addParamFlags, paramsFromFlags, precisionOption } from './options.js';
import { Progress } from './progress.js';
import { columnFlags, readOptions } from './tasks.js';

const pct = (x: number): string => (100 * x).toFixed(2);

/** Cross-validation writes no checkpoints: fine-tuning's options without theirs. */
const CROSSVAL_SCHEMA = omit(FINETUNE_SCHEMA, 'checkpoint_interval', 'keep_checkpoints');

export function registerCrossval(program: Command): void {
  addParamFlags(columnFlags(program
    .command('crossval')
    .description('k-fold cross-validation of fine-tuning: every example is scored once per seed by a model fine-tuned on the other folds; ' +
      'prints the mean accuracy with its 95% bootstrap interval')
    .requiredOption('--model <dir>', 'Hugging Face model directory to fine-tune (fresh for every fold)')
    .requiredOption('--data <files...>', 'labelled examples (.csv, .tsv, .jsonl), pooled: e.g. a data set\'s train, dev and test splits')
    .option('--folds <k>', 'folds (stratified by label)', intFlag('--folds', 2), 5)
    .option('--seeds <list>', 'training seeds, comma-separated; every fold runs once per seed', intListFlag('--seeds', 0, 2 ** 32 - 1), [42])
    .option('--fold-seed <n>', 'seed of the fold assignment (the same for every training seed)', seedFlag('--fold-seed'), 56)
    .option('--out <file>', 'write every fold\'s metrics and the summary as JSON here')
    .addOption(precisionOption('train'))), CROSSVAL_SCHEMA)
    .action(async function (this: Command, o: Record<string, unknown>) {
      const params = paramsFromFlags(CROSSVAL_SCHEMA, o, this);
      let bar: Progress | null = null;
      let label = '';
      const r = await crossValidate({
        model: o.model as string, data: o.data as string[], read: readOptions(o), folds: o.folds as number, seeds: o.seeds as number[],
        foldSeed: o.foldSeed as number, params, precision: o.precision as Precision,
        onStep: (step, total, loss) => {
          bar ??= new Progress({ total, unit: 'steps', label: label || 'crossval' });
          bar.update(step, `loss ${loss.toFixed(4)}`);
        },
        onFold: (f, done, total) => {
          (bar as Progress | null)?.done();
          bar = null;
          console.log(`seed ${f.seed} fold ${f.fold + 1}: accuracy ${pct(f.metrics.accuracy!)} on ${f.test} held out (trained on ${f.train}) [${done}/${total}]`);
          label = `crossval ${done + 1}/${total}`;
        },
      });
      console.log(`${r.examples} examples, ${r.folds} folds x ${r.seeds.length} seed(s): accuracy ${pct(r.accuracy.mean)} ` +
        `(95% CI ${pct(r.accuracy.ci95[0])}-${pct(r.accuracy.ci95[1])}, sd ${pct(r.accuracy.std)})`);
      if (o.out) writeFileSync(o.out as string, JSON.stringify(r, null, 2) + '\n');
    });
}
