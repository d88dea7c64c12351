// onnxruntime-node side of the bench: the encoders exported by bench/torch_bench.py, run with the
// anchor's session options (../shared/anchors/ort_bench.cjs): 2 intra-op threads, all graph
// optimizations, sequential execution. Returns null when onnxruntime-node or the export is missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrt, ortFeeds, ortSession } from '../src/infer/ort.js';

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

export async function runOrt(onnxDir: string, quick: boolean): Promise<OrtFigures | null> {
  const ort = loadOrt();
  if (!ort || !existsSync(join(onnxDir, 'distilbert.onnx'))) return null;
  const out: Record<string, number | string> = { ort_version: ort.env.versions?.node ?? 'unknown' };
  for (const name of ['bert', 'distilbert']) {
    const session = await ortSession(ort, join(onnxDir, `${name}.onnx`), 2);
    for (const B of [1, 8]) {
      const raw = readFileSync(join(onnxDir, `ids_b${B}.i32`));
      const ids = new Int32Array(raw.buffer, raw.byteOffset, raw.length / 4);
      const feeds = ortFeeds(ort, session, ids, new Int32Array(B * 128).fill(1), B, 128);
      const ms = await medianMs(() => session.run(feeds), quick ? 3 : B === 1 ? 15 : 5);
      if (B === 1) out[`ort_${name}_b1_ms`] = ms;
      else out[`ort_${name}_b8_seq_per_s`] = (B * 1000) / ms;
    }
  }
  return out as unknown as OrtFigures;
}
