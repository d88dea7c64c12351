// `distil finetune`, `distil evaluate`, `distil predict` and `distil bench-speed`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { benchSpeed } from '../infer/bench_speed.js';
import type { Task } from '../infer/pipeline.js';
import { predictFile } from '../infer/predict_file.js';
import { evaluate, finetune } from '../tasks/classification/finetune.js';
import { FINETUNE_SCHEMA, type FinetuneRunOptions } from '../tasks/finetune_loop.js';
import { QA_FINETUNE_SCHEMA, evaluateQa, finetuneQa } from '../tasks/qa/finetune.js';
import { projectRoot } from '../io/paths.js';
import { intFlag } from './flags.js';
import { addParamFlags, paramsFromFlags, precisionOption } from './options.js';
import { withPrecision, type Precision } from '../tensor/precision.js';
import { Progress } from './progress.js';

export function readOptions(o: Record<string, unknown>) {
  return {
    textCol: o.textCol as string | undefined, textPairCol: o.textPairCol as string | undefined,
    labelCol: o.labelCol as string | undefined,
    // commander turns --no-header into header: false.
    ...(o.header === false ? { noHeader: true } : {}),
  };
}

export function columnFlags(cmd: Command): Command {
  return cmd
    .option('--text-col <name>', 'column (JSONL key) of the text (default: sentence, else text); with --no-header, its index')
    .option('--text-pair-col <name>', 'column of the second text of sentence-pair tasks')
    .option('--label-col <name>', 'column of the label (default: label); with --no-header, its index')
    .option('--no-header', 'CSV/TSV whose first row is data, not a header: name columns by 0-based index (--text-col 1 --label-col 0)');
}

/**
 * One progress bar over the run's steps, with each epoch's eval metrics (`digits` decimals) printed
 * above it as the epoch ends; the bar's rate and ETA are over the recent window, across epochs.
 */
