// Load a Hugging Face model directory (config.json + model.safetensors) into our models, and save a
// DistilBERT directory that `DistilBertForMaskedLM.from_pretrained` reads.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readModelConfig, writeBertConfig, writeDistilBertConfig, type BertConfig, type DistilBertConfig } from '../io/config.js';
import { readSafetensors } from '../io/safetensors.js';
import { loadStateDict, saveStateDict } from '../io/state_dict.js';
import { BertForMaskedLM } from './bert.js';
import { checkConfigFitsWeights } from './config_fit.js';
import { DistilBertForMaskedLM } from './distilbert.js';

export const WEIGHTS_FILE = 'model.safetensors';

/**
 * Keys a Hub checkpoint may hold that our masked-LM models do not keep as parameters: tied decoder
 * weights (and the decoder bias alias), the position_ids buffer of older transformers, and the
 * next-sentence head of BertForPreTraining checkpoints (no NSP in distillation, docs/method.md §4).
 * An untied decoder (tie_word_embeddings false) is a parameter, which the loader never skips.
 */
const BERT_IGNORE = [
  /^cls\.predictions\.decoder\.(weight|bias)$/, /^bert\.embeddings\.position_ids$/, /^cls\.seq_relationship\./,
];
const DISTILBERT_IGNORE = [/^vocab_projector\.weight$/, /^distilbert\.embeddings\.position_ids$/];

function weightsPath(dir: string): string {
  const p = join(dir, WEIGHTS_FILE);
  if (!existsSync(p))
    throw new Error(`${p}: not found; a model directory needs config.json and model.safetensors ` +
      '(convert a pytorch_model.bin with transformers: model.save_pretrained(dir, safe_serialization=True))');
  return p;
}

export function loadBert(dir: string, config: BertConfig): BertForMaskedLM {
  const file = readSafetensors(weightsPath(dir));
  checkConfigFitsWeights({ kind: 'bert', config }, join(dir, 'config.json'), file);
  const withPooler = file.tensors.has('bert.pooler.dense.weight') || file.tensors.has('pooler.dense.weight');
  const model = new BertForMaskedLM(config, withPooler);
  loadStateDict(model.params, file, { ignore: BERT_IGNORE, basePrefix: 'bert.' });
  return model;
}

export function loadDistilBert(dir: string, config: DistilBertConfig): DistilBertForMaskedLM {
  const file = readSafetensors(weightsPath(dir));
  checkConfigFitsWeights({ kind: 'distilbert', config }, join(dir, 'config.json'), file);
  const model = new DistilBertForMaskedLM(config);
  loadStateDict(model.params, file, { ignore: DISTILBERT_IGNORE, basePrefix: 'distilbert.' });
  return model;
}

export type MaskedLM = BertForMaskedLM | DistilBertForMaskedLM;

/** Load whichever masked LM `dir/config.json` names (model_type "bert" or "distilbert"). */
export function loadMaskedLM(dir: string): MaskedLM {
  const c = readModelConfig(dir);
  return c.kind === 'bert' ? loadBert(dir, c.config) : loadDistilBert(dir, c.config);
}

/** Write config.json + model.safetensors; a tied vocab_projector.weight is left out as HF does. */
export function saveDistilBert(dir: string, model: DistilBertForMaskedLM, config: DistilBertConfig): void {
  mkdirSync(dir, { recursive: true });
  saveStateDict(join(dir, WEIGHTS_FILE), model.params);
  writeDistilBertConfig(dir, config);
}

/** Write a BERT teacher directory (config.json + model.safetensors; a tied decoder is left out). */
export function saveBert(dir: string, model: BertForMaskedLM, config: BertConfig): void {
  mkdirSync(dir, { recursive: true });
  saveStateDict(join(dir, WEIGHTS_FILE), model.params);
  writeBertConfig(dir, config);
}

/** Reload the weights of a directory written by saveDistilBert / saveBert into an existing model. */
export function loadWeightsInto(model: MaskedLM, dir: string): void {
  const file = readSafetensors(weightsPath(dir));
  const bert = model instanceof BertForMaskedLM;
  loadStateDict(model.params, file, bert ? { ignore: BERT_IGNORE, basePrefix: 'bert.' } : { ignore: DISTILBERT_IGNORE, basePrefix: 'distilbert.' });
}
