// Library entry points of the training commands: `distill` (distil a teacher into a student) and
// `pretrain` (masked-LM pretraining of a teacher), as `distil distill` / `distil pretrain` run them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, type Dataset } from '../data/dataset.js';
import { atomicWriteFile, copyTokenizerFiles } from '../io/atomic.js';
import { bertConfig, readModelConfig, type BertConfig } from '../io/config.js';
import { BertForMaskedLM } from '../models/bert.js';
import { DistilBertForMaskedLM } from '../models/distilbert.js';
import { loadMaskedLM, loadWeightsInto } from '../models/pretrained.js';
import { tooLong } from '../models/transformer.js';
import { checkTokenizerFits, tokenizerFile } from '../text/fit.js';
import { BertTokenizer } from '../text/tokenizer.js';
import { TRAIN_SCHEMA, type TrainParams } from '../train/params.js';
import { defaultsOf, resolveParams, withDefaults, type Schema } from '../train/schema.js';
import { MlmPretrainer } from '../train/pretrainer.js';
import { parsePrecision, TRAIN_PRECISIONS, withPrecision, type Precision } from '../tensor/precision.js';
import type { StepLog, Trainer, TrainingData } from '../train/trainer.js';
import { DISTILL_SCHEMA, Distiller, type DistillParams } from './distiller.js';
import { evaluateMlm } from './eval_mlm.js';
import { MASKING_SCHEMA, type MaskingConfig } from '../train/masking.js';

export interface RunOptions {
  /** Continue from the newest checkpoint in `out` (true) or from a checkpoint directory. */
  resume?: boolean | string;
  /** Called after every optimizer step (after its checkpoint, if any). */
  onStep?: (log: StepLog, trainer: Trainer) => void;
  /** Called once the trainer is ready (e.g. to size a progress bar), after any resume. */
  onStart?: (trainer: Trainer) => void;
  /** Matmul precision: fp32, or bf16 mixed precision (bf16 products; fp32 weights, AdamW and losses). */
  precision?: Precision;
  /** Held-out data (from distil prepare) for masked-LM accuracy during training, logged in metrics.jsonl. */
  evalData?: string;
  /** Evaluate every this many optimizer steps (and at the last one); default 500. */
  evalInterval?: number;
  /** Score the first this many held-out sequences; default 1000. */
  evalSequences?: number;
  /** Most (padded) tokens in one forward/backward pass (Trainer.maxPassTokens); default 8192. */
  maxPassTokens?: number;
}

export function trainingData(ds: Dataset): TrainingData {
  return {
    size: ds.size, lengths: ds.lengths, get: (i) => ds.get(i), tokenCounts: ds.tokenCounts,
    identity: { tokenizer_hash: ds.meta.tokenizer_hash, num_sequences: ds.meta.num_sequences, num_tokens: ds.meta.num_tokens },
  };
}


/**
 * With `o.evalData`, score `model`'s held-out masked-LM accuracy and loss (eval_mlm.ts: fixed-seed
 * uniform 15% targets) during training; they are logged as eval_mlm_accuracy and eval_loss.
 */
function attachMlmEval(t: Trainer, model: BertForMaskedLM | DistilBertForMaskedLM, o: RunOptions): void {
  if (!o.evalData) return;
  const ds = openDataset(o.evalData);
  checkTokenizerFits(ds.meta.vocab_size, join(o.evalData, 'meta.json'), model.config.vocab_size, 'the model');
  const maxSequences = o.evalSequences ?? 1000;
  t.evaluation = {
    interval: o.evalInterval ?? 500,
    run: () => {
      const r = evaluateMlm(model, ds, { maxSequences });
      return { eval_mlm_accuracy: r.mlm_accuracy, eval_loss: r.loss };
    },
  };
}

/** Training data whose longest sequence the model cannot embed is refused before the first step. */
function checkLengths(ds: Dataset, dir: string, models: Array<{ config: { max_position_embeddings: number } }>): void {
  let longest = 0;
  for (const l of ds.lengths) longest = Math.max(longest, l);
  const positions = Math.min(...models.map((m) => m.config.max_position_embeddings));
  if (longest > positions) throw new Error(`${dir}: ${tooLong(longest, positions)}`);
}

function run(t: Trainer, o: RunOptions): void {
  if (o.maxPassTokens !== undefined) t.maxPassTokens = o.maxPassTokens;
  withPrecision(parsePrecision(o.precision ?? 'fp32', TRAIN_PRECISIONS), () => {
    if (o.resume) t.resume(o.resume);
    o.onStart?.(t);
    t.train((log) => o.onStep?.(log, t));
  });
}

export interface DistillOptions extends RunOptions {
  teacher: string;
  student: string;
  data: string;
  out: string;
  params?: Partial<DistillParams>;
}

