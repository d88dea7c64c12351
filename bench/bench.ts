// `npm run bench [-- --json] [-- --quick]`: our engine's speed, side by side with PyTorch
// (bench/torch_bench.py, fair settings of ../shared/anchors/README.md) and onnxruntime-node, all in
// this one invocation, run one after the other so they never share the 2 cores. Medians throughout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../src/tensor/native.js';
import { runOrt, type OrtFigures } from './ort.js';
import { baseStudent, baseTeacher, distillStep, forwardOnce, mlmBatch, randomIds } from './workloads.js';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const log = (s: string): void => {
  if (!json) console.log(s);
};

/** This machine's fp32 peak: ~4.16 GHz x 64 FLOP/cycle (2 AVX-512 FMA) x 2 cores (anchors README). */
const PEAK_FP32_GFLOPS = 532;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function medianMs(fn: () => void, reps: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** GEMM GFLOP/s on the BERT-base shapes at 8 x 128 tokens (weights stored [out, in]). */
function matmulFigures(): Record<string, number> {
  const shapes: Array<[string, number, number, number]> = [
    ['qkv/out proj 1024x768x768', 1024, 768, 768],
    ['ffn1 1024x3072x768', 1024, 3072, 768],
    ['ffn2 1024x768x3072', 1024, 768, 3072],
    ['vocab proj 128x30522x768', 128, 30522, 768],
  ];
  const out: Record<string, number> = {};
  for (const [name, M, N, K] of shapes) {
    const A = new Float32Array(M * K).map(() => Math.random() - 0.5);
    const B = new Float32Array(N * K).map(() => Math.random() - 0.5);
    const C = new Float32Array(M * N);
    const ms = medianMs(() => native.matmul(C, A, B, null, 1, M, N, K, false, true, false), quick ? 3 : 10);
    out[name] = (2 * M * N * K) / (ms * 1e6);
  }
  return out;
}

interface TorchFigures {
  [key: string]: number | string | null;
}

/** Run bench/torch_bench.py when /usr/bin/python3 has torch; null otherwise. */
function runTorch(onnxDir: string): TorchFigures | null {
  const py = '/usr/bin/python3';
  if (args.has('--no-torch') || !existsSync(py)) return null;
  const probe = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
  if (probe.status !== 0) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  // dist/bench/bench.js -> bench/torch_bench.py (Python is not compiled).
  const script = fileURLToPath(new URL('../../bench/torch_bench.py', import.meta.url));
  const r = spawnSync(py, [script, '--onnx-dir', onnxDir, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    log(`PyTorch bench failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchFigures;
}

const ratio = (ours: number | null | undefined, theirs: number | null | undefined, higherIsBetter: boolean): string =>
  ours && theirs ? `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}x` : '-';

async function main(): Promise<void> {
  log(`distilbert-ts bench: ${native.threads()} threads; medians${quick ? ' (quick)' : ''}`);
  const matmul = matmulFigures();
  log('\nGEMM (fp32, oneDNN), GFLOP/s and % of the ~532 GFLOP/s peak:');
  for (const [k, v] of Object.entries(matmul)) log(`  ${k.padEnd(28)} ${v.toFixed(0).padStart(5)}  ${((100 * v) / PEAK_FP32_GFLOPS).toFixed(0)}%`);

  const teacher = baseTeacher();
  const student = baseStudent();
  const ids1 = randomIds(1, 128);
  const ids8 = randomIds(8, 128);
  const [r1, r8] = quick ? [3, 2] : [15, 5];
  const ours: Record<string, number> = {
    bert_b1_ms: medianMs(() => forwardOnce(teacher, 1, 128, ids1), r1),
    distilbert_b1_ms: medianMs(() => forwardOnce(student, 1, 128, ids1), r1),
    bert_b8_seq_per_s: 8000 / medianMs(() => forwardOnce(teacher, 8, 128, ids8), r8),
    distilbert_b8_seq_per_s: 8000 / medianMs(() => forwardOnce(student, 8, 128, ids8), r8),
  };
  const batch = mlmBatch(8, 128);
  const step = distillStep(teacher, student, batch);
  const stepMs = medianMs(() => step.step(), quick ? 2 : 5, 1);
  ours.distill_step_ms = stepMs;
  ours.distill_tokens_per_s = (8 * 128) / (stepMs / 1000);

  const onnxDir = join(process.cwd(), 'bench', 'out', 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  const torch = runTorch(onnxDir);
  const ort: OrtFigures | null = args.has('--no-ort') ? null : await runOrt(onnxDir, quick);

  const rows: Array<[string, number, number | null | undefined, number | null | undefined, boolean, string]> = [
    ['BERT-base forward 1x128', ours.bert_b1_ms!, torch?.torch_bert_b1_ms as number, ort?.ort_bert_b1_ms, false, 'ms'],
    ['DistilBERT forward 1x128', ours.distilbert_b1_ms!, torch?.torch_distilbert_b1_ms as number, ort?.ort_distilbert_b1_ms, false, 'ms'],
    ['BERT-base forward 8x128', ours.bert_b8_seq_per_s!, torch?.torch_bert_b8_seq_per_s as number, ort?.ort_bert_b8_seq_per_s, true, 'seq/s'],
    ['DistilBERT forward 8x128', ours.distilbert_b8_seq_per_s!, torch?.torch_distilbert_b8_seq_per_s as number, ort?.ort_distilbert_b8_seq_per_s, true, 'seq/s'],
    ['distillation step 8x128', ours.distill_tokens_per_s!, torch?.torch_distill_tokens_per_s as number, null, true, 'tokens/s'],
  ];
  log(`\n${'workload'.padEnd(26)} ${'ours'.padStart(9)} ${'PyTorch'.padStart(9)} ${'ratio'.padStart(6)} ${'ORT'.padStart(9)} ${'ratio'.padStart(6)}  unit`);
  for (const [name, o, t, r, hib, unit] of rows)
    log(`${name.padEnd(26)} ${o.toFixed(1).padStart(9)} ${(t?.toFixed(1) ?? '-').padStart(9)} ${ratio(o, t, hib).padStart(6)} ` +
      `${(r?.toFixed(1) ?? '-').padStart(9)} ${ratio(o, r, hib).padStart(6)}  ${unit}`);
  log(`(ratio > 1: ours is faster; distillation step ${stepMs.toFixed(0)} ms, ${batch.mlmLabels.filter((l) => l !== -100).length} projected positions)`);
  if (!torch) log('PyTorch not measured: install Debian python3-torch and libopenblas0-pthread to compare side by side.');
  else if (!String(torch.torch_blas).toLowerCase().includes('open'))
    log(`note: PyTorch reports BLAS ${torch.torch_blas}; install libopenblas0-pthread for a fair comparison`);
  if (!ort) log('onnxruntime-node not measured (needs the PyTorch ONNX export and `npm i onnxruntime-node`).');

  if (json)
    console.log(JSON.stringify({
      matmul_gflops: matmul['ffn1 1024x3072x768'], matmul_by_shape_gflops: matmul, peak_fp32_gflops: PEAK_FP32_GFLOPS,
      ...ours,
      torch_distill_tokens_per_s: torch?.torch_distill_tokens_per_s ?? null,
      torch_bert_b1_ms: torch?.torch_bert_b1_ms ?? null, torch_distilbert_b1_ms: torch?.torch_distilbert_b1_ms ?? null,
      torch_bert_b8_seq_per_s: torch?.torch_bert_b8_seq_per_s ?? null,
      torch_distilbert_b8_seq_per_s: torch?.torch_distilbert_b8_seq_per_s ?? null,
      torch_blas: torch?.torch_blas ?? null,
      ort_bert_b1_ms: ort?.ort_bert_b1_ms ?? null, ort_distilbert_b1_ms: ort?.ort_distilbert_b1_ms ?? null,
      ort_bert_b8_seq_per_s: ort?.ort_bert_b8_seq_per_s ?? null, ort_distilbert_b8_seq_per_s: ort?.ort_distilbert_b8_seq_per_s ?? null,
      threads: native.threads(),
    }));
}

await main();
