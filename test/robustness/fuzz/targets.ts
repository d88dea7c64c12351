// What each reader fuzzer feeds and calls. A target builds its valid seed files once (`setup`),
// then per case writes mutated inputs into a fresh directory and returns the call to make; the
// worker (worker.ts) accepts success or an Error whose message contains `expect` (the file or the
// directory the reader was given), and reports anything else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataset } from '../../../src/data/dataset.js';
import { prepare } from '../../../src/data/prepare.js';
import { readModelConfig } from '../../../src/io/config.js';
import { readSafetensors, writeSafetensors } from '../../../src/io/safetensors.js';
import { loadMaskedLM } from '../../../src/models/pretrained.js';
import { encodeLabels, labelIndex } from '../../../src/tasks/readers/labels.js';
import { readExamples, readTexts } from '../../../src/tasks/readers/table.js';
import { qaInputs } from '../../../src/infer/predict_file.js';
import { BertTokenizer } from '../../../src/text/tokenizer.js';
import type { Rng } from '../../../src/data/rng.js';
import { TINY_BERT, TINY_DISTILBERT, tinyText, tinyTokenizer } from '../common.js';
import { mutateBytes, mutateJson, mutateJsonText, pick } from './mutate.js';

export interface FuzzCase {
  /** A substring every error message must hold: the path of the file or directory read. */
  expect: string;
  run: () => unknown;
}

export interface FuzzTarget {
  name: string;
  setup(dir: string): Promise<void> | void;
  /** Write case inputs into the empty directory `dir`. */
  make(rng: Rng, dir: string): FuzzCase;
}

const SAFETENSORS_DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U64', 'F8_E4M3', 'f32', ''];

/** Seed files by name, built by the targets' setup. */
const seeds: Record<string, Buffer> = {};

/** Every tensor of a parsed file through the accessor its dtype allows (zero-copy views included). */
function readAll(file: string): number {
  const f = readSafetensors(file);
  let n = 0;
  for (const [name, t] of f.tensors) {
    if (['F32', 'F16', 'BF16', 'F64'].includes(t.dtype)) n += f.float32(name).length;
    else n += f.int64(name).length + (t.dtype === 'I64' ? 0 : f.int32(name).length);
  }
  return n;
}

