// Physical head pruning (Michel et al. 2019, "Are Sixteen Heads Really Better than One?", §4;
// Hugging Face PreTrainedModel.prune_heads): a new, smaller model without the given heads. Their rows
// of the query/key/value weights and biases and their columns of the output weight are cut out
// (pytorch_utils.py prune_linear_layer), and config.pruned_heads records them in each layer's
// original numbering, merged with the heads pruned before; so the model saves as HF's does after
// `model.prune_heads(...)`, and from_pretrained (transformers 4.x) rebuilds the same shapes.
// Legend: L layers, H heads per layer in the config, H' heads a layer keeps, D head size, C hidden.
import { bertConfig, distilBertConfig, type PrunedHeads } from '../io/config.js';
import { BertForMaskedLM } from '../models/bert.js';
import { BertForSequenceClassification, DistilBertForSequenceClassification } from '../models/classification.js';
import { DistilBertForMaskedLM } from '../models/distilbert.js';
import { BertForQuestionAnswering, DistilBertForQuestionAnswering } from '../models/qa.js';
import type { TaskModel } from '../models/task_pretrained.js';
import { BERT, DISTILBERT, layerPrefix, type LayerNames } from '../models/family.js';
import { headsKept } from '../models/transformer.js';

export type PrunableModel = BertForMaskedLM | DistilBertForMaskedLM | TaskModel;

/** Heads to remove: layer -> head indices in the layer's original numbering (HF heads_to_prune). */
export type HeadsToPrune = Readonly<Record<number, readonly number[]>>;

/** Where a model's attention layers are and their sizes. */
export interface EncoderLayout {
  layers: number;
  /** H, the config's head count. */
  heads: number;
  headSize: number;
  prefix: (layer: number) => string;
  names: LayerNames;
  pruned: PrunedHeads;
}

export function encoderLayout(model: PrunableModel): EncoderLayout {
  const c = model.config;
  const f = 'dim' in c ? DISTILBERT : BERT;
  const d = 'dim' in c ? DISTILBERT.dims(c) : BERT.dims(c);
  return { layers: d.layers, heads: d.heads, headSize: d.hidden / d.heads, names: f.layer, prefix: (i) => layerPrefix(f, i), pruned: d.prunedHeads };
}

/** H' of every layer. */
export const headCounts = (l: EncoderLayout): number[] =>
  Array.from({ length: l.layers }, (_, i) => headsKept(l.pruned, i, l.heads));

/** Original indices of the heads layer `layer` still has, in their order in its weights. */
export function remainingHeads(l: EncoderLayout, layer: number): number[] {
  const gone = new Set(l.pruned[String(layer)] ?? []);
  return Array.from({ length: l.heads }, (_, h) => h).filter((h) => !gone.has(h));
}

/**
 * HF find_pruneable_heads_and_indices: of `heads` (original numbering), those not pruned already,
 * and the rows of the layer's current H' * D attention width that stay. A head's current position
 * is its original index less the pruned heads before it.
 */
export function pruneableHeads(heads: readonly number[], current: number, headSize: number, already: readonly number[]):
  { heads: number[]; index: Int32Array } {
  const gone = new Set(already);
  const fresh = [...new Set(heads)].filter((h) => !gone.has(h)).sort((a, b) => a - b);
  const cut = new Set(fresh.map((h) => h - already.filter((p) => p < h).length));
  const index: number[] = [];
  for (let h = 0; h < current; h++) if (!cut.has(h)) for (let d = 0; d < headSize; d++) index.push(h * headSize + d);
  return { heads: fresh, index: Int32Array.from(index) };
}

/**
 * prune_linear_layer: the rows (dim 0) or columns (dim 1) `index` of a weight (N, K) written to
 * `dst`; a bias follows its weight's rows (dim 0), and stays whole under a column cut.
 */
function selectIndex(dst: Float32Array, src: Float32Array, N: number, K: number, index: Int32Array, dim: 0 | 1): void {
  if (dim === 0) index.forEach((r, i) => dst.set(src.subarray(r * K, (r + 1) * K), i * K));
  else for (let n = 0; n < N; n++) index.forEach((c, j) => (dst[n * index.length + j] = src[n * K + c]!));
}

