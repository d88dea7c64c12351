// The paper's Table 3 here (`distil bench-speed`): teacher and student run at batch 1 over every
// line of a file (the paper timed a full STS-B dev pass on a CPU), reporting parameters, total
// seconds and the ratio; each line is its own forward pass at its own length.
import { readModelConfig } from '../io/config.js';
import type { EncoderInput } from '../models/bert.js';
import type { Module } from '../models/module.js';
import { loadMaskedLM } from '../models/pretrained.js';
import { loadForQuestionAnswering, loadForSequenceClassification } from '../models/task_pretrained.js';
import type { Tensor } from '../tensor/tensor.js';
import { native } from '../tensor/native.js';
import { arena } from '../tensor/arena.js';
import { noGrad } from '../tensor/tensor.js';
import { readTexts } from '../tasks/readers/table.js';
import { BertTokenizer } from '../text/tokenizer.js';
import { buildOnnx } from './onnx_export.js';
import { loadOrt, ortFeeds, ortSession } from './ort.js';

export interface SpeedRow {
  model: string;
  parameters: number;
  seconds: number;
  ms_per_line: number;
  /** The same encoder exported to ONNX and run in onnxruntime-node (null when it is not installed). */
  ort_seconds: number | null;
}

export interface SpeedReport {
  lines: number;
  tokens: number;
  rows: SpeedRow[];
  /** teacher seconds / student seconds. */
  speedup: number;
}

/** Tokenize every input of the file ([CLS] text [SEP], cut to maxLen). */
export async function tokenizeLines(file: string, tokenizerDir: string, maxLen: number): Promise<Int32Array[]> {
  const lines = await readTexts(file);
  const tok = BertTokenizer.fromDir(tokenizerDir);
  const ids = await tok.encodeBatch(lines);
  return ids.map((s) => {
    const cut = s.length > maxLen ? [...s.slice(0, maxLen - 1), tok.sepId] : s;
    return Int32Array.from(cut);
  });
}

/** Any of our models with its encoder: masked-LM, sequence classification or question answering. */
export type EncoderModel = Module & { encode(x: EncoderInput): Tensor[] };

/** Load a model directory whatever its head (config.json `architectures`). */
export function loadAnyModel(dir: string): EncoderModel {
  const arch = String((readModelConfig(dir).raw.architectures as unknown[] | undefined)?.[0] ?? '');
  if (arch.endsWith('ForSequenceClassification')) return loadForSequenceClassification(dir);
  if (arch.endsWith('ForQuestionAnswering')) return loadForQuestionAnswering(dir);
  return loadMaskedLM(dir);
}

/**
 * Seconds for a batch-1 encoder pass over every sequence, after one untimed pass over all of them:
 * each new sequence length builds its oneDNN primitives once, and a server pays that only once.
 */
export function timeModel(model: EncoderModel, seqs: Int32Array[]): number {
  model.eval();
  const run = (ids: Int32Array): void =>
    arena.reuse(() => {
      noGrad(() => model.encode({ inputIds: ids, attentionMask: null, batch: 1, seqLen: ids.length }));
    });
  for (const s of seqs) run(s);
  const t0 = performance.now();
  for (const s of seqs) run(s);
  return (performance.now() - t0) / 1000;
}

/** Seconds for the same batch-1 pass through onnxruntime-node on our ONNX export of `dir` (also after a warm pass). */
export async function timeOrt(dir: string, seqs: Int32Array[]): Promise<number | null> {
  const ort = loadOrt();
  if (!ort) return null;
  const session = await ortSession(ort, buildOnnx(dir, 'feature-extraction').bytes, native.threads());
  const feeds = seqs.map((s) => ortFeeds(ort, session, s, new Int32Array(s.length).fill(1), 1, s.length));
  for (const f of feeds) await session.run(f);
  const t0 = performance.now();
  for (const f of feeds) await session.run(f);
  return (performance.now() - t0) / 1000;
}

export async function benchSpeed(o: { teacher: string; student: string; input: string; maxLen?: number; ort?: boolean }):
  Promise<SpeedReport> {
  const seqs = await tokenizeLines(o.input, o.student, o.maxLen ?? 512);
  const rows: SpeedRow[] = [];
  for (const [name, dir] of [['teacher', o.teacher], ['student', o.student]] as const) {
    const model = loadAnyModel(dir);
    const seconds = timeModel(model, seqs);
    rows.push({
      model: name, parameters: model.numParameters(), seconds, ms_per_line: (1000 * seconds) / seqs.length,
      ort_seconds: o.ort === false ? null : await timeOrt(dir, seqs),
    });
  }
  return {
    lines: seqs.length, tokens: seqs.reduce((n, s) => n + s.length, 0), rows, speedup: rows[0]!.seconds / rows[1]!.seconds,
  };
}
