// `distil prune-heads`: remove the least important attention heads of a fine-tuned classifier
// (Michel et al. 2019) and report what it changed.
import type { Command } from 'commander';
import { intFlag } from './flags.js';
import { runPruneHeads, IMPORTANCE_FILE, type ModelStats } from '../prune/run.js';
import { Progress } from './progress.js';

export function registerPrune(program: Command): void {
  program
    .command('prune-heads')
    .description('remove the N least important attention heads of a fine-tuned classifier (Michel et al. 2019): ' +
      'importance = |d loss / d head mask| on labelled data')
    .requiredOption('--model <dir>', 'fine-tuned sequence-classification directory (distil finetune)')
    .requiredOption('--data <file>', 'labelled examples the importance is computed on (.tsv, .csv, .jsonl)')
    .requiredOption('--n-heads <n>', 'number of heads to remove (fewer than the model has)', intFlag('--n-heads'))
    .requiredOption('--out <dir>', `the pruned model as a Hugging Face directory, with ${IMPORTANCE_FILE}`)
    .option('--eval <file>', 'labelled examples scored before and after pruning')
    .option('--batch-size <n>', 'sequences per batch', intFlag('--batch-size'), 32)
    .option('--max-length <n>', 'longest input in tokens', intFlag('--max-length'), 128)
    .action(async (o: { model: string; data: string; nHeads: number; out: string; eval?: string; batchSize: number; maxLength: number }) => {
      let bar: Progress | null = null;
      const r = await runPruneHeads({
        model: o.model, data: o.data, nHeads: o.nHeads, out: o.out, eval: o.eval, batchSize: o.batchSize, maxLength: o.maxLength,
        onImportanceBatch: (done, total) => {
          bar ??= new Progress({ total, unit: 'batches', label: 'head importance' });
          bar.update(done);
          if (done === total) bar.done();
        },
      });
      const row = (what: string, f: (s: ModelStats) => string): void =>
        console.log(`${what.padEnd(18)} ${f(r.before).padStart(12)} ${f(r.after).padStart(12)}`);
      console.log(`${''.padEnd(18)} ${'before'.padStart(12)} ${'after'.padStart(12)}`);
      row('heads kept', (s) => `${s.heads} / ${r.totalHeads}`);
      row('parameters', (s) => s.parameters.toLocaleString('en-US'));
      if (r.before.metric !== null) row(`eval ${r.metricName}`, (s) => s.metric!.toFixed(4));
      row('ms / sentence (b1)', (s) => s.msPerSentence.toFixed(2));
      const list = Object.entries(r.pruned).map(([l, h]) => `layer ${l}: ${h.join(', ')}`).join('; ');
      console.log(`pruned heads (original numbering) ${list}; written to ${o.out}`);
    });
}
