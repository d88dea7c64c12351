// `distil report`: the tables and figures of a reproduction run directory (experiments/reproduce) as
// Markdown with SVG figures (docs/results.md), and optionally as one HTML page.
import type { Command } from 'commander';
import { collectResults, TASKS } from '../report/results.js';
import { textTable } from '../report/tables.js';
import { readProse, tables, writeResultsHtml, writeResultsMarkdown } from '../report/write.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('tables (the paper\'s Tables 1-4) and plots of a run directory of experiments/reproduce, as Markdown + SVG and HTML')
    .requiredOption('--runs <dir>', 'run directory (teacher/, students/, finetune/, mlm/, speed.json, times.tsv)')
    .option('--out <file>', 'Markdown file; figures go to figures/ beside it, and <name>.prose.md beside it is merged in')
    .option('--html <file>', 'also write one self-contained HTML page')
    .option('--tasks <list>', `fine-tuning tasks to report (${Object.keys(TASKS).join(', ')})`, Object.keys(TASKS).join(','))
    .action(async (o: { runs: string; out?: string; html?: string; tasks: string }) => {
      const r = collectResults(o.runs, o.tasks.split(',').map((t) => t.trim()).filter(Boolean));
      for (const t of tables(r)) console.log(`\n${textTable(t)}`);
      if (o.out) for (const f of await writeResultsMarkdown(r, o.out, readProse(o.out))) console.log(`wrote ${f}`);
      if (o.html) {
        await writeResultsHtml(r, o.html, 'distilbert-ts: DistilBERT reproduced at small scale', []);
        console.log(`wrote ${o.html}`);
      }
    });
}
