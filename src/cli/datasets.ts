// `distil datasets`: build the offline fine-tuning data sets (src/tasks/readers/datasets.ts) as GLUE-style
// TSV train/dev/test splits under assets/datasets (gitignored); `npm test`'s set-up runs it once.
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { seedFlag } from './flags.js';
import { projectRoot } from '../io/paths.js';
import { buildDatasets, DATASET_NAMES, type DatasetName } from '../tasks/readers/datasets.js';
import { Progress } from './progress.js';

function nameArg(v: string, prev: DatasetName[] | undefined): DatasetName[] {
  if (!(DATASET_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`--only: unknown data set "${v}" (known: ${DATASET_NAMES.join(', ')})`);
  return [...(prev ?? []), v as DatasetName];
}

interface DatasetsFlags {
  out?: string;
  seed: number;
  only?: DatasetName[];
}

function runDatasets(o: DatasetsFlags): void {
  const out = path.resolve(o.out ?? path.join(projectRoot(), 'assets', 'datasets'));
  const bars = new Map<string, Progress>();
  const t0 = performance.now();
  const metas = buildDatasets({
    out,
    seed: o.seed,
    ...(o.only ? { names: o.only } : {}),
    onProgress: (name, done, total) => {
      const bar = bars.get(name);
      // The first report only starts the clock: a rate measured over ~0 s is meaningless.
      if (!bar) bars.set(name, new Progress({ total, unit: 'messages', label: `datasets ${name}` }));
      else if (done === total) bar.done(done);
      else bar.update(done);
    },
  });
  for (const m of metas) {
    const c = m.counts;
    const per = (s: keyof typeof c) => m.labels.map((l) => `${c[s][l]} ${l}`).join(' / ');
    console.log(`${path.join(out, m.name)}: ${c.all.total} examples (${per('all')}); train ${c.train.total}, dev ${c.dev.total}, test ${c.test.total}; seed ${m.seed}`);
  }
  console.log(`built ${metas.length} data set(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Add `datasets` to the `distil` program. */
export function registerDatasets(program: Command): void {
  program
    .command('datasets')
    .description(`build the offline fine-tuning data sets (${DATASET_NAMES.join(', ')}) as train/dev/test TSV splits (80/10/10, stratified)`)
    .option('--out <dir>', 'parent directory of the data set folders (default: <project root>/assets/datasets)')
    .option('--seed <n>', 'seed of the split', seedFlag('--seed'), 56)
    .option('--only <name>', `build only this data set (${DATASET_NAMES.join(' or ')}); repeatable`, nameArg)
    .action((o: DatasetsFlags) => runDatasets(o));
}
