// `distil init-student` (docs/method.md §3; the reference's extract_distilbert.py): a DistilBERT initialised
// from a BERT teacher by taking every other layer. Embeddings (word, position, LayerNorm) are
// copied, token-type embeddings and the pooler dropped, teacher layer layers[i] becomes student
// layer i, and the MLM head is copied (vocab_projector bias <- cls.predictions.bias).
import { join } from 'node:path';
import * as fs from 'node:fs';
import { copyTokenizerFiles } from '../io/atomic.js';
import { tokenizerFile, tokenizerForModel } from '../text/fit.js';
import { distilBertConfig, type BertConfig, type DistilBertConfig } from '../io/config.js';
import { BertForMaskedLM } from '../models/bert.js';
import { DistilBertForMaskedLM } from '../models/distilbert.js';
import { BERT, DISTILBERT, embeddingsPrefix, layerPrefix, type LayerNames } from '../models/family.js';
import { loadMaskedLM, saveDistilBert } from '../models/pretrained.js';

/**
 * Half the teacher's layers: every other layer from the first in the lower half, every other layer
 * ending at the last in the upper half. 12 layers -> [0, 2, 4, 7, 9, 11] (the released DistilBERT).
 */
export function defaultStudentLayers(teacherLayers: number): number[] {
  const n = Math.max(1, Math.floor(teacherLayers / 2));
  const lower = Math.ceil(n / 2), upper = n - lower;
  const out: number[] = [];
  for (let i = 0; i < lower; i++) out.push(2 * i);
  for (let i = upper - 1; i >= 0; i--) out.push(teacherLayers - 1 - 2 * i);
  return out;
}

/** The student of teacher layers `layers`; a head-pruned teacher layer stays pruned in the student. */
export function studentConfigFor(t: BertConfig, layers: number[]): DistilBertConfig {
  const pruned = Object.fromEntries(layers.flatMap((l, s) => (t.pruned_heads[String(l)] ? [[String(s), t.pruned_heads[String(l)]!]] : [])));
  return distilBertConfig({
    vocab_size: t.vocab_size, dim: t.hidden_size, n_layers: layers.length, n_heads: t.num_attention_heads,
    hidden_dim: t.intermediate_size, dropout: t.hidden_dropout_prob, attention_dropout: t.attention_probs_dropout_prob,
    max_position_embeddings: t.max_position_embeddings, initializer_range: t.initializer_range, pad_token_id: t.pad_token_id,
    tie_word_embeddings: t.tie_word_embeddings, pruned_heads: pruned,
  });
}

export interface InitStudentReport {
  layers: number[];
  /** student parameter <- teacher parameter, for every student parameter. */
  copied: Array<[string, string]>;
  config: DistilBertConfig;
}

/** Build the student in memory from a loaded teacher. */
export function initStudentFrom(teacher: BertForMaskedLM, layers: number[]): { student: DistilBertForMaskedLM; report: InitStudentReport } {
  const L = teacher.config.num_hidden_layers;
  for (const l of layers)
    if (!Number.isInteger(l) || l < 0 || l >= L) throw new Error(`--layers: ${l} is not a layer of the ${L}-layer teacher (0..${L - 1})`);
  if (layers.length === 0) throw new Error('--layers: give at least one teacher layer');
  const config = studentConfigFor(teacher.config, layers);
  const student = new DistilBertForMaskedLM(config);
  const [se, te] = [embeddingsPrefix(DISTILBERT), embeddingsPrefix(BERT)];
  const map: Array<[string, string]> = [
    [`${se}word_embeddings.weight`, `${te}word_embeddings.weight`],
    [`${se}position_embeddings.weight`, `${te}position_embeddings.weight`],
    [`${se}LayerNorm.weight`, `${te}LayerNorm.weight`],
    [`${se}LayerNorm.bias`, `${te}LayerNorm.bias`],
  ];
  layers.forEach((t, s) => {
    for (const role of Object.keys(DISTILBERT.layer) as Array<keyof LayerNames>)
      for (const kind of ['weight', 'bias'])
        map.push([`${layerPrefix(DISTILBERT, s)}${DISTILBERT.layer[role]}.${kind}`, `${layerPrefix(BERT, t)}${BERT.layer[role]}.${kind}`]);
  });
  const [sh, th] = [DISTILBERT.mlmHead, BERT.mlmHead];
  for (const kind of ['weight', 'bias']) {
    map.push([`${sh.dense}.${kind}`, `${th.dense}.${kind}`]);
    map.push([`${sh.layerNorm}.${kind}`, `${th.layerNorm}.${kind}`]);
  }
  map.push([sh.bias, th.bias]);
  // An untied teacher decoder becomes the student's own projector weight (the student stays untied).
  if (!teacher.config.tie_word_embeddings) map.push([`${sh.untiedDecoder}.weight`, `${th.untiedDecoder}.weight`]);
  for (const [s, t] of map) student.params.view(s).set(teacher.params.view(t));
  student.params.touch();
  const missing = student.params.names().filter((n) => !map.some(([s]) => s === n));
  if (missing.length) throw new Error(`init-student: no teacher tensor for ${missing.join(', ')}`);
  return { student, report: { layers, copied: map, config } };
}

/**
 * Read the teacher directory, write the student directory (with the teacher's tokenizer files).
 * With `randomSeed`, the student has the same shape but random weights (the initializer of
 * modeling_distilbert.py: normal(0, initializer_range), LayerNorm 1/0): the paper's Table 4
 * "random weights initialization" ablation and the no-teacher MLM baseline.
 */
export function initStudent(teacherDir: string, outDir: string, layers?: number[], randomSeed?: number): InitStudentReport {
  const teacher = loadMaskedLM(teacherDir);
  if (!(teacher instanceof BertForMaskedLM))
    throw new Error(`${join(teacherDir, 'config.json')}: model_type must be "bert" for a teacher (found a DistilBERT)`);
  const chosen = layers ?? defaultStudentLayers(teacher.config.num_hidden_layers);
  let { student, report } = initStudentFrom(teacher, chosen);
  if (randomSeed !== undefined) {
    student = new DistilBertForMaskedLM(report.config);
    student.params.initialize(randomSeed);
    report = { ...report, copied: [] };
  }
  // The teacher's tokenizer goes with the student: it must fit the shared vocabulary.
  if (fs.existsSync(tokenizerFile(teacherDir))) tokenizerForModel(teacherDir);
  saveDistilBert(outDir, student, report.config);
  copyTokenizerFiles([teacherDir], outDir);
  return report;
}
