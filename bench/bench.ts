// `npm run bench [-- --json] [-- --quick]`: our engine's speed, side by side with PyTorch
// (bench/torch_bench.py, with the fair settings of bench/README.md) and onnxruntime-node, all in
// this one invocation, run one after the other so they never share the 2 cores. Medians throughout.
// ORT runs PyTorch's fp32 export (as the anchor does) and our own fp32 and int8 exports of the same
// DistilBERT (`distil export-onnx --precision int8` = onnxruntime's dynamic quantization).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distilBertConfig } from '../src/io/config.js';
import { exportOnnx } from '../src/infer/onnx_export.js';
import { loadOrt } from '../src/infer/ort.js';
import { saveDistilBert } from '../src/models/pretrained.js';
import { native } from '../src/tensor/native.js';
import { withPrecision, type Precision } from '../src/tensor/precision.js';
import { ortLatencyMs, runOrt, type OrtFigures } from './ort.js';
import { baseStudent, baseTeacher, distillStep, forwardOnce, mlmBatch, randomIds } from './workloads.js';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const log = (s: string): void => {
  if (!json) console.log(s);
};

/** This machine's peaks (bench/README.md): ~4.16 GHz x 64 fp32 FLOP/cycle x 2 cores; bf16 dot products do 2x, int8 VNNI 4x. */
const PEAK_GFLOPS: Record<Precision, number> = { fp32: 532, bf16: 1064, int8: 2128 };
/** Figures from another machine of this kind (bench/README.md), for a second reference point. */
const README_ANCHOR = { torch_distill_step_s: 2.07, ort_distilbert_b1_ms: 28.2 };

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

/**
 * GEMM GFLOP/s on the BERT-base shapes at 8 x 128 tokens (weights stored [out, in]): the training
 * matmul in fp32 and bf16 (plain weights, operands converted per call), the inference linear layer
 * in bf16 and int8 (weights packed once).
 */
function matmulFigures(): Array<{ name: string; precision: Precision; kernel: string; gflops: number }> {
  const shapes: Array<[string, number, number, number]> = [
    ['qkv/out proj 1024x768x768', 1024, 768, 768],
    ['ffn1 1024x3072x768', 1024, 3072, 768],
    ['ffn2 1024x768x3072', 1024, 768, 3072],
    ['vocab proj 128x30522x768', 128, 30522, 768],
  ];
  const out: Array<{ name: string; precision: Precision; kernel: string; gflops: number }> = [];
  for (const [name, M, N, K] of shapes) {
    const A = new Float32Array(M * K).map(() => Math.random() - 0.5);
    const B = new Float32Array(N * K).map(() => Math.random() - 0.5);
    const C = new Float32Array(M * N);
    const gf = (ms: number): number => (2 * M * N * K) / (ms * 1e6);
    const reps = quick ? 3 : 10;
    for (const bf16 of [false, true])
      out.push({ name, precision: bf16 ? 'bf16' : 'fp32', kernel: 'matmul', gflops: gf(medianMs(() => native.matmul(C, A, B, null, 1, M, N, K, false, true, false, bf16), reps)) });
    for (const [precision, code] of [['bf16', 1], ['int8', 2]] as const)
      out.push({ name, precision, kernel: 'packed', gflops: gf(medianMs(() => native.linearPacked(C, A, B, null, M, N, K, 1, code), reps)) });
    native.clearPacked();
  }
  return out;
}

interface TorchFigures {
  [key: string]: number | string | null;
}

const PYTHON = '/usr/bin/python3';
let torchProbe: boolean | undefined;

/** Whether PYTHON has torch, probed once; when it has not, says so once on stderr. */
function hasTorch(): boolean {
  if (torchProbe === undefined) {
    torchProbe = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
    if (!torchProbe) console.error(`bench: ${PYTHON} has no torch, so the PyTorch figures are null (npm run bench installs python3-torch)`);
  }
  return torchProbe;
}

