// Load and save task models as Hugging Face directories (config.json + model.safetensors), with
// from_pretrained's semantics: the encoder comes from any BERT / DistilBERT checkpoint of the same
// config (a masked LM, a bare base model, or a fine-tuned head), head parameters the file lacks keep
// their seeded initialisation and are reported, and keys of other heads are skipped. A directory
// saved by saveTaskModel loads back fully and in transformers (`AutoModelFor...from_pretrained`).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig, writeBertConfig, writeDistilBertConfig } from '../io/config.js';
import { readSafetensors, type SafeFile } from '../io/safetensors.js';
import { loadStateDict, saveStateDict, type LoadOptions } from '../io/state_dict.js';
import {
  BertForSequenceClassification, DistilBertForSequenceClassification, defaultLabels,
  type LabelConfig, type ProblemType,
} from './classification.js';
import { checkConfigFitsWeights } from './config_fit.js';
import { WEIGHTS_FILE } from './pretrained.js';
import { BertForQuestionAnswering, DistilBertForQuestionAnswering } from './qa.js';

export type SequenceClassifier = DistilBertForSequenceClassification | BertForSequenceClassification;
export type QuestionAnswerer = DistilBertForQuestionAnswering | BertForQuestionAnswering;
export type TaskModel = SequenceClassifier | QuestionAnswerer;

export interface SequenceClassificationOptions {
  /** Number of classes (1 = regression); overrides config.json. Default: len(id2label) of config.json, else 2 (HF). */
  numLabels?: number;
  /** Class names by id, as an array or config.json's {"0": "negative", ...}; overrides config.json. */
  id2label?: string[] | Record<string, string>;
  /** Default: config.json `problem_type`, else regression when num_labels is 1. */
  problemType?: ProblemType;
  /** Seed of the initialisation of head parameters the checkpoint lacks (default 0). */
  seed?: number;
}

export interface QuestionAnsweringOptions {
  /** Seed of the initialisation of qa_outputs when the checkpoint lacks it (default 0). */
  seed?: number;
}

// Checkpoint keys that are not parameters of any task model: the MLM heads (their decoder weight is
// tied), the position_ids buffer of older transformers, and BERT's next-sentence head.
const DISTILBERT_SKIP = [/^vocab_(transform|layer_norm|projector)\./, /^distilbert\.embeddings\.position_ids$/];
const BERT_SKIP = [/^cls\./, /^bert\.embeddings\.position_ids$/];
// Parameters of each head, and (as file keys) those of the other heads, skipped like HF's "unused weights".
const CLS_HEAD = [/^pre_classifier\./, /^classifier\./];
const QA_HEAD = [/^qa_outputs\./];
const POOLER = [/^(bert\.)?pooler\./];

const SOURCE = (dir: string): string => join(dir, 'config.json');

/** id2label of config.json ({"0": "a", "1": "b"}) or of an option, as an array indexed by class id. */
function labelArray(v: unknown, source: string): string[] {
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'string')) throw new Error(`${source}: id2label must hold strings`);
    return v as string[];
  }
  if (typeof v !== 'object' || v === null) throw new Error(`${source}: id2label must be an object {"0": "name", ...}, got ${JSON.stringify(v)}`);
  const entries = Object.entries(v as Record<string, unknown>);
  const out = new Array<string>(entries.length);
  for (const [k, name] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== k || typeof name !== 'string')
      throw new Error(`${source}: id2label must map the ids "0".."${entries.length - 1}" to names, got "${k}": ${JSON.stringify(name)}`);
    out[i] = name;
  }
  return out;
}

/** label2id of config.json when it inverts id2label; HF keeps it as written, so we do too. */
function labelIds(v: unknown, id2label: string[]): Record<string, number> | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const m = v as Record<string, unknown>;
  const ok = Object.keys(m).length === id2label.length && id2label.every((name, i) => m[name] === i);
  return ok ? (m as Record<string, number>) : null;
}

/**
 * The label config of a classification model from config.json's raw keys (`id2label`, `label2id`,
 * `problem_type`; `num_labels` when a hand-written config has it) and the overrides. As in
 * transformers, a num_labels override that differs from id2label's size renames the labels LABEL_i.
 */
export function readLabelConfig(raw: Record<string, unknown>, opts: SequenceClassificationOptions = {}, source = 'config.json'): LabelConfig {
  const rawLabels = raw.id2label != null ? labelArray(raw.id2label, source) : null;
  let id2label: string[];
  let fromConfig = false;
  if (opts.id2label !== undefined) {
    id2label = labelArray(opts.id2label, 'the id2label option');
    if (opts.numLabels !== undefined && opts.numLabels !== id2label.length)
      throw new Error(`numLabels ${opts.numLabels} contradicts id2label with ${id2label.length} names; give one of them`);
  } else if (opts.numLabels !== undefined) {
    if (!Number.isSafeInteger(opts.numLabels) || opts.numLabels < 1) throw new Error(`numLabels must be an integer >= 1, got ${opts.numLabels}`);
    fromConfig = rawLabels?.length === opts.numLabels;
    id2label = fromConfig ? rawLabels! : defaultLabels(opts.numLabels).id2label;
  } else if (rawLabels) {
    id2label = rawLabels;
    fromConfig = true;
  } else {
    const n = raw.num_labels ?? 2; // PretrainedConfig's default
    if (!Number.isSafeInteger(n) || (n as number) < 1)
      throw new Error(`${source}: num_labels must be an integer >= 1, got ${JSON.stringify(n)}`);
    id2label = defaultLabels(n as number).id2label;
  }
  if (raw.num_labels != null && rawLabels && raw.num_labels !== rawLabels.length && opts.numLabels === undefined && opts.id2label === undefined)
    throw new Error(`${source}: num_labels ${raw.num_labels} contradicts id2label with ${rawLabels.length} names; drop num_labels`);
  const numLabels = id2label.length;
  const label2id = (fromConfig ? labelIds(raw.label2id, id2label) : null) ?? Object.fromEntries(id2label.map((l, i) => [l, i]));

  let problemType = opts.problemType ?? raw.problem_type ?? null;
  if (problemType === null) problemType = numLabels === 1 ? 'regression' : 'single_label_classification';
  if (problemType !== 'regression' && problemType !== 'single_label_classification')
    throw new Error(`${source}: problem_type ${JSON.stringify(problemType)} is not supported; ` +
      'use "single_label_classification" or "regression"');
  return { numLabels, id2label, label2id, problemType };
}

