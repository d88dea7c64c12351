// k-fold cross-validation of fine-tuning on a classification set (`distil crossval`): one test split
// of a few hundred sentences scores a model within +-2-3 points (MR: 2.4 at 400), which cannot tell
// two models apart; k folds over every example, times a few seeds, can. The examples of all input
// files are pooled and dealt into k stratified folds by a fixed seed (the folds do not depend on
// the training seed); each fold is scored by a model fine-tuned on the other k - 1, for a fixed
// number of epochs (the held-out fold never picks the epoch), from the same starting directory.
import type { Precision } from '../../tensor/precision.js';
import { withPrecision } from '../../tensor/precision.js';
import { loadForSequenceClassification } from '../../models/task_pretrained.js';
import { tokenizerForModel } from '../../text/fit.js';
import { Rng } from '../../data/rng.js';
import { encodeLabels, labelIndex, sortLabels } from '../readers/labels.js';
import { readExamples, type LabelledData, type ReadOptions } from '../readers/table.js';
import { checkMaxLength, encodeData, scoreModel } from './finetune.js';
import { FINETUNE_SCHEMA, finetuneLoop, type FinetuneParams } from '../finetune_loop.js';
import { resolveParams } from '../../train/schema.js';

export interface CrossValOptions {
  /** The model to fine-tune (a Hugging Face BERT/DistilBERT directory), fresh for every fold. */
  model: string;
  /** Labelled files (CSV, TSV, JSONL), pooled. */
  data: readonly string[];
  read?: ReadOptions;
  folds: number;
  /** Training seeds (initialisation of the head, batch order, dropout); every fold runs once per seed. */
  seeds: readonly number[];
  /** Seed of the fold assignment. */
  foldSeed?: number;
  params?: Partial<FinetuneParams>;
  precision?: Precision;
  /** After each fold's fine-tuning. */
  onFold?: (r: FoldResult, done: number, total: number) => void;
  onStep?: (step: number, total: number, loss: number) => void;
}

export interface FoldResult {
  seed: number;
  fold: number;
  train: number;
  test: number;
  /** The held-out fold's metrics after the last epoch. */
  metrics: Record<string, number>;
}

export interface CrossValResult {
  model: string;
  data: readonly string[];
  examples: number;
  labels: string[];
  folds: number;
  seeds: readonly number[];
  params: FinetuneParams;
  results: FoldResult[];
  /** Mean accuracy over folds x seeds, with the 95% bootstrap interval of that mean. */
  accuracy: { mean: number; ci95: [number, number]; std: number };
}

/** Stratified fold of every example: each label's examples, shuffled, are dealt round-robin. */
export function assignFolds(labels: Int32Array, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(labels.length);
  const byLabel = new Map<number, number[]>();
  labels.forEach((l, i) => (byLabel.get(l) ?? byLabel.set(l, []).get(l)!).push(i));
  const rng = new Rng(seed);
  let next = 0; // carries across labels, so fold sizes differ by at most one
  for (const l of [...byLabel.keys()].sort((a, b) => a - b)) {
    const idx = byLabel.get(l)!;
    for (const j of rng.permutation(idx.length)) fold[idx[j]!] = next++ % folds;
  }
  return fold;
}

/**
 * Percentile bootstrap 95% interval of the mean of `xs` (10,000 resamples, fixed seed): the
 * folds x seeds scores are resampled with replacement.
 */
export function bootstrapMeanCi(xs: readonly number[], resamples = 10_000, seed = 1): [number, number] {
  if (xs.length === 0) return [NaN, NaN];
  const rng = new Rng(seed), means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)]!;
    means[r] = s / xs.length;
  }
  means.sort();
  return [means[Math.floor(0.025 * resamples)]!, means[Math.ceil(0.975 * resamples) - 1]!];
}

async function pool(files: readonly string[], read: ReadOptions): Promise<LabelledData> {
  if (files.length === 0) throw new Error('crossval needs at least one --data file');
  const parts = await Promise.all(files.map((f) => readExamples(f, { ...read, task: 'classification' })));
  const labels = sortLabels(new Set(parts.flatMap((p) => p.labels ?? [])));
  const examples = parts.flatMap((p) => p.examples);
  if (examples.length === 0) throw new Error(`${files.join(', ')}: no examples`);
  return { file: files.join(', '), format: parts[0]!.format, columns: parts[0]!.columns, examples, labels };
}

export async function crossValidate(o: CrossValOptions): Promise<CrossValResult> {
  const p: FinetuneParams = resolveParams(FINETUNE_SCHEMA, o.params);
  if (!Number.isInteger(o.folds) || o.folds < 2) throw new Error(`--folds must be an integer >= 2, got ${o.folds}`);
  if (o.seeds.length === 0) throw new Error('--seeds needs at least one seed');
  const all = await pool(o.data, o.read ?? {});
  const labels = all.labels!;
  if (labels.length < 2) throw new Error(`${all.file}: crossval needs at least two labels, found ${labels.join(', ') || 'none'}`);
  if (all.examples.length < o.folds) throw new Error(`${all.file}: ${all.examples.length} examples cannot fill ${o.folds} folds`);
  const gold = encodeLabels(all.examples, labelIndex(labels));
  const fold = assignFolds(gold, o.folds, o.foldSeed ?? 56);
  const tok = tokenizerForModel(o.model);
  const seqs = await encodeData(tok, all, p.max_length);
  const results: FoldResult[] = [];
  const total = o.seeds.length * o.folds;
  for (const seed of o.seeds)
    for (let k = 0; k < o.folds; k++) {
      const trainRows = [...fold.keys()].filter((i) => fold[i] !== k), testRows = [...fold.keys()].filter((i) => fold[i] === k);
      const test: LabelledData = { ...all, examples: testRows.map((i) => all.examples[i]!) };
      const model = loadForSequenceClassification(o.model, { id2label: labels, problemType: 'single_label_classification', seed });
      checkMaxLength(model, p.max_length, o.model);
      const trainSeqs = trainRows.map((i) => seqs[i]!), testSeqs = testRows.map((i) => seqs[i]!);
      const trainGold = Int32Array.from(trainRows, (i) => gold[i]!);
      const reports = withPrecision(o.precision ?? 'fp32', () => finetuneLoop(model, trainSeqs, tok.padId, { ...p, seed }, {
        loss: (x, rows) => model.loss(model.forward(x).logits, Int32Array.from(rows, (r) => trainGold[r]!)),
        onStep: o.onStep,
      }));
      const metrics = withPrecision(o.precision ?? 'fp32', () => scoreModel(model, testSeqs, test, tok.padId, p.eval_batch_size));
      const r: FoldResult = { seed, fold: k, train: trainRows.length, test: testRows.length, metrics: { ...metrics, train_loss: reports.at(-1)!.train_loss } };
      results.push(r);
      o.onFold?.(r, results.length, total);
    }
  const acc = results.map((r) => r.metrics.accuracy!);
  const mean = acc.reduce((a, b) => a + b, 0) / acc.length;
  const std = Math.sqrt(acc.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(acc.length - 1, 1));
  return {
    model: o.model, data: o.data, examples: all.examples.length, labels, folds: o.folds, seeds: o.seeds, params: p, results,
    accuracy: { mean, ci95: bootstrapMeanCi(acc), std },
  };
}
