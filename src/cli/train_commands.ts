// `distil init-student`, `distil distill` and `distil pretrain`.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { intFlag, seedFlag } from './flags.js';
import { DISTILL_SCHEMA } from '../distill/distiller.js';
import { initStudent } from '../distill/init_student.js';
import { evaluateMlm } from '../distill/eval_mlm.js';
import { distill, pretrain, PRETRAIN_SCHEMA, type RunOptions } from '../distill/run.js';
import { openDataset } from '../data/dataset.js';
import { loadMaskedLM } from '../models/pretrained.js';
import { DEFAULT_PASS_TOKENS } from '../train/trainer.js';
import { withPrecision, type Precision } from '../tensor/precision.js';
import { addParamFlags, paramsFromFlags, precisionOption } from './options.js';
import { Progress, RateWindow } from './progress.js';

function parseLayers(v: string): number[] {
  const layers = v.split(',').map((s) => Number(s.trim()));
  if (layers.some((l) => !Number.isInteger(l) || l < 0)) throw new Error(`--layers: expected comma-separated layer indices, got "${v}"`);
  return layers;
}

/** Progress bar over optimizer steps with the loss terms, lr and tokens/s of the last step. */
function progressHooks(label: string): RunOptions {
  let bar: Progress | null = null;
  let held = '';
  const tokens = new RateWindow();
  return {
    onStart: (t) => {
      if (t.state.step > 0) console.log(`resumed from ${t.lastCheckpoint} at step ${t.state.step}`);
      bar = new Progress({ total: t.totalSteps, unit: 'steps', label, initial: t.state.step });
      bar.update(t.state.step);
    },
    onStep: (log, t) => {
      const terms = Object.entries(log).filter(([k]) => k.startsWith('loss')).map(([k, v]) => `${k} ${v.toFixed(4)}`);
      if (log.eval_mlm_accuracy !== undefined) held = ` held-out MLM acc ${log.eval_mlm_accuracy.toFixed(4)} (step ${log.step})`;
      // Tokens a second over the recent window: one step's figure swings with its batch's lengths.
      tokens.add(performance.now(), log.tokens_seen);
      const rate = tokens.rate();
      bar?.update(log.step, `${terms.join(' ')} lr ${log.lr.toExponential(2)} ${rate > 0 ? `${Math.round(rate)} tok/s` : ''}${held}`);
      if (log.step === t.totalSteps) bar?.done();
    },
  };
}

/** Held-out masked-LM evaluation during training (RunOptions.evalData) and the pass size. */
function addRunFlags(cmd: Command): Command {
  return cmd
    .option('--max-pass-tokens <n>', 'most padded tokens in one forward/backward pass: larger batches run as several passes with ' +
      'the same summed gradient, which bounds activation memory', intFlag('--max-pass-tokens'), DEFAULT_PASS_TOKENS)
    .option('--eval-data <dir>', 'held-out data from distil prepare: log masked-LM accuracy and loss (eval_mlm_accuracy, eval_loss) in metrics.jsonl')
    .option('--eval-interval <n>', 'evaluate every n optimizer steps and at the last one', intFlag('--eval-interval'), 500)
    .option('--eval-sequences <n>', 'score the first n held-out sequences (fixed-seed uniform 15% targets)', intFlag('--eval-sequences'), 1000);
}

const runFlags = (o: Record<string, unknown>): Pick<RunOptions, 'evalData' | 'evalInterval' | 'evalSequences' | 'maxPassTokens'> => ({
  evalData: o.evalData as string | undefined, evalInterval: o.evalInterval as number, evalSequences: o.evalSequences as number,
  maxPassTokens: o.maxPassTokens as number,
});

