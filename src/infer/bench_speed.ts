// The paper's Table 3 here (`distil bench-speed`): teacher and student run at batch 1 over every
// line of a file (the paper timed a full STS-B dev pass on a CPU), reporting parameters, total
// seconds and the ratio; each line is its own forward pass at its own length.
import { readFileSync } from 'node:fs';
import { loadMaskedLM, type MaskedLM } from '../models/pretrained.js';
import { arena } from '../tensor/arena.js';
import { noGrad } from '../tensor/tensor.js';
import { BertTokenizer } from '../text/tokenizer.js';

export interface SpeedRow {
  model: string;
  parameters: number;
  seconds: number;
  ms_per_line: number;
}

export interface SpeedReport {
  lines: number;
  tokens: number;
  rows: SpeedRow[];
  /** teacher seconds / student seconds. */
  speedup: number;
}

/** Tokenize every non-empty line ([CLS] text [SEP], cut to maxLen). */
export async function tokenizeLines(file: string, tokenizerDir: string, maxLen: number): Promise<Int32Array[]> {
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`${file}: no non-empty lines to run`);
  const tok = BertTokenizer.fromDir(tokenizerDir);
  const ids = await tok.encodeBatch(lines);
  return ids.map((s) => {
    const cut = s.length > maxLen ? [...s.slice(0, maxLen - 1), tok.sepId] : s;
    return Int32Array.from(cut);
  });
}

/** Seconds for a batch-1 encoder pass over every sequence (after `warmup` untimed passes). */
export function timeModel(model: MaskedLM, seqs: Int32Array[], warmup = 3): number {
  model.eval();
  const run = (ids: Int32Array): void =>
    arena.reuse(() => {
      noGrad(() => model.encode({ inputIds: ids, attentionMask: null, batch: 1, seqLen: ids.length }));
    });
  for (let i = 0; i < Math.min(warmup, seqs.length); i++) run(seqs[i]!);
  const t0 = performance.now();
  for (const s of seqs) run(s);
  return (performance.now() - t0) / 1000;
}

export async function benchSpeed(o: { teacher: string; student: string; input: string; maxLen?: number }): Promise<SpeedReport> {
  const seqs = await tokenizeLines(o.input, o.student, o.maxLen ?? 512);
  const rows: SpeedRow[] = [];
  for (const [name, dir] of [['teacher', o.teacher], ['student', o.student]] as const) {
    const model = loadMaskedLM(dir);
    const seconds = timeModel(model, seqs);
    rows.push({ model: name, parameters: model.numParameters(), seconds, ms_per_line: (1000 * seconds) / seqs.length });
  }
  return {
    lines: seqs.length, tokens: seqs.reduce((n, s) => n + s.length, 0), rows, speedup: rows[0]!.seconds / rows[1]!.seconds,
  };
}
