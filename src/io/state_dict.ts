// Moving a model's parameters to and from a safetensors checkpoint by Hugging Face key
// (STYLE.md 3-4: view names are the checkpoint keys, loading goes by key). The loader is strict,
// like `load_state_dict(strict=True)`: a checkpoint that does not fit is an error, not a model
// that silently trains from random weights.

import type { ParamStore } from '../tensor/param_store.js';
import { writeSafetensors, type SafeFile, type TensorInfo } from './safetensors.js';

export interface LoadOptions {
  /**
   * File keys that may have no parameter, e.g. /^cls\.seq_relationship\./ in a pre-training
   * checkpoint. Tested against the key as written and as mapped; never skips a key that fits.
   */
  ignore?: RegExp[];
  /** Parameters the file may lack; they keep their current (initialised) values, e.g. a new classifier head. */
  allowMissing?: RegExp[];
  /** Maps a file key (after the LayerNorm.gamma/beta fix) to a parameter name. */
  rename?: (key: string) => string;
  /** The model's base prefix (`bert.` / `distilbert.`), added to keys of checkpoints saved from the bare BertModel / DistilBertModel. */
  basePrefix?: string;
}

export interface LoadReport {
  /** Parameters filled from the file, in store order. */
  loaded: string[];
  /** File keys skipped by `ignore`. */
  ignored: string[];
  /** Parameters absent from the file and allowed by `allowMissing`. */
  missing: string[];
}

/** At most this many names are listed in one error; the rest are counted. */
const LIST_MAX = 10;

const list = (names: string[]): string =>
  names.slice(0, LIST_MAX).join(', ') + (names.length > LIST_MAX ? ` (and ${names.length - LIST_MAX} more)` : '');

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** BERT / DistilBERT attention projections, whose shapes shrink when heads are pruned. */
const ATTENTION_PROJECTION = /\.(attention\.self\.(query|key|value)|attention\.output\.dense|attention\.(q|k|v|out)_lin)\.(weight|bias)$/;

/**
 * Old TF-converted BERT checkpoints on the Hub name LayerNorm parameters gamma/beta; transformers
 * renames them on load (`_fix_key` in modeling_utils.py), so we do too.
 */
function fixLayerNormKey(key: string): string {
  return key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

/**
 * Copy every parameter of `store` from `file`. Everything is checked before the first copy, so a
 * checkpoint that does not fit leaves the store untouched.
 */
export function loadStateDict(store: ParamStore, file: SafeFile, opts: LoadOptions = {}): LoadReport {
  const { ignore = [], allowMissing = [], rename = (k: string) => k, basePrefix } = opts;
  const fileKeys = [...file.tensors.keys()];
  let mapped = fileKeys.map((k) => rename(fixLayerNormKey(k)));
  // A checkpoint of the bare base model lacks the prefix the task model puts on its base
  // parameters; transformers adds it when loading, for the keys that then match.
  if (basePrefix && !mapped.some((k) => k.startsWith(basePrefix)) && mapped.some((k) => store.has(basePrefix + k))) {
    mapped = mapped.map((k) => (store.has(basePrefix + k) ? basePrefix + k : k));
  }

  const source = new Map<string, string>(); // parameter -> file key
  const ignored: string[] = [];
  const unexpected: string[] = [];
  fileKeys.forEach((key, i) => {
    const name = mapped[i];
    if (!store.has(name)) {
      if (ignore.some((re) => re.test(key) || re.test(name))) ignored.push(key);
      else unexpected.push(key === name ? key : `${key} (as ${name})`);
      return;
    }
    const other = source.get(name);
    if (other !== undefined) {
      throw new Error(`${file.path}: tensors "${other}" and "${key}" both map to parameter ${name}; drop one or pass a rename`);
    }
    source.set(name, key);
  });
  const absent = store.names().filter((n) => !source.has(n));
  const missing = absent.filter((n) => !allowMissing.some((re) => re.test(n)));

  if (missing.length > 0 || unexpected.length > 0) {
    const kind = basePrefix ? basePrefix.replace(/\.$/, '') : 'matching';
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`${missing.length} parameters missing from the file: ${list(missing)}`);
    if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected keys in the file: ${list(unexpected)}`);
    throw new Error(
      `${file.path}: checkpoint does not fit the model: ${parts.join('; ')}. Is this a ${kind} checkpoint? ` +
        'Point to the right model directory, or pass `ignore` for extra keys, ' +
        '`allowMissing` for parameters to keep initialised, `rename` for other key names.',
    );
  }

  const mismatched: string[] = [];
  for (const [name, key] of source) {
    const info = file.tensors.get(key) as TensorInfo;
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new Error(
        `${file.path}: tensor "${key}" has dtype ${info.dtype}, but parameter ${name} needs floats (F32/F16/BF16/F64); ` +
          'is this the right checkpoint?',
      );
    }
    const want = store.shape(name);
    if (info.shape.length !== want.length || info.shape.some((d, i) => d !== want[i])) {
      mismatched.push(`tensor "${key}" is [${info.shape.join(', ')}] in the file but the model expects [${want.join(', ')}]`);
    }
  }
  if (mismatched.length > 0) {
    const pruned = mismatched.some((m) => ATTENTION_PROJECTION.test(m.split('"')[1]!))
      ? ' (attention projections narrower than the hidden size come from head pruning: that config.json lists them in pruned_heads)' : '';
    throw new Error(
      `config.json does not match the weights: ${file.path}: ${list(mismatched)}; use the config.json saved with these weights${pruned}`,
    );
  }

  for (const [name, key] of source) store.view(name).set(file.float32(key));
  store.touch();
  return { loaded: store.names().filter((n) => source.has(n)), ignored, missing: absent };
}

export interface SaveOptions {
  /** Parameters not to write, e.g. a tied weight that transformers drops from its checkpoints. */
  skip?: string[];
  /** Extra header metadata; {"format": "pt"} is always set, since transformers expects it. */
  metadata?: Record<string, string>;
}

/** Write every parameter (minus `skip`) as F32 in the layout `save_pretrained` produces. */
export function saveStateDict(file: string, store: ParamStore, opts: SaveOptions = {}): void {
  const skip = new Set(opts.skip ?? []);
  for (const s of skip) if (!store.has(s)) throw new Error(`${file}: cannot skip "${s}": the model has no such parameter`);
  const tensors = store.entries
    .filter((e) => !skip.has(e.name))
    .map((e) => ({ name: e.name, dtype: 'F32' as const, shape: e.shape, data: store.view(e.name) }));
  writeSafetensors(file, tensors, { ...opts.metadata, format: 'pt' });
}
