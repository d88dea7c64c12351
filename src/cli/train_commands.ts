// `distil init-student`, `distil distill` and `distil pretrain`.
import { join } from 'node:path';
import type { Command } from 'commander';
import { DISTILL_CHECKS, DISTILL_DEFAULTS } from '../distill/distiller.js';
import { initStudent } from '../distill/init_student.js';
import { distill, pretrain, PRETRAIN_DEFAULTS, type RunOptions } from '../distill/run.js';
import { isNumber, TRAIN_CHECKS } from '../train/params.js';
import type { Precision } from '../tensor/precision.js';
import { addParamFlags, paramsFromFlags, precisionOption } from './options.js';
import { Progress } from './progress.js';

function parseLayers(v: string): number[] {
  const layers = v.split(',').map((s) => Number(s.trim()));
  if (layers.some((l) => !Number.isInteger(l) || l < 0)) throw new Error(`--layers: expected comma-separated layer indices, got "${v}"`);
  return layers;
}

/** Progress bar over optimizer steps with the loss terms, lr and tokens/s of the last step. */
function progressHooks(label: string): RunOptions {
  let bar: Progress | null = null;
  return {
    onStart: (t) => {
      if (t.state.step > 0) console.log(`resumed from ${t.lastCheckpoint} at step ${t.state.step}`);
      bar = new Progress({ total: t.totalSteps, unit: 'steps', label });
      bar.update(t.state.step);
    },
    onStep: (log, t) => {
      const terms = Object.entries(log).filter(([k]) => k.startsWith('loss')).map(([k, v]) => `${k} ${v.toFixed(4)}`);
      bar?.update(log.step, `${terms.join(' ')} lr ${log.lr.toExponential(2)} ${Math.round(log.tokens_per_s)} tok/s`);
      if (log.step === t.totalSteps) bar?.done();
    },
  };
}

export function registerTrainCommands(program: Command): void {
  program
    .command('init-student')
    .description('initialise a DistilBERT from a BERT teacher by taking every other layer (SPEC §3)')
    .requiredOption('--teacher <dir>', 'Hugging Face BertForMaskedLM directory')
    .requiredOption('--out <dir>', 'where to write the student (config.json, model.safetensors, tokenizer files)')
    .option('--layers <list>', 'teacher layers to copy, e.g. 0,2,4,7,9,11 (default: half the layers, every other one)')
    .action((o: { teacher: string; out: string; layers?: string }) => {
      const report = initStudent(o.teacher, o.out, o.layers ? parseLayers(o.layers) : undefined);
      console.log(`student: ${report.config.n_layers} layers from teacher layers [${report.layers.join(', ')}], ` +
        `${report.copied.length} tensors copied -> ${o.out}`);
    });

  addParamFlags(
    program
      .command('distill')
      .description('distil a BERT teacher into a DistilBERT student with the triple loss (SPEC §5-§7)')
      .requiredOption('--teacher <dir>', 'BERT teacher (Hugging Face directory)')
      .requiredOption('--student <dir>', 'initial student (from distil init-student)')
      .requiredOption('--data <dir>', 'training data from distil prepare')
      .requiredOption('--out <dir>', 'output: the final student, checkpoints/ and metrics.jsonl')
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)')
      .addOption(precisionOption('train')),
    DISTILL_DEFAULTS,
  ).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(DISTILL_DEFAULTS, DISTILL_CHECKS, o, this);
    const out = o.out as string;
    distill({
      teacher: o.teacher as string, student: o.student as string, data: o.data as string, out, params,
      resume: o.resume as boolean | string | undefined, precision: o.precision as Precision, ...progressHooks('distill'),
    });
    console.log(`DistilBertForMaskedLM written to ${out} (metrics: ${join(out, 'metrics.jsonl')})`);
  });

  const PRETRAIN_CHECKS = {
    ...TRAIN_CHECKS, mlm_mask_prop: isNumber(0, 1), word_mask: isNumber(0, 1), word_keep: isNumber(0, 1), word_rand: isNumber(0, 1),
    mlm_smoothing: isNumber(0, 10),
  };
  addParamFlags(
    program
      .command('pretrain')
      .description('pretrain a BERT teacher from scratch with masked-LM on prepared data')
      .requiredOption('--config <size|file>', 'model size (tiny, mini, small, base) or a BERT config.json / model directory')
      .requiredOption('--data <dir>', 'training data from distil prepare')
      .requiredOption('--out <dir>', 'output: the teacher, checkpoints/ and metrics.jsonl')
      .option('--tokenizer <dir>', 'tokenizer files to ship with the teacher')
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)')
      .addOption(precisionOption('train')),
    PRETRAIN_DEFAULTS,
  ).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(PRETRAIN_DEFAULTS, PRETRAIN_CHECKS, o, this);
    const t = pretrain({
      config: o.config as string, data: o.data as string, out: o.out as string, tokenizer: o.tokenizer as string | undefined,
      params, resume: o.resume as boolean | string | undefined, precision: o.precision as Precision, ...progressHooks('pretrain'),
    });
    console.log(`BertForMaskedLM (${t.model.numParameters().toLocaleString('en-US')} parameters) written to ${o.out}`);
  });
}
