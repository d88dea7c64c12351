// onnxruntime-node, when installed (a dev dependency here): the runtime transformers.js uses in
// Node, loaded lazily so that the library works without it. Session options: intra-op
// threads = our thread count, sequential execution (bench/README.md).
import { createRequire } from 'node:module';

export interface OrtTensor {
  data: Float32Array;
  dims: number[];
}
export interface OrtSession {
  inputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtModule {
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => unknown;
  InferenceSession: { create(model: string | Uint8Array, opts: Record<string, unknown>): Promise<OrtSession> };
  env: { versions?: { node?: string } };
}

/** The onnxruntime-node module, or null when it is not installed. */
export function loadOrt(): OrtModule | null {
  for (const from of [import.meta.url, `${process.cwd()}/package.json`]) {
    try {
      return createRequire(from)('onnxruntime-node') as OrtModule;
    } catch {
      // not resolvable from here; try the next place
    }
  }
  return null;
}

export function ortSession(ort: OrtModule, model: string | Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
}

/** int64 feeds for token ids of one batch (B, T): input_ids, attention_mask and, when the graph takes it, token_type_ids. */
export function ortFeeds(ort: OrtModule, s: OrtSession, ids: ArrayLike<number>, mask: ArrayLike<number>, B: number, T: number): Record<string, unknown> {
  const feeds: Record<string, unknown> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(Array.from(ids), (v) => BigInt(v)), [B, T]),
    attention_mask: new ort.Tensor('int64', BigInt64Array.from(Array.from(mask), (v) => BigInt(v)), [B, T]),
  };
  if (s.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
  return feeds;
}