/** A model of the same class and head on `config`, its parameters left for the caller to fill. */
function rebuild(model: PrunableModel, pruned: PrunedHeads): PrunableModel {
  if ('dim' in model.config) {
    const c = distilBertConfig({ ...model.config, pruned_heads: pruned });
    if (model instanceof DistilBertForSequenceClassification) return new DistilBertForSequenceClassification(c, model.labels);
    if (model instanceof DistilBertForQuestionAnswering) return new DistilBertForQuestionAnswering(c);
    return new DistilBertForMaskedLM(c);
  }
  const c = bertConfig({ ...model.config, pruned_heads: pruned });
  if (model instanceof BertForSequenceClassification) return new BertForSequenceClassification(c, model.labels, model.classifierDropout);
  if (model instanceof BertForQuestionAnswering) return new BertForQuestionAnswering(c);
  return new BertForMaskedLM(c, (model as BertForMaskedLM).withPooler);
}

/**
 * A copy of `model` without the heads `heads` (original numbering; heads pruned already are skipped,
 * as in HF). Removing every head of a layer is allowed (the layer's attention output is then its
 * out_lin bias); removing every head of the model is not.
 */
export function pruneHeads<M extends PrunableModel>(model: M, heads: HeadsToPrune): M {
  const l = encoderLayout(model);
  const merged: Record<string, number[]> = Object.fromEntries(Object.entries(l.pruned).map(([k, v]) => [k, [...v]]));
  const cuts = new Map<number, Int32Array>();
  for (const [key, list] of Object.entries(heads)) {
    const layer = Number(key);
    if (!Number.isInteger(layer) || layer < 0 || layer >= l.layers) throw new Error(`pruneHeads: layer ${key} is not one of the model's ${l.layers} layers`);
    const bad = list.find((h) => !Number.isInteger(h) || h < 0 || h >= l.heads);
    if (bad !== undefined) throw new Error(`pruneHeads: head ${bad} of layer ${layer} is not one of its ${l.heads} heads (original numbering)`);
    const already = l.pruned[String(layer)] ?? [];
    const p = pruneableHeads(list, headsKept(l.pruned, layer, l.heads), l.headSize, already);
    if (p.heads.length === 0) continue;
    merged[String(layer)] = [...already, ...p.heads];
    cuts.set(layer, p.index);
  }
  const next = rebuild(model, merged);
  if (headCounts(encoderLayout(next)).every((h) => h === 0)) throw new Error('pruneHeads: at least one head of the model must remain');
  const cut = new Set<string>();
  const select = (name: string, rows: number, cols: number, index: Int32Array, dim: 0 | 1): void => {
    selectIndex(next.params.view(name), model.params.view(name), rows, cols, index, dim);
    cut.add(name);
  };
  for (const [layer, index] of cuts) {
    const p = l.prefix(layer), n = l.names;
    for (const role of [n.q, n.k, n.v]) {
      const [, C] = model.params.shape(`${p}${role}.weight`) as [number, number];
      select(`${p}${role}.weight`, index.length, C, index, 0); // (H' * D, C) rows
      select(`${p}${role}.bias`, index.length, 1, index, 0);
    }
    const [C, A] = model.params.shape(`${p}${n.o}.weight`) as [number, number];
    select(`${p}${n.o}.weight`, C, A, index, 1); // (C, H' * D) columns
  }
  for (const e of next.params.entries) if (!cut.has(e.name)) next.params.view(e.name).set(model.params.view(e.name));
  next.params.touch();
  return next as M;
}

/**
 * The `n` heads of lowest importance (scores L x H in original numbering; NaN marks heads pruned
 * already), lowest first, ties by layer then head. At least one head of the model must remain.
 */
export function leastImportantHeads(scores: readonly (readonly number[])[], n: number): Record<number, number[]> {
  const live = scores.flatMap((row, layer) => row.flatMap((s, head) => (Number.isNaN(s) ? [] : [{ layer, head, s }])));
  if (!Number.isInteger(n) || n < 1 || n >= live.length)
    throw new Error(`cannot prune ${n} heads: the model has ${live.length} heads and at least one must remain; ` +
      `give a number from 1 to ${live.length - 1}`);
  live.sort((a, b) => a.s - b.s || a.layer - b.layer || a.head - b.head);
  const out: Record<number, number[]> = {};
  for (const { layer, head } of live.slice(0, n)) (out[layer] ??= []).push(head);
  for (const heads of Object.values(out)) heads.sort((a, b) => a - b);
  return out;
}
