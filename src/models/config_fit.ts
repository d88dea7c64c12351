// config.json against the weights it is loaded with, before any model is built. A model is
// allocated at the sizes config.json gives; an edited or mismatched config (num_hidden_layers
// 4294967295, hidden_size 2^31) would otherwise spend minutes building, or fail inside a typed-array
// allocation with a message naming no file. The weights file's tensor shapes are the ground truth.
import type { BertConfig, DistilBertConfig } from '../io/config.js';
import type { SafeFile } from '../io/safetensors.js';
import { familyOf } from './family.js';

type Sized = { kind: 'bert'; config: BertConfig } | { kind: 'distilbert'; config: DistilBertConfig };

/** The sizes that set a model's allocation, with the key and row of the tensor that shows each. */
function expectations(c: Sized): { base: string; layerPart: string; tensors: Array<[string, number[], string]>; layers: [string, number] } {
  const { family: f, ...d } = familyOf(c);
  const k = f.keys, e = 'embeddings.';
  return {
    base: f.base, layerPart: f.layerList,
    tensors: [
      [`${e}word_embeddings.weight`, [d.vocab, d.hidden], `vocab_size, ${k.hidden}`],
      [`${e}position_embeddings.weight`, [d.maxPositions, d.hidden], `max_position_embeddings, ${k.hidden}`],
      ...(d.typeVocab > 0 ? [[`${e}token_type_embeddings.weight`, [d.typeVocab, d.hidden], `type_vocab_size, ${k.hidden}`] as [string, number[], string]] : []),
      [`${f.layerList}0.${f.layer.ffn1}.weight`, [d.ffn, d.hidden], `${k.ffn}, ${k.hidden}`],
    ],
    layers: [k.layers, d.layers],
  };
}

/**
 * Throw, naming both files, when config.json's sizes (vocabulary, width, positions, FFN width,
 * layer count) disagree with the tensors of `weights`. Keys are looked up with and without the base
 * prefix (`bert.` / `distilbert.`), as checkpoints of the bare base model lack it; tensors the file
 * does not have are left to the strict loader (io/state_dict.ts) to report.
 */
export function checkConfigFitsWeights(c: Sized, configFile: string, weights: SafeFile): void {
  const e = expectations(c);
  const find = (key: string) => weights.tensors.get(e.base + key) ?? weights.tensors.get(key);
  const fix = 'use the config.json saved with these weights';
  for (const [key, want, names] of e.tensors) {
    const t = find(key);
    if (t && (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])))
      throw new Error(`${configFile}: (${names}) = (${want.join(', ')}), but ${weights.path} has ${key} of shape [${t.shape.join(', ')}]; ${fix}`);
  }
  const escape = (s: string) => s.replaceAll('.', '\\.');
  const layer = new RegExp(`^(?:${escape(e.base)})?${escape(e.layerPart)}(\\d+)\\.`);
  let count = 0;
  for (const key of weights.tensors.keys()) {
    const m = layer.exec(key);
    if (m) count = Math.max(count, Number(m[1]) + 1);
  }
  const [name, layers] = e.layers;
  if (count !== layers) throw new Error(`${configFile}: ${name} is ${layers}, but ${weights.path} holds ${count} layers; ${fix}`);
}