const safetensors: FuzzTarget = {
  name: 'safetensors',
  setup(dir) {
    const file = path.join(dir, 'seed.safetensors');
    writeSafetensors(file, [
      { name: 'a.weight', dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: 'ids', dtype: 'I64', shape: [4], data: BigInt64Array.from([0n, 1n, -1n, 2n ** 40n]) },
      { name: 'half', dtype: 'BF16', shape: [3], data: Uint16Array.from([0x3f80, 0x7fc0, 0xff80]) },
      { name: 'f16', dtype: 'F16', shape: [2, 2], data: Uint16Array.from([0x3c00, 0x7c00, 0, 1]) },
      { name: 'scalar', dtype: 'I32', shape: [], data: Int32Array.from([7]) },
      { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    ], { step: '3', format: 'pt' });
    seeds.safetensors = fs.readFileSync(file);
  },
  make(rng, dir) {
    const seed = seeds.safetensors!;
    const file = path.join(dir, 'model.safetensors');
    let bytes: Buffer;
    const r = rng.next();
    if (r < 0.3) bytes = mutateBytes(rng, seed);
    else if (r < 0.4) {
      // Valid but unusual: the header re-serialized without padding, so tensor data sits unaligned.
      const n = Number(seed.readBigUInt64LE(0));
      const json = Buffer.from(JSON.stringify(JSON.parse(seed.subarray(8, 8 + n).toString('utf8'))));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      bytes = Buffer.concat([len, json, seed.subarray(8 + n)]);
    } else {
      // Edit the header as JSON, then reassemble: length prefix, header, data (each possibly off).
      const n = Number(seed.readBigUInt64LE(0));
      const header = JSON.parse(seed.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const name = pick(rng, names);
      if (rng.next() < 0.3) header[name].dtype = pick(rng, SAFETENSORS_DTYPES);
      const edited = rng.next() < 0.5 ? { ...header, [name]: mutateJson(rng, header[name]) } : mutateJson(rng, header);
      const json = rng.next() < 0.15 ? mutateJsonText(rng, header) : Buffer.from(JSON.stringify(edited) ?? 'null');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(rng.next() < 0.85 ? BigInt(json.length) : BigInt(json.length + pick(rng, [-1, 1, 8, 1 << 20, -json.length])) & 0xffffffffffffffffn);
      let data = seed.subarray(8 + n);
      if (rng.next() < 0.2) data = data.subarray(0, rng.int(data.length + 1));
      bytes = Buffer.concat([len, json, data]);
    }
    fs.writeFileSync(file, bytes);
    return { expect: file, run: () => readAll(file) };
  },
};

const configJson: FuzzTarget = {
  name: 'config.json',
  setup() {
    seeds.bert = fs.readFileSync(path.join(TINY_BERT, 'config.json'));
    seeds.distilbert = fs.readFileSync(path.join(TINY_DISTILBERT, 'config.json'));
  },
  make(rng, dir) {
    const bert = rng.next() < 0.5;
    fs.writeFileSync(path.join(dir, 'config.json'), mutateJsonText(rng, JSON.parse(seeds[bert ? 'bert' : 'distilbert']!.toString())));
    // A third of the cases also load the real weights under the mutated config, as every command does.
    const load = rng.next() < 0.33;
    if (load) fs.symlinkSync(path.join(bert ? TINY_BERT : TINY_DISTILBERT, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    return { expect: dir, run: () => (load ? loadMaskedLM(dir).params.size : readModelConfig(dir).kind) };
  },
};

/** Load the tokenizer of `dir` and run it both ways, as prepare and the pipelines do. */
async function useTokenizer(dir: string): Promise<number> {
  const tok = BertTokenizer.fromDir(dir);
  const e = await tok.encode('w01 w02 [MASK] héllo 😀 w93', 'w05');
  const ids = await tok.encodeBatch(['w03 w04', '', '\u0000 \ufffd']);
  return tok.decode(e.ids).length + ids.length + tok.vocab().length;
}

const tokenizerJson: FuzzTarget = {
  name: 'tokenizer.json',
  setup(dir) {
    const vocab = tinyTokenizer(path.join(dir, 'tok'));
    seeds.tokenizer = Buffer.from(BertTokenizer.fromDir(vocab).toJson());
  },
  make(rng, dir) {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), mutateJsonText(rng, JSON.parse(seeds.tokenizer!.toString())));
    return { expect: dir, run: () => useTokenizer(dir) };
  },
};

const vocabTxt: FuzzTarget = {
  name: 'vocab.txt',
  setup(dir) {
    seeds.vocab = fs.readFileSync(path.join(tinyTokenizer(path.join(dir, 'vocab')), 'vocab.txt'));
  },
  make(rng, dir) {
    fs.writeFileSync(path.join(dir, 'vocab.txt'), mutateBytes(rng, seeds.vocab!));
    if (rng.next() < 0.2)
      fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), mutateJsonText(rng, { do_lower_case: true, strip_accents: null, tokenize_chinese_chars: true }));
    return { expect: dir, run: () => useTokenizer(dir) };
  },
};

/** Files of the seed dataset, meta.json first. */
const dataFiles: string[] = [];