/** Distil `teacher` into `student` on prepared `data`; writes a DistilBertForMaskedLM directory to `out`. */
export function distill(o: DistillOptions): Distiller {
  const params: DistillParams = resolveParams(DISTILL_SCHEMA, o.params);
  const teacher = loadMaskedLM(o.teacher);
  const student = loadMaskedLM(o.student);
  if (!(teacher instanceof BertForMaskedLM)) throw new Error(`${o.teacher}: the teacher must be a BERT (model_type "bert")`);
  if (!(student instanceof DistilBertForMaskedLM))
    throw new Error(`${o.student}: the student must be a DistilBERT (model_type "distilbert"); make one with distil init-student`);
  const ds = openDataset(o.data);
  checkTokenizerFits(ds.meta.vocab_size, join(o.data, 'meta.json'), student.config.vocab_size, join(o.student, 'config.json'));
  checkLengths(ds, o.data, [teacher, student]);
  mkdirSync(o.out, { recursive: true });
  atomicWriteFile(join(o.out, 'training_args.json'),
    JSON.stringify({ ...params, precision: o.precision ?? 'fp32', teacher: o.teacher, student: o.student, data: o.data }, null, 2) + '\n');
  const d = new Distiller(teacher, student, student.config, trainingData(ds), params, ds.meta.special_ids, o.out);
  attachMlmEval(d, student, o);
  run(d, o);
  d.saveModel(o.out);
  copyTokenizerFiles([o.student, o.teacher], o.out);
  return d;
}

export type PretrainParams = TrainParams & MaskingConfig;

/**
 * Pretraining defaults: BERT's Adam settings at small scale (lr 1e-4, 1% warmup, weight decay 0.01),
 * one micro-batch a step, and MLM targets sampled uniformly as in BERT (mlm_smoothing 0; the
 * distiller's 0.7 favours rare tokens, docs/method.md §5).
 */
export const PRETRAIN_SCHEMA: Schema<PretrainParams> = withDefaults<PretrainParams>({ ...TRAIN_SCHEMA, ...MASKING_SCHEMA }, {
  learning_rate: 1e-4, warmup_prop: 0.01, weight_decay: 0.01, gradient_accumulation_steps: 1, mlm_smoothing: 0,
});

export const PRETRAIN_DEFAULTS: PretrainParams = defaultsOf(PRETRAIN_SCHEMA);

export interface PretrainOptions extends RunOptions {
  /** tiny | mini | small | base, or a BERT config.json / model directory. */
  config: string;
  data: string;
  out: string;
  /** Tokenizer files to ship with the teacher. */
  tokenizer?: string;
  /**
   * Start from the weights of this BertForMaskedLM directory (a checkpoint of an earlier run)
   * instead of a random initialisation: continued pretraining under a new schedule, with a fresh
   * optimizer. Its config must match --config.
   */
  initFrom?: string;
  params?: Partial<PretrainParams>;
}

/** Named teacher sizes (BERT-tiny/mini/small of Turc et al. 2019, BERT-base) or a config.json path. */
export function modelSize(spec: string, vocabSize: number, maxLen: number): BertConfig {
  const sizes: Record<string, Partial<BertConfig>> = {
    tiny: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
    mini: { hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024 },
    small: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 },
    base: {},
  };
  const base = sizes[spec];
  if (base) return bertConfig({ ...base, vocab_size: vocabSize, max_position_embeddings: Math.max(512, maxLen) });
  const read = readModelConfig(spec);
  if (read.kind !== 'bert') throw new Error(`${spec}: pretrain builds a BERT; model_type must be "bert"`);
  checkTokenizerFits(vocabSize, 'the data (meta.json)', read.config.vocab_size, spec);
  return read.config;
}

/** Pretrain a BERT teacher from scratch on prepared `data`; writes a BertForMaskedLM directory to `out`. */
export function pretrain(o: PretrainOptions): MlmPretrainer {
  const params: PretrainParams = resolveParams(PRETRAIN_SCHEMA, o.params);
  const ds = openDataset(o.data);
  const config = modelSize(o.config, ds.meta.vocab_size, ds.meta.max_len);
  const bert = new BertForMaskedLM(config);
  checkLengths(ds, o.data, [bert]);
  if (o.tokenizer) checkTokenizerFits(BertTokenizer.fromDir(o.tokenizer).vocabSize, tokenizerFile(o.tokenizer), config.vocab_size, o.config);
  bert.params.initialize(params.seed);
  if (o.initFrom) loadWeightsInto(bert, o.initFrom);
  mkdirSync(o.out, { recursive: true });
  const t = new MlmPretrainer(bert, config, trainingData(ds), params, params, ds.meta.special_ids, o.out);
  attachMlmEval(t, bert, o);
  run(t, o);
  t.saveModel(o.out);
  if (o.tokenizer) copyTokenizerFiles([o.tokenizer], o.out);
  return t;
}