export function registerTrainCommands(program: Command): void {
  program
    .command('init-student')
    .description('initialise a DistilBERT from a BERT teacher by taking every other layer (docs/method.md §3)')
    .requiredOption('--teacher <dir>', 'Hugging Face BertForMaskedLM directory')
    .requiredOption('--out <dir>', 'where to write the student (config.json, model.safetensors, tokenizer files)')
    .option('--layers <list>', 'teacher layers to copy, e.g. 0,2,4,7,9,11 (default: half the layers, every other one)')
    .option('--random', 'same shape, random weights instead of the teacher\'s (the random-initialisation ablation)')
    .option('--seed <n>', 'seed of --random', seedFlag('--seed'), 42)
    .action((o: { teacher: string; out: string; layers?: string; random?: boolean; seed: number }) => {
      const report = initStudent(o.teacher, o.out, o.layers ? parseLayers(o.layers) : undefined, o.random ? o.seed : undefined);
      console.log(o.random
        ? `student: ${report.config.n_layers} layers, random weights (seed ${o.seed}) -> ${o.out}`
        : `student: ${report.config.n_layers} layers from teacher layers [${report.layers.join(', ')}], ${report.copied.length} tensors copied -> ${o.out}`);
    });

  const distillCmd = addParamFlags(
    program
      .command('distill')
      .description('distil a BERT teacher into a DistilBERT student with the triple loss (docs/method.md §5-§7)')
      .requiredOption('--teacher <dir>', 'BERT teacher (Hugging Face directory)')
      .requiredOption('--student <dir>', 'initial student (from distil init-student)')
      .requiredOption('--data <dir>', 'training data from distil prepare')
      .requiredOption('--out <dir>', 'output: the final student, checkpoints/ and metrics.jsonl')
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)')
      .addOption(precisionOption('train')),
    DISTILL_SCHEMA,
  );
  addRunFlags(distillCmd).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(DISTILL_SCHEMA, o, this);
    const out = o.out as string;
    distill({
      teacher: o.teacher as string, student: o.student as string, data: o.data as string, out, params,
      resume: o.resume as boolean | string | undefined, precision: o.precision as Precision, ...runFlags(o), ...progressHooks('distill'),
    });
    console.log(`DistilBertForMaskedLM written to ${out} (metrics: ${join(out, 'metrics.jsonl')})`);
  });

  const pretrainCmd = addParamFlags(
    program
      .command('pretrain')
      .description('pretrain a BERT teacher from scratch with masked-LM on prepared data')
      .requiredOption('--config <size|file>', 'model size (tiny, mini, small, base) or a BERT config.json / model directory')
      .requiredOption('--data <dir>', 'training data from distil prepare')
      .requiredOption('--out <dir>', 'output: the teacher, checkpoints/ and metrics.jsonl')
      .option('--tokenizer <dir>', 'tokenizer files to ship with the teacher')
      .option('--init-from <dir>', 'start from the weights of this BERT directory or checkpoint (continued pretraining, fresh optimizer)')
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)')
      .addOption(precisionOption('train')),
    PRETRAIN_SCHEMA,
  );
  addRunFlags(pretrainCmd).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(PRETRAIN_SCHEMA, o, this);
    const t = pretrain({
      config: o.config as string, data: o.data as string, out: o.out as string, tokenizer: o.tokenizer as string | undefined,
      initFrom: o.initFrom as string | undefined,
      params, resume: o.resume as boolean | string | undefined, precision: o.precision as Precision, ...runFlags(o),
      ...progressHooks('pretrain'),
    });
    console.log(`BertForMaskedLM (${t.model.numParameters().toLocaleString('en-US')} parameters) written to ${o.out}`);
  });

  program
    .command('eval-mlm')
    .description('held-out masked-LM accuracy and perplexity of a BERT / DistilBERT on prepared data (fixed-seed 15% masking)')
    .requiredOption('--model <dir>', 'Hugging Face BertForMaskedLM or DistilBertForMaskedLM directory')
    .requiredOption('--data <dir>', 'held-out data from distil prepare (e.g. of the corpus valid split)')
    .option('--max-sequences <n>', 'score the first n sequences (default: all)', intFlag('--max-sequences'))
    .option('--batch-size <n>', 'sequences per batch', intFlag('--batch-size'), 32)
    .option('--seed <n>', 'seed of the masking (the same seed scores every model on the same targets)', seedFlag('--seed'), 12345)
    .option('--out <file>', 'also write the metrics as JSON here')
    .addOption(precisionOption('infer'))
    .action((o: { model: string; data: string; maxSequences?: number; batchSize: number; seed: number; out?: string; precision: Precision }) => withPrecision(o.precision, () => {
      const ds = openDataset(o.data);
      let bar = null as Progress | null; // set inside onBatch
      const r = evaluateMlm(loadMaskedLM(o.model), ds, {
        ...(o.maxSequences ? { maxSequences: o.maxSequences } : {}), batchSize: o.batchSize, seed: o.seed,
        onBatch: (done, total) => (bar ??= new Progress({ total, unit: 'sequences', label: 'eval-mlm' })).update(done),
      });
      bar?.done();
      for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(14)} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
      if (o.out) writeFileSync(o.out, JSON.stringify(r, null, 2) + '\n');
    }));
}