const dataset: FuzzTarget = {
  name: 'dataset (meta.json, index, shards)',
  async setup(dir) {
    const corpus = path.join(dir, 'corpus.txt');
    fs.writeFileSync(corpus, tinyText(30, 5));
    const tokenizer = BertTokenizer.fromDir(tinyTokenizer(path.join(dir, 'tok')));
    const out = path.join(dir, 'data');
    // Two shards of short sequences, so the cross-shard offsets are exercised.
    await prepare({ inputs: [corpus], tokenizer, out, maxLen: 16, minLen: 3, shardTokens: 300, log: () => {} });
    dataFiles.push('meta.json', ...fs.readdirSync(out).filter((f) => f !== 'meta.json').sort());
    for (const f of dataFiles) seeds[f] = fs.readFileSync(path.join(out, f));
  },
  make(rng, dir) {
    const target = rng.next() < 0.4 ? 'meta.json' : pick(rng, dataFiles.slice(1));
    for (const f of dataFiles) {
      const seed = seeds[f]!;
      const bytes = f !== target ? seed : f === 'meta.json' ? mutateJsonText(rng, JSON.parse(seed.toString())) : mutateBytes(rng, seed);
      if (!(f === target && rng.next() < 0.03)) fs.writeFileSync(path.join(dir, f), bytes); // sometimes the file is missing
    }
    return {
      expect: dir,
      run: () => {
        const ds = openDataset(dir);
        let n = 0;
        for (let i = 0; i < ds.size; i++) n += ds.get(i).length;
        return n + ds.tokenCounts.length;
      },
    };
  },
};

const TASK_SEEDS: Record<'csv' | 'tsv' | 'jsonl', string> = {
  csv: 'sentence,label,pair\n"a good ""film""",positive,x\nbad,negative,"multi\nline"\n"comma, inside",positive,\n',
  tsv: 'sentence\tlabel\tpair\na good "film"\tpositive\tx\nbad\tnegative\ty\n\r\né😀\tpositive\t\n',
  jsonl: '{"sentence": "a good film", "label": "positive", "pair": "x"}\n{"sentence": "bad", "label": 0.5, "pair": "y"}\n\n{"sentence": "é😀", "label": true, "pair": ""}\n',
};

/** Question-answering inputs for `distil predict --task question-answering`, one JSON object a line. */
const QA_SEED = '{"question": "who?", "context": "w01 w02 w03"}\n{"question": "", "context": "é😀"}\n';

function taskData(format: 'csv' | 'tsv' | 'jsonl'): FuzzTarget {
  return {
    name: format,
    setup() {},
    make(rng, dir) {
      const file = path.join(dir, `data.${format}`);
      if (format === 'jsonl' && rng.next() < 0.25) {
        fs.writeFileSync(file, mutateBytes(rng, Buffer.from(QA_SEED)));
        return {
          expect: file,
          run: async () => {
            let n = 0;
            for await (const _ of qaInputs(file)) n++;
            return n;
          },
        };
      }
      let bytes: Buffer;
      if (format === 'jsonl' && rng.next() < 0.5) {
        const lines = TASK_SEEDS.jsonl.split('\n');
        const k = rng.int(lines.length);
        if (lines[k]) lines[k] = mutateJsonText(rng, JSON.parse(lines[k]!)).toString('latin1');
        bytes = Buffer.from(lines.join('\n'), 'latin1');
      } else bytes = mutateBytes(rng, Buffer.from(TASK_SEEDS[format]));
      fs.writeFileSync(file, bytes);
      const read = rng.next() < 0.5 ? { textPairCol: 'pair' } : { task: pick(rng, ['classification', 'regression', undefined] as const) };
      return {
        expect: file,
        run: async () => {
          // The three ways the commands read such a file: finetune/evaluate, predict, predict QA.
          const d = await readExamples(file, read);
          const texts = (await readTexts(file, read)).length;
          if (d.labels) encodeLabels(d.examples, labelIndex(d.labels));
          return texts;
        },
      };
    },
  };
}

export const FILE_TARGETS: FuzzTarget[] = [safetensors, configJson, tokenizerJson, vocabTxt, dataset, taskData('csv'), taskData('tsv'), taskData('jsonl')];
