// `distil init-student`, `distil distill` and `distil pretrain`.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { openDataset, type Dataset } from '../data/dataset.js';
import { DISTILL_CHECKS, DISTILL_DEFAULTS, Distiller } from '../distill/distiller.js';
import { initStudent, TOKENIZER_FILES } from '../distill/init_student.js';
import { DEFAULT_MASKING } from '../distill/masking.js';
import { bertConfig, readModelConfig, type BertConfig } from '../io/config.js';
import { BertForMaskedLM } from '../models/bert.js';
import { DistilBertForMaskedLM } from '../models/distilbert.js';
import { loadMaskedLM } from '../models/pretrained.js';
import { isNumber, TRAIN_CHECKS, TRAIN_DEFAULTS } from '../train/params.js';
import { MlmPretrainer } from '../train/pretrainer.js';
import type { StepLog, Trainer, TrainingData } from '../train/trainer.js';
import { addParamFlags, paramsFromFlags } from './options.js';
import { Progress } from './progress.js';

function trainingData(ds: Dataset): TrainingData {
  return {
    size: ds.size, lengths: ds.lengths, get: (i) => ds.get(i), tokenCounts: ds.tokenCounts,
    identity: { tokenizer_hash: ds.meta.tokenizer_hash, num_sequences: ds.meta.num_sequences, num_tokens: ds.meta.num_tokens },
  };
}

function parseLayers(v: string): number[] {
  const layers = v.split(',').map((s) => Number(s.trim()));
  if (layers.some((l) => !Number.isInteger(l) || l < 0)) throw new Error(`--layers: expected comma-separated layer indices, got "${v}"`);
  return layers;
}

/** Run a trainer with a progress bar and a summary line per log interval; returns the final directory. */
function runTrainer(trainer: Trainer, resume: string | boolean | undefined, label: string): void {
  if (resume) console.log(`resumed from ${trainer.resume(resume === true ? true : resume)} at step ${trainer.state.step}`);
  const bar = new Progress({ total: trainer.totalSteps, unit: 'steps', label });
  bar.update(trainer.state.step);
  const fmt = (log: StepLog): string =>
    Object.entries(log)
      .filter(([k]) => k.startsWith('loss'))
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(' ') + ` lr ${log.lr.toExponential(2)} ${Math.round(log.tokens_per_s)} tok/s`;
  trainer.train((log) => bar.update(log.step, fmt(log)));
  bar.done();
}

function copyTokenizer(from: string[], to: string): void {
  for (const dir of from) {
    const present = TOKENIZER_FILES.filter((f) => existsSync(join(dir, f)));
    if (present.length === 0) continue;
    for (const f of present) copyFileSync(join(dir, f), join(to, f));
    return;
  }
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
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)'),
    DISTILL_DEFAULTS,
  ).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(DISTILL_DEFAULTS, DISTILL_CHECKS, o, this);
    const teacher = loadMaskedLM(o.teacher as string);
    const student = loadMaskedLM(o.student as string);
    if (!(teacher instanceof BertForMaskedLM)) throw new Error(`${o.teacher}: the teacher must be a BERT (model_type "bert")`);
    if (!(student instanceof DistilBertForMaskedLM)) throw new Error(`${o.student}: the student must be a DistilBERT (model_type "distilbert")`);
    const ds = openDataset(o.data as string);
    if (ds.meta.vocab_size !== student.config.vocab_size)
      throw new Error(`${o.data}: the data was tokenized with a ${ds.meta.vocab_size}-token vocabulary, the student has ${student.config.vocab_size}`);
    const out = o.out as string;
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'training_args.json'), JSON.stringify({ ...params, teacher: o.teacher, student: o.student, data: o.data }, null, 2) + '\n');
    const studentConfig = readModelConfig(o.student as string).config;
    const d = new Distiller(teacher, student, studentConfig as never, trainingData(ds), params, ds.meta.special_ids, out);
    runTrainer(d, o.resume as string | boolean | undefined, 'distill');
    d.saveModel(out);
    copyTokenizer([o.student as string, o.teacher as string], out);
    console.log(`DistilBertForMaskedLM written to ${out} (metrics: ${join(out, 'metrics.jsonl')})`);
  });

  const PRETRAIN_DEFAULTS = { ...TRAIN_DEFAULTS, learning_rate: 1e-4, warmup_prop: 0.01, weight_decay: 0.01, ...DEFAULT_MASKING };
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
      .option('--resume [checkpoint]', 'continue from the newest checkpoint in --out (or the one given)'),
    PRETRAIN_DEFAULTS,
  ).action(function (this: Command, o: Record<string, unknown>) {
    const params = paramsFromFlags(PRETRAIN_DEFAULTS, PRETRAIN_CHECKS, o, this);
    const ds = openDataset(o.data as string);
    const config = modelSize(o.config as string, ds.meta.vocab_size, ds.meta.max_len);
    const bert = new BertForMaskedLM(config);
    bert.params.initialize(params.seed);
    const out = o.out as string;
    mkdirSync(out, { recursive: true });
    const t = new MlmPretrainer(bert, config, trainingData(ds), params, params, ds.meta.special_ids, out);
    runTrainer(t, o.resume as string | boolean | undefined, 'pretrain');
    t.saveModel(out);
    if (o.tokenizer) copyTokenizer([o.tokenizer as string], out);
    console.log(`BertForMaskedLM (${bert.numParameters().toLocaleString('en-US')} parameters) written to ${out}`);
  });
}

/** Named teacher sizes (BERT-tiny/mini/small follow Turc et al. 2019) or a config.json path. */
export function modelSize(spec: string, vocabSize: number, maxLen: number): BertConfig {
  const sizes: Record<string, Partial<BertConfig>> = {
    tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
    mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
    small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
    base: {},
  };
  const base = sizes[spec];
  if (base) return bertConfig({ ...base, vocab_size: vocabSize, max_position_embeddings: Math.max(512, maxLen) });
  const read = readModelConfig(spec.endsWith('config.json') ? join(spec, '..') : spec);
  if (read.kind !== 'bert') throw new Error(`${spec}: pretrain builds a BERT; model_type must be "bert"`);
  return read.config;
}