function progressHooks(label: string, digits: number): Pick<FinetuneRunOptions, 'onStep' | 'onEpoch'> {
  let bar: Progress | null = null;
  let total = 0;
  return {
    onStep: (step, steps, loss) => {
      total = steps;
      bar ??= new Progress({ total, unit: 'steps', label });
      bar.update(step, `loss ${loss.toFixed(4)}`);
      if (step === total) bar.done();
    },
    onEpoch: (e) => {
      const m = Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(digits)}`).join(' ');
      const line = `epoch ${e.epoch}: train loss ${e.train_loss.toFixed(4)}, eval ${m}${e.improved ? ' (best, saved)' : ''}`;
      if (bar) bar.note(line);
      else console.log(line);
    },
  };
}

const RESUME_DOC = 'continue exactly from the newest checkpoint in --out/checkpoints (or the one given); ' +
  'checkpoints are written every --checkpoint-interval steps, at the end of each epoch and on SIGINT / SIGTERM';

function resumeOptions(o: Record<string, unknown>): Pick<FinetuneRunOptions, 'resume' | 'onStart'> {
  return {
    resume: o.resume as boolean | string | undefined,
    onStart: (step, from) => {
      if (step > 0) console.log(`resumed from ${from} at step ${step}`);
    },
  };
}

export function registerTaskCommands(program: Command): void {
  addParamFlags(columnFlags(program
    .command('finetune')
    .description('fine-tune a BERT/DistilBERT with a classification (or regression) head on CSV, TSV or JSONL data')
    .requiredOption('--model <dir>', 'Hugging Face model directory (masked-LM or fine-tuned)')
    .requiredOption('--train <file>', 'training examples (.csv, .tsv in GLUE layout, or .jsonl)')
    .option('--eval <file>', 'evaluation examples, scored after every epoch to keep the best one (without it, the last epoch is kept)')
    .requiredOption('--out <dir>', 'the best epoch (or the last, without --eval) as a Hugging Face directory, with checkpoints/')
    .option('--resume [checkpoint]', RESUME_DOC)
    .addOption(precisionOption('train'))), FINETUNE_SCHEMA)
    .action(async function (this: Command, o: Record<string, unknown>) {
      const params = paramsFromFlags(FINETUNE_SCHEMA, o, this);
      const r = await finetune({
        model: o.model as string, train: o.train as string, eval: o.eval as string | undefined, out: o.out as string,
        read: readOptions(o), params, precision: o.precision as Precision, ...progressHooks('finetune', 4), ...resumeOptions(o),
      });
      console.log(o.eval ? `best epoch ${r.best.epoch} written to ${o.out}` : `epoch ${r.best.epoch} (the last) written to ${o.out}`);
    });

  addParamFlags(program
    .command('finetune-qa')
    .description('fine-tune a BERT/DistilBERT for extractive question answering on SQuAD v1.1 JSON; scores EM and F1 after every epoch')
    .requiredOption('--model <dir>', 'Hugging Face model directory (masked-LM or fine-tuned)')
    .requiredOption('--train <file>', 'training questions (SQuAD v1.1 JSON, e.g. train-v1.1.json)')
    .requiredOption('--eval <file>', 'evaluation questions (SQuAD v1.1 JSON, e.g. dev-v1.1.json); required')
    .requiredOption('--out <dir>', 'the best epoch (by F1) as a Hugging Face directory, with checkpoints/')
    .option('--resume [checkpoint]', RESUME_DOC)
    .addOption(precisionOption('train')), QA_FINETUNE_SCHEMA)
    .action(async function (this: Command, o: Record<string, unknown>) {
      const params = paramsFromFlags(QA_FINETUNE_SCHEMA, o, this);
      const r = await finetuneQa({
        model: o.model as string, train: o.train as string, eval: o.eval as string, out: o.out as string, params,
        precision: o.precision as Precision, ...progressHooks('finetune-qa', 2), ...resumeOptions(o),
      });
      console.log(`${r.trainFeatures} training windows, ${r.evalQuestions} evaluation questions; best epoch ${r.best.epoch} written to ${o.out}`);
    });

  columnFlags(program
    .command('evaluate')
    .description('score a fine-tuned model: accuracy, F1, Matthews (classification), Pearson, Spearman (regression), EM/F1 (QA on SQuAD JSON)')
    .requiredOption('--model <dir>', 'fine-tuned model directory')
    .requiredOption('--data <file>', 'labelled examples (.csv, .tsv, .jsonl), or SQuAD v1.1 .json for a question-answering model')
    .option('--out <file>', 'also write the metrics as JSON here')
    .addOption(precisionOption('infer'))
    .option('--max-length <n>', 'longest input in tokens (default: 128, or the model\'s max_position_embeddings if fewer)',
      intFlag('--max-length', 4, 1e5)))
    .action((o: Record<string, unknown>) => withPrecision(o.precision as Precision, async () => {
      const data = o.data as string, model = o.model as string;
      const metrics: Record<string, number> = data.endsWith('.json')
        ? await evaluateQa({ model, data }).then(({ exact_match, f1, missing }) => ({ exact_match, f1, missing }))
        : await evaluate({ model, data, read: readOptions(o), maxLength: o.maxLength as number | undefined });
      for (const [k, v] of Object.entries(metrics)) console.log(`${k.padEnd(22)} ${v.toFixed(4)}`);
      if (o.out) writeFileSync(o.out as string, JSON.stringify(metrics, null, 2) + '\n');
    }));

  columnFlags(program
    .command('predict')
    .description('run a pipeline over a file (one text a line, or a CSV/TSV/JSONL column) and write JSONL')
    .requiredOption('--model <dir>', 'model directory')
    .requiredOption('--input <file>', 'inputs: .txt (one a line), .csv/.tsv/.jsonl with --text-col, or for question-answering JSONL of {"question", "context"}')
    .option('--task <task>', 'text-classification | fill-mask | feature-extraction | question-answering', 'text-classification')
    .option('--out <file>', 'JSONL output (default: stdout)')
    .option('--batch-size <n>', 'sequences per batch (at most 8,192 padded tokens a batch)', intFlag('--batch-size'), 32)
    .addOption(precisionOption('infer')))
    .action((o: Record<string, unknown>) => withPrecision(o.precision as Precision, async () => {
      await predictFile({
        model: o.model as string, input: o.input as string, task: o.task as Task, out: o.out as string | undefined,
        batchSize: o.batchSize as number, read: readOptions(o),
      });
    }));

  program
    .command('bench-speed')
    .description("the paper's Table 3: teacher and student at batch 1 over every line of a file, with onnxruntime-node alongside")
    .requiredOption('--teacher <dir>', 'teacher model directory')
    .requiredOption('--student <dir>', 'student model directory')
    .option('--input <file>', 'one text a line, or a .tsv/.csv/.jsonl (default: the MR dev split of distil datasets)')
    .option('--no-ort', 'skip onnxruntime-node')
    .option('--out <file>', 'also write the figures as JSON here')
    .addOption(precisionOption('infer'))
    .action((o: { teacher: string; student: string; input?: string; ort: boolean; out?: string; precision: Precision }) => withPrecision(o.precision, async () => {
      const input = o.input ?? join(projectRoot(), 'assets', 'datasets', 'mr', 'dev.tsv');
      const r = await benchSpeed({ teacher: o.teacher, student: o.student, input, ort: o.ort });
      console.log(`${r.lines} inputs (${r.tokens} tokens) from ${input}, batch 1`);
      console.log(`${'model'.padEnd(8)} ${'parameters'.padStart(12)} ${'total s'.padStart(9)} ${'ms/input'.padStart(9)} ${'ORT s'.padStart(8)} ${'ours/ORT'.padStart(9)}`);
      for (const row of r.rows)
        console.log(`${row.model.padEnd(8)} ${row.parameters.toLocaleString('en-US').padStart(12)} ${row.seconds.toFixed(2).padStart(9)} ` +
          `${row.ms_per_line.toFixed(2).padStart(9)} ${(row.ort_seconds?.toFixed(2) ?? '-').padStart(8)} ` +
          `${(row.ort_seconds ? (row.seconds / row.ort_seconds).toFixed(2) : '-').padStart(9)}`);
      console.log(`student is ${r.speedup.toFixed(2)}x faster than the teacher (the paper: 1.63x, 668 s vs 410 s on STS-B)`);
      if (o.out) writeFileSync(o.out, JSON.stringify({ input, precision: o.precision, ...r }, null, 2) + '\n');
    }));
}
