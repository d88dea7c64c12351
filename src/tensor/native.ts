// Typed binding of the native addon (native/*.cc). Kernel conventions: outputs first, then inputs,
// then dimensions; backward kernels accumulate (+=) into their gradient outputs. Every kernel checks
// buffer lengths against the dimensions and throws a JS Error on a mismatch.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type F32 = Float32Array;
type I32 = Int32Array;

export interface NativeKernels {
  threads(): number;
  /** Record SIGINT/SIGTERM instead of dying at once (native/signals.cc); a second signal exits. */
  watchSignals(): void;
  /** The signal received since watchSignals (2 SIGINT, 15 SIGTERM), or 0. */
  pendingSignal(): number;
  /** Restore the handlers watchSignals replaced and forget a received signal (a run ended). */
  unwatchSignals(): void;
  /** Ask for transparent huge pages under the array's memory (native/alloc.cc). */
  adviseHugePages(a: Float32Array): void;
  setThreads(n: number): void;
  matmul(C: F32, A: F32, B: F32, bias: F32 | null, batch: number, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean, bf16?: boolean): void;
  biasGrad(dbias: F32, dY: F32, M: number, N: number): void;
  /** precision: 0 fp32, 1 bf16, 2 int8 (PRECISION_CODE). */
  linearPacked(Y: F32, X: F32, W: F32, bias: F32 | null, M: number, N: number, K: number, version: number,
    precision?: number, gelu?: boolean): void;
  clearPacked(): void;
  /** probs null: not kept (the backward recomputes them). */
  attentionForward(ctx: F32, probs: F32 | null, q: F32, k: F32, v: F32, mask: I32 | null,
    B: number, T: number, H: number, D: number, dropoutP: number, seed: number): void;
  attentionBackward(dq: F32, dk: F32, dv: F32, dctx: F32, probs: F32 | null, q: F32, k: F32, v: F32, mask: I32 | null,
    B: number, T: number, H: number, D: number, dropoutP: number, seed: number): void;
  layernormForward(out: F32, mean: F32, rstd: F32, inp: F32, w: F32, b: F32, N: number, C: number, eps: number): void;
  addLayernormForward(out: F32, sum: F32 | null, mean: F32, rstd: F32, x: F32, y: F32, w: F32, b: F32, N: number, C: number,
    eps: number): void;
  layernormBackward(dinp: F32, dw: F32 | null, db: F32 | null, dout: F32, inp: F32, mean: F32, rstd: F32, w: F32,
    N: number, C: number): void;
  /** The same gradients from the output: xhat = (out - b) / w (every |w| well above 0). */
  layernormBackwardFromOutput(dinp: F32, dw: F32 | null, db: F32 | null, dout: F32, out: F32, rstd: F32, w: F32, b: F32,
    N: number, C: number): void;
  geluForward(out: F32, inp: F32, n: number): void;
  geluBackward(dinp: F32, inp: F32, dout: F32, n: number): void;
  tanhForward(out: F32, inp: F32, n: number): void;
  tanhBackward(dinp: F32, out: F32, dout: F32, n: number): void;
  reluForward(out: F32, inp: F32, n: number): void;
  reluBackward(dinp: F32, inp: F32, dout: F32, n: number): void;
  dropoutForward(out: F32, inp: F32, n: number, p: number, seed: number): void;
  dropoutBackward(dinp: F32, dout: F32, n: number, p: number, seed: number): void;
  embeddingForward(out: F32, ids: I32, weight: F32, N: number, C: number, V: number): void;
  embeddingBackward(dweight: F32, dout: F32, ids: I32, N: number, C: number, V: number, paddingIdx: number): void;
  add(out: F32, x: F32, y: F32, n: number): void;
  addInto(dst: F32, src: F32, n: number, alpha: number): void;
  crossEntropyForward(logits: F32, targets: I32, N: number, V: number, ignoreIndex: number): number;
  /** dlogits may be logits itself: they are then replaced by their gradient. */
  crossEntropyBackward(dlogits: F32, logits: F32, targets: I32, N: number, V: number, ignoreIndex: number,
    scale: number): void;
  klDivForward(s: F32, t: F32, N: number, V: number, temperature: number): number;
  klDivBackward(ds: F32, s: F32, t: F32, N: number, V: number, temperature: number, g: number): void;
  cosineEmbeddingForward(x: F32, y: F32, N: number, C: number): number;
  cosineEmbeddingBackward(dx: F32 | null, dy: F32 | null, x: F32, y: F32, N: number, C: number, g: number): void;
  mseForward(x: F32, y: F32, n: number): number;
  mseBackward(dx: F32 | null, dy: F32 | null, x: F32, y: F32, n: number, g: number): void;
  gradNorm(grad: F32, n: number): number;
  adamwStep(param: F32, grad: F32, m: F32, v: F32, decayMask: Uint8Array | null, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void;
}

function findAddon(): string {
  // dist/src/tensor/native.js or src/tensor/native.ts: walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'build', 'Release', 'distil.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error('native addon build/Release/distil.node not found: run `npm run setup` (builds it with node-gyp over oneDNN)');
}

export const native: NativeKernels = createRequire(import.meta.url)(findAddon()) as NativeKernels;
