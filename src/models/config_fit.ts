// config.json against the weights it is loaded with, before any model is built. A model is
// allocated at the sizes config.json gives; an edited or mismatched config (num_hidden_layers
// 4294967295, hidden_size 2^31) would otherwise spend minutes building, or fail inside a typed-array
// allocation with a message naming no file. The weights file's tensor shapes are the ground truth.
import type { BertConfig, DistilBertConfig } from '../io/config.js';
import type { SafeFile } from '../io/safetensors.js';

type Sized = { kind: 'bert'; config: BertConfig } | { kind: 'distilbert'; config: DistilBertConfig };

/** The sizes that set a model's allocation, with the key and row of the tensor that shows each. */
function expectations(c: Sized): { base: string; layerPart: string; tensors: Array<[string, number[], string]>; layers: [string, number] } {
  if (c.kind === 'bert') {
    const k = c.config;
    return {
      base: 'bert.', layerPart: 'encoder.layer.',
      tensors: [
        ['embeddings.word_embeddings.weight', [k.vocab_size, k.hidden_size], 'vocab_size, hidden_size'],
        ['embeddings.position_embeddings.weight', [k.max_position_embeddings, k.hidden_size], 'max_position_embeddings, hidden_size'],
        ['embeddings.token_type_embeddings.weight', [k.type_vocab_size, k.hidden_size], 'type_vocab_size, hidden_size'],
        ['encoder.layer.0.intermediate.dense.weight', [k.intermediate_size, k.hidden_size], 'intermediate_size, hidden_size'],
      ],
      layers: ['num_hidden_layers', k.num_hidden_layers],
    };
  }
  const k = c.config;
  return {
    base: 'distilbert.', layerPart: 'transformer.layer.',
    tensors: [
      ['embeddings.word_embeddings.weight', [k.vocab_size, k.dim], 'vocab_size, dim'],
      ['embeddings.position_embeddings.weight', [k.max_position_embeddings, k.dim], 'max_position_embeddings, dim'],
      ['transformer.layer.0.ffn.lin1.weight', [k.hidden_dim, k.dim], 'hidden_dim, dim'],
    ],
    layers: ['n_layers', k.n_layers],
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
