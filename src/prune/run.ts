// `distil prune-heads` as a library function: head importance of a fine-tuned classifier on labelled
// data, the N least important heads removed, the model saved as a Hugging Face directory with its
// tokenizer files and the scores, and what pruning changed (heads, parameters, eval metric, batch-1
// latency), as bertology's prune_heads reports it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteDir, atomicWriteFile, copyTokenizerFiles } from '../io/atomic.js';
import type { Sequence } from '../data/padding.js';
import { timeModel } from '../infer/bench_speed.js';
import { loadForSequenceClassification, saveTaskModel, type SequenceClassifier } from '../models/task_pretrained.js';
import { encodeLabels, labelIndex } from '../tasks/readers/labels.js';
import { readExamples, type ReadOptions } from '../tasks/readers/table.js';
import { encodeData, scoreModel } from '../tasks/classification/finetune.js';
import { tokenizerForModel } from '../text/fit.js';
import { headImportance } from './importance.js';
import { encoderLayout, headCounts, leastImportantHeads, pruneHeads } from './prune_heads.js';

export const IMPORTANCE_FILE = 'head_importance.json';

export interface PruneHeadsOptions {
  /** A fine-tuned sequence-classification directory. */
  model: string;
  /** Labelled examples the importance is computed on. */
  data: string;
  /** Heads to remove. */
  nHeads: number;
  out: string;
  /** Labelled examples scored before and after pruning. */
  eval?: string;
  batchSize?: number;
  maxLength?: number;
  read?: ReadOptions;
  /** Sentences (of --eval, else --data) timed at batch 1 (default 16). */
  timedSentences?: number;
  onImportanceBatch?: (done: number, total: number) => void;
}

export interface ModelStats {
  heads: number;
  parameters: number;
  /** Accuracy (classification) or Pearson r (regression) on --eval; null without it. */
  metric: number | null;
  msPerSentence: number;
}

export interface PruneHeadsReport {
  /** Heads of the config (L * H), pruned ones included. */
  totalHeads: number;
  metricName: string;
  before: ModelStats;
  after: ModelStats;
  /** Heads removed by this run: layer -> original head indices. */
  pruned: Record<number, number[]>;
  /** L x H, original numbering; NaN for heads pruned before this run. */
  importance: number[][];
}

function mustExist(file: string, flag: string): void {
  if (!existsSync(file)) throw new Error(`${flag} ${file}: file not found`);
}

function stats(model: SequenceClassifier, metric: () => number | null, timed: Int32Array[]): ModelStats {
  const heads = headCounts(encoderLayout(model)).reduce((a, b) => a + b, 0);
  // The best of three passes: a few sentences on a busy machine are noisy, and noise only adds time.
  const seconds = Math.min(...[0, 1, 2].map(() => timeModel(model, timed)));
  return { heads, parameters: model.numParameters(), metric: metric(), msPerSentence: (1000 * seconds) / timed.length };
}

export async function runPruneHeads(o: PruneHeadsOptions): Promise<PruneHeadsReport> {
  mustExist(o.data, '--data');
  if (o.eval) mustExist(o.eval, '--eval');
  const model = loadForSequenceClassification(o.model);
  if (model.newlyInitialized.length > 0)
    throw new Error(`${o.model} has no ${model.newlyInitialized.join(', ')}: prune-heads needs a fine-tuned classifier (distil finetune writes one)`);
  const layout = encoderLayout(model);
  const live = headCounts(layout).reduce((a, b) => a + b, 0);
  if (!Number.isInteger(o.nHeads) || o.nHeads < 1 || o.nHeads >= live)
    throw new Error(`--n-heads ${o.nHeads}: the model has ${live} heads and at least one must remain; give 1 to ${live - 1}`);

  const tok = tokenizerForModel(o.model);
  const maxLength = o.maxLength ?? 128, batchSize = o.batchSize ?? 32;
  const regression = model.labels.problemType === 'regression';
  const read = { ...o.read, task: regression ? 'regression' as const : 'classification' as const };
  const data = await readExamples(o.data, read);
  const seqs = await encodeData(tok, data, maxLength);
  const labels = regression ? Float32Array.from(data.examples, (e) => Number(e.label))
    : encodeLabels(data.examples, labelIndex(model.labels.id2label));
  const importance = headImportance(model, seqs, labels, tok.padId, { batchSize, onBatch: o.onImportanceBatch });
  const pruned = leastImportantHeads(importance, o.nHeads);
  const smaller = pruneHeads(model, pruned);

  const evalData = o.eval ? await readExamples(o.eval, read) : null;
  const evalSeqs: Sequence[] | null = evalData ? await encodeData(tok, evalData, maxLength) : null;
  const metricName = regression ? 'pearson' : 'accuracy';
  const metric = (m: SequenceClassifier) => (): number | null =>
    evalData && evalSeqs ? scoreModel(m, evalSeqs, evalData, tok.padId, batchSize)[metricName]! : null;
  const timed = (evalSeqs ?? seqs).slice(0, o.timedSentences ?? 16).map((s) => Int32Array.from(s.ids));
  const report: PruneHeadsReport = {
    totalHeads: layout.layers * layout.heads, metricName, pruned, importance,
    before: stats(model, metric(model), timed), after: stats(smaller, metric(smaller), timed),
  };

  atomicWriteDir(o.out, (dir) => {
    saveTaskModel(dir, smaller);
    copyTokenizerFiles([o.model], dir);
    // NaN (heads pruned before this run) is written as null.
    atomicWriteFile(join(dir, IMPORTANCE_FILE), JSON.stringify({
      data: o.data, normalize_by_layer: true, normalize_global: true, importance,
      pruned_heads: pruned, model_pruned_heads: smaller.config.pruned_heads,
    }, null, 2) + '\n');
  });
  return report;
}
