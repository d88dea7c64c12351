// onnxruntime-node side of the bench: the encoders exported by bench/torch_bench.py, run with the
// session options of bench/README.md: 2 intra-op threads, all graph optimizations, sequential
// execution. Returns null when onnxruntime-node or the export is missing.
// ortLatencyMs times any other ONNX file the same way (e.g. our fp32 and int8 exports of one model).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrt, ortFeeds, ortSession, type OrtModule, type OrtSession } from '../src/infer/ort.js';

export interface OrtFigures {
  ort_version: string;
  ort_bert_b1_ms: number;
  ort_distilbert_b1_ms: number;
  ort_bert_b8_seq_per_s: number;
  ort_distilbert_b8_seq_per_s: number;
}

async function medianMs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[ts.length >> 1]!;
}

/** Median ms of `reps` runs (after 2 warm-up runs) of `session` on ids (B, T), no padding. */
function sessionLatencyMs(ort: OrtModule, session: OrtSession, B: number, T: number, ids: ArrayLike<number>, reps: number): Promise<number> {
  const feeds = ortFeeds(ort, session, ids, new Int32Array(B * T).fill(1), B, T);
  return medianMs(() => session.run(feeds), reps);
}

/**
 * Median latency in ms of the ONNX model `file` (an encoder or a task model taking input_ids,
 * attention_mask and optionally token_type_ids) on ids (B, T), with runOrt's session options.
 */
export async function ortLatencyMs(ort: OrtModule, file: string, B: number, T: number, ids: ArrayLike<number>, reps: number): Promise<number> {
  const session = await ortSession(ort, file, 2);
  try {
    return await sessionLatencyMs(ort, session, B, T, ids, reps);
  } finally {
    await session.release();
  }
}

export async function runOrt(onnxDir: string, quick: boolean): Promise<OrtFigures | null> {
  const ort = loadOrt();
  if (!ort || !existsSync(join(onnxDir, 'distilbert.onnx'))) return null;
  const out: Record<string, number | string> = { ort_version: ort.env.versions?.node ?? 'unknown' };
  for (const name of ['bert', 'distilbert']) {
    const session = await ortSession(ort, join(onnxDir, `${name}.onnx`), 2);
    for (const B of [1, 8]) {
      const raw = readFileSync(join(onnxDir, `ids_b${B}.i32`));
      const ids = new Int32Array(raw.buffer, raw.byteOffset, raw.length / 4);
      const ms = await sessionLatencyMs(ort, session, B, 128, ids, quick ? 3 : B === 1 ? 15 : 5);
      if (B === 1) out[`ort_${name}_b1_ms`] = ms;
      else out[`ort_${name}_b8_seq_per_s`] = (B * 1000) / ms;
    }
  }
  return out as unknown as OrtFigures;
}