function weights(dir: string): SafeFile {
  const p = join(dir, WEIGHTS_FILE);
  if (!existsSync(p)) throw new Error(`${p}: not found; a model directory needs config.json and ${WEIGHTS_FILE}`);
  return readSafetensors(p);
}

/** Initialise every parameter from `seed`, then overwrite those the checkpoint `file` has. */
function initAndLoad<M extends TaskModel>(model: M, dir: string, file: SafeFile, seed: number, opts: LoadOptions, what: string): M {
  model.params.initialize(seed);
  try {
    model.newlyInitialized = loadStateDict(model.params, file, opts).missing;
  } catch (e) {
    throw new Error(`loading ${what} from ${dir}: ${(e as Error).message}`);
  }
  return model;
}

/**
 * A sequence classifier (DistilBertForSequenceClassification or BertForSequenceClassification,
 * after config.json's model_type) with the encoder of `dir`. The head (and BERT's pooler) comes
 * from the checkpoint when present, else from `seed`: see model.newlyInitialized.
 */
export function loadForSequenceClassification(dir: string, opts: SequenceClassificationOptions = {}): SequenceClassifier {
  const c = readModelConfig(dir);
  const labels = readLabelConfig(c.raw, opts, SOURCE(dir));
  const seed = opts.seed ?? 0;
  const file = weights(dir);
  checkConfigFitsWeights(c, SOURCE(dir), file);
  if (c.kind === 'distilbert') {
    const model = new DistilBertForSequenceClassification(c.config, labels);
    return initAndLoad(model, dir, file, seed, {
      ignore: [...DISTILBERT_SKIP, ...QA_HEAD], allowMissing: CLS_HEAD, basePrefix: 'distilbert.',
    }, `${model.architecture} (num_labels ${labels.numLabels})`);
  }
  const dropout = c.raw.classifier_dropout ?? null;
  if (dropout !== null && (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)))
    throw new Error(`${SOURCE(dir)}: classifier_dropout must be null or a probability in [0, 1), got ${JSON.stringify(dropout)}`);
  const model = new BertForSequenceClassification(c.config, labels, dropout);
  return initAndLoad(model, dir, file, seed, {
    ignore: [...BERT_SKIP, ...QA_HEAD], allowMissing: [...POOLER, /^classifier\./], basePrefix: 'bert.',
  }, `${model.architecture} (num_labels ${labels.numLabels})`);
}

/** A span-extraction model (DistilBertForQuestionAnswering or BertForQuestionAnswering) with the encoder of `dir`. */
export function loadForQuestionAnswering(dir: string, opts: QuestionAnsweringOptions = {}): QuestionAnswerer {
  const c = readModelConfig(dir);
  const seed = opts.seed ?? 0;
  const file = weights(dir);
  checkConfigFitsWeights(c, SOURCE(dir), file);
  if (c.kind === 'distilbert') {
    const model = new DistilBertForQuestionAnswering(c.config);
    return initAndLoad(model, dir, file, seed, {
      ignore: [...DISTILBERT_SKIP, ...CLS_HEAD], allowMissing: QA_HEAD, basePrefix: 'distilbert.',
    }, model.architecture);
  }
  const model = new BertForQuestionAnswering(c.config);
  return initAndLoad(model, dir, file, seed, {
    ignore: [...BERT_SKIP, ...POOLER, /^classifier\./], allowMissing: QA_HEAD, basePrefix: 'bert.',
  }, model.architecture);
}

/**
 * Write `dir/model.safetensors` (every parameter, F32) and `dir/config.json` with the model's
 * architecture and, for classifiers, id2label {"0": name, ...}, label2id and problem_type (HF derives
 * num_labels from id2label, so there is no num_labels key).
 */
export function saveTaskModel(dir: string, model: TaskModel): void {
  const extra: Record<string, unknown> = { architectures: [model.architecture] };
  if (model instanceof DistilBertForSequenceClassification || model instanceof BertForSequenceClassification) {
    const l = model.labels;
    extra.id2label = Object.fromEntries(l.id2label.map((name, i) => [String(i), name]));
    extra.label2id = l.label2id;
    extra.problem_type = l.problemType;
    if (model instanceof BertForSequenceClassification && model.classifierDropout !== null) extra.classifier_dropout = model.classifierDropout;
  }
  mkdirSync(dir, { recursive: true });
  saveStateDict(join(dir, WEIGHTS_FILE), model.params);
  if (model instanceof DistilBertForSequenceClassification || model instanceof DistilBertForQuestionAnswering)
    writeDistilBertConfig(dir, model.config, extra);
  else writeBertConfig(dir, model.config, extra);
}