/** Run bench/torch_bench.py with `extra` flags when PYTHON has torch; null otherwise. */
function runTorch(extra: string[]): TorchFigures | null {
  if (args.has('--no-torch') || !hasTorch()) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  // dist/bench/bench.js -> bench/torch_bench.py (Python is not compiled).
  const script = fileURLToPath(new URL('../../bench/torch_bench.py', import.meta.url));
  const r = spawnSync(PYTHON, [script, ...extra, ...(quick ? ['--quick'] : [])], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    log(`PyTorch bench failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchFigures;
}

/** ORT latency of our own fp32 and int8 exports of `dir` (encoder only, as the forward workloads). */
async function ortOnOurExports(dir: string, ids: Int32Array): Promise<Record<string, number> | null> {
  const ort = loadOrt();
  if (!ort || args.has('--no-ort')) return null;
  const reps = quick ? 3 : 15;
  const out: Record<string, number> = {};
  for (const [precision, key] of [['fp32', 'ort_ours_distilbert_b1_ms'], ['int8', 'ort_distilbert_b1_int8_ms']] as const) {
    const file = exportOnnx(dir, { task: 'feature-extraction', precision, outFile: join(dir, `encoder_${precision}.onnx`) });
    out[key] = await ortLatencyMs(ort, file, 1, 128, ids, reps);
  }
  return out;
}

const ratio = (ours: number | null | undefined, theirs: number | null | undefined, higherIsBetter: boolean): string =>
  ours && theirs ? `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}x` : '-';

/**
 * Small-model pretraining (bench/pretrain_small.ts) in a process of its own, so its RSS is its own,
 * then the same step in PyTorch.
 */
function pretrainSmall(): { ours: Record<string, number | string>; torch: TorchFigures | null } {
  const script = fileURLToPath(new URL('./pretrain_small.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--json', '--steps', quick ? '3' : '24'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/pretrain_small failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const ours = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  return { ours, torch: runTorch(['--pretrain-small']) };
}

async function main(): Promise<void> {
  log(`distilbert-ts bench: ${native.threads()} threads; medians${quick ? ' (quick)' : ''}`);
  const matmul = matmulFigures();
  log('\nGEMM GFLOP/s (oneDNN) and % of this machine\'s peak for the precision (fp32 532, bf16 1064, int8 2128):');
  log(`  ${'shape'.padEnd(28)} ${'fp32'.padStart(11)} ${'bf16 train'.padStart(11)} ${'bf16 packed'.padStart(11)} ${'int8 packed'.padStart(11)}`);
  for (const name of new Set(matmul.map((m) => m.name)))
    log(`  ${name.padEnd(28)} ` + matmul.filter((m) => m.name === name)
      .map((m) => `${m.gflops.toFixed(0)} ${((100 * m.gflops) / PEAK_GFLOPS[m.precision]).toFixed(0)}%`.padStart(11)).join(' '));

  const teacher = baseTeacher();
  const student = baseStudent();
  const ids1 = randomIds(1, 128);
  const ids8 = randomIds(8, 128);
  const [r1, r8] = quick ? [3, 2] : [15, 5];
  const b1 = (p: Precision): number => withPrecision(p, () => medianMs(() => forwardOnce(student, 1, 128, ids1), r1));
  const ours: Record<string, number> = {
    bert_b1_ms: medianMs(() => forwardOnce(teacher, 1, 128, ids1), r1),
    distilbert_b1_ms: b1('fp32'),
    distilbert_b1_bf16_ms: b1('bf16'),
    distilbert_b1_int8_ms: b1('int8'),
    bert_b8_seq_per_s: 8000 / medianMs(() => forwardOnce(teacher, 8, 128, ids8), r8),
    distilbert_b8_seq_per_s: 8000 / medianMs(() => forwardOnce(student, 8, 128, ids8), r8),
  };
  native.clearPacked();
  const batch = mlmBatch(8, 128);
  for (const p of ['fp32', 'bf16'] as const) {
    const step = distillStep(teacher, student, batch);
    const ms = withPrecision(p, () => medianMs(() => step.step(), quick ? 2 : 5, 1));
    const suffix = p === 'fp32' ? '' : `_${p}`;
    ours[`distill${suffix}_step_ms`] = ms;
    ours[`distill${suffix}_tokens_per_s`] = (8 * 128) / (ms / 1000);
  }

  const small = args.has('--no-pretrain') ? null : pretrainSmall();
  const sm = small?.ours, smTorch = small?.torch?.torch_pretrain_small_tokens_per_s as number | undefined;

  // Our student as a Hugging Face directory, exported to ONNX in fp32 and int8 for ORT.
  const outDir = join(process.cwd(), 'bench', 'out');
  const studentDir = join(outDir, 'distilbert-base-random');
  saveDistilBert(studentDir, student, distilBertConfig());
  const onnxDir = join(outDir, 'onnx');
  mkdirSync(onnxDir, { recursive: true });
  const torch = runTorch(['--onnx-dir', onnxDir]);
  const ort: OrtFigures | null = args.has('--no-ort') ? null : await runOrt(onnxDir, quick);
  const oursOrt = await ortOnOurExports(studentDir, ids1);

  const t = (k: string): number | undefined => (torch?.[k] as number | null | undefined) ?? undefined;
  const rows: Array<[string, number, number | undefined, number | undefined, boolean, string]> = [
    ['BERT-base forward 1x128', ours.bert_b1_ms!, t('torch_bert_b1_ms'), ort?.ort_bert_b1_ms, false, 'ms'],
    ['DistilBERT forward 1x128', ours.distilbert_b1_ms!, t('torch_distilbert_b1_ms'), ort?.ort_distilbert_b1_ms, false, 'ms'],
    ['  same, ORT on our export', ours.distilbert_b1_ms!, undefined, oursOrt?.ort_ours_distilbert_b1_ms, false, 'ms'],
    ['  int8 (ORT: our int8)', ours.distilbert_b1_int8_ms!, undefined, oursOrt?.ort_distilbert_b1_int8_ms, false, 'ms'],
    ['  bf16', ours.distilbert_b1_bf16_ms!, undefined, undefined, false, 'ms'],
    ['BERT-base forward 8x128', ours.bert_b8_seq_per_s!, t('torch_bert_b8_seq_per_s'), ort?.ort_bert_b8_seq_per_s, true, 'seq/s'],
    ['DistilBERT forward 8x128', ours.distilbert_b8_seq_per_s!, t('torch_distilbert_b8_seq_per_s'), ort?.ort_distilbert_b8_seq_per_s, true, 'seq/s'],
    ['distillation step 8x128', ours.distill_tokens_per_s!, t('torch_distill_tokens_per_s'), undefined, true, 'tokens/s'],
    ['  bf16 (PyTorch: fp32)', ours.distill_bf16_tokens_per_s!, t('torch_distill_tokens_per_s'), undefined, true, 'tokens/s'],
    ...(sm ? [['pretraining 6x256 128x128', sm.pretrain_small_tokens_per_s as number, smTorch, undefined, true, 'tokens/s'] as
      [string, number, number | undefined, number | undefined, boolean, string]] : []),
  ];
  log(`\n${'workload'.padEnd(26)} ${'ours'.padStart(9)} ${'PyTorch'.padStart(9)} ${'ratio'.padStart(6)} ${'ORT'.padStart(9)} ${'ratio'.padStart(6)}  unit`);
  for (const [name, o, tv, r, hib, unit] of rows)
    log(`${name.padEnd(26)} ${o.toFixed(1).padStart(9)} ${(tv?.toFixed(1) ?? '-').padStart(9)} ${ratio(o, tv, hib).padStart(6)} ` +
      `${(r?.toFixed(1) ?? '-').padStart(9)} ${ratio(o, r, hib).padStart(6)}  ${unit}`);
  log(`(ratio > 1: ours is faster; distillation step fp32 ${ours.distill_step_ms!.toFixed(0)} ms, bf16 ${ours.distill_bf16_step_ms!.toFixed(0)} ms, ` +
    `${batch.mlmLabels.filter((l) => l !== -100).length} projected positions)`);
  log(`against bench/README.md's figures (another machine of this kind): distillation step fp32 ` +
    `${ratio(ours.distill_step_ms, README_ANCHOR.torch_distill_step_s * 1000, false)}, bf16 ` +
    `${ratio(ours.distill_bf16_step_ms, README_ANCHOR.torch_distill_step_s * 1000, false)} of PyTorch's ${README_ANCHOR.torch_distill_step_s} s; ` +
    `DistilBERT 1x128 fp32 ${ratio(ours.distilbert_b1_ms, README_ANCHOR.ort_distilbert_b1_ms, false)} of ORT's ${README_ANCHOR.ort_distilbert_b1_ms} ms`);
  if (sm)
    log(`pretraining 6x256 (bf16; PyTorch fp32): step ${(sm.pretrain_small_step_ms as number).toFixed(0)} ms, first step ` +
      `${(sm.pretrain_small_first_step_ms as number).toFixed(0)} ms (${((sm.pretrain_small_first_step_ms as number) / (sm.pretrain_small_step_ms as number)).toFixed(2)}x), ` +
      `slowest ${(sm.pretrain_small_max_step_ms as number).toFixed(0)} ms, system/user CPU ${(100 * (sm.pretrain_small_system_s as number) / (sm.pretrain_small_user_s as number)).toFixed(1)}%, ` +
      `peak RSS ${(sm.pretrain_small_peak_rss_mb as number).toFixed(0)} MB; PyTorch ${small?.torch ? `${(small.torch.torch_pretrain_small_step_ms as number).toFixed(0)} ms/step` : 'not measured'}`);
  if (!torch) log('PyTorch not measured: install Debian python3-torch and libopenblas0-pthread to compare side by side.');
  else if (!String(torch.torch_blas).toLowerCase().includes('open'))
    log(`note: PyTorch reports BLAS ${torch.torch_blas}; install libopenblas0-pthread for a fair comparison`);
  if (!ort) log('onnxruntime-node not measured on the PyTorch export (needs PyTorch and `npm i onnxruntime-node`).');

  if (json)
    console.log(JSON.stringify({
      matmul_gflops: matmul.find((m) => m.name.startsWith('ffn1') && m.precision === 'fp32')!.gflops,
      matmul_by_shape_gflops: Object.fromEntries(matmul.map((m) => [`${m.name} ${m.precision} ${m.kernel}`, m.gflops])),
      peak_gflops: PEAK_GFLOPS,
      ...ours,
      torch_distill_tokens_per_s: torch?.torch_distill_tokens_per_s ?? null,
      torch_bert_b1_ms: torch?.torch_bert_b1_ms ?? null, torch_distilbert_b1_ms: torch?.torch_distilbert_b1_ms ?? null,
      torch_bert_b8_seq_per_s: torch?.torch_bert_b8_seq_per_s ?? null,
      torch_distilbert_b8_seq_per_s: torch?.torch_distilbert_b8_seq_per_s ?? null,
      torch_blas: torch?.torch_blas ?? null,
      ort_bert_b1_ms: ort?.ort_bert_b1_ms ?? null, ort_distilbert_b1_ms: ort?.ort_distilbert_b1_ms ?? null,
      ort_bert_b8_seq_per_s: ort?.ort_bert_b8_seq_per_s ?? null, ort_distilbert_b8_seq_per_s: ort?.ort_distilbert_b8_seq_per_s ?? null,
      ort_ours_distilbert_b1_ms: oursOrt?.ort_ours_distilbert_b1_ms ?? null,
      ort_distilbert_b1_int8_ms: oursOrt?.ort_distilbert_b1_int8_ms ?? null,
      ...(sm ?? {}),
      torch_pretrain_small_tokens_per_s: smTorch ?? null,
      torch_pretrain_small_step_ms: small?.torch?.torch_pretrain_small_step_ms ?? null,
      pretrain_small_vs_torch: sm && smTorch ? (sm.pretrain_small_tokens_per_s as number) / smTorch : null,
      threads: native.threads(),
    }));
}

await main();
