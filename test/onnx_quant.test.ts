// Reduced-precision ONNX exports (ExportOptions.precision): the int8 / bfloat16 weight math of
// src/infer/quantize.ts, the int8 graph (onnxruntime quantize_dynamic's) and the bf16 graph run in
// onnxruntime-node against the fp32 export, the int8 file loaded by transformers.js with dtype q8,
// the CLI flag, and the bench's latency helper on our own export.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { ortLatencyMs } from '../bench/ort.js';
import { exportOnnx, ONNX_FILES } from '../src/infer/onnx_export.js';
import { loadOrt } from '../src/infer/ort.js';
import { quantizeInt8, quantizeWeightInt8, roundHalfEven, toBfloat16 } from '../src/infer/quantize.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { diff, FIXTURES, ROOT } from './helpers.js';
import { floats, input, rand, readGraph, runOrt, writeHeadModel, writeHubFiles } from './onnx_helpers.js';

const { DataType } = onnxProto.onnx.TensorProto;
const MODELS = ['tiny-distilbert', 'tiny-bert'] as const;
const V = 99; // the tiny models' vocabulary

const tmp = mkdtempSync(join(tmpdir(), 'distil-onnx-quant-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- weight math ------------------------------------------------------------------------------------

test('roundHalfEven and quantizeInt8: numpy.rint ties, clamped to [-127, 127] (never -128)', () => {
  for (const [x, want] of [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-1.5, -2], [-2.5, -2], [2.4, 2], [2.6, 3], [-2.6, -3]] as const) {
    assert.equal(roundHalfEven(x), want, `rint(${x})`);
  }
  assert.equal(quantizeInt8(200, 1), 127);
  assert.equal(quantizeInt8(-200, 1), -127);
  assert.equal(quantizeInt8(-127.6, 1), -127);
  assert.equal(quantizeInt8(-1.25, 0.5), -2); // -2.5 -> -2
  assert.equal(quantizeInt8(0.75, 0.5), 2); // 1.5 -> 2
});

test('quantizeWeightInt8: one symmetric scale per output row, W^T laid out (K, N), error <= scale / 2', () => {
  // W [N = 3, K = 4]; scales 63.5 / 127 = 0.5 and 508 / 127 = 4 are exact in float32, so the ties are exact.
  const w = Float32Array.from([
    63.5, -1.25, 0.75, 0.25, // -> 127, -2 (-2.5), 2 (1.5), 0 (0.5)
    -508, 10, 14, 6, //         -> -127, 2 (2.5), 4 (3.5), 2 (1.5)
    0, 0, 0, 0, //              an all-zero row: scale 1, all 0
  ]);
  const { q, scale } = quantizeWeightInt8(w, [3, 4]);
  assert.deepEqual(Array.from(scale), [0.5, 4, 1]);
  const rows = [[127, -2, 2, 0], [-127, 2, 4, 2], [0, 0, 0, 0]];
  assert.deepEqual(Array.from(q), [0, 1, 2, 3].flatMap((k) => rows.map((r) => r[k]!))); // (K, N): q[k * N + n]
  assert.throws(() => quantizeWeightInt8(w, [3, 5]), /12 values for shape \[3, 5\]/);

  // A random [N, K]: each row's largest |w| maps to +-127 and dequantizes within half a step.
  const N = 16, K = 40, r = rand(7, N * K, 1);
  const Q = quantizeWeightInt8(r, [N, K]);
  for (let n = 0; n < N; n++) {
    let absMax = 0, qMax = 0;
    for (let k = 0; k < K; k++) {
      const v = r[n * K + k]!, qv = Q.q[k * N + n]!;
      absMax = Math.max(absMax, Math.abs(v));
      qMax = Math.max(qMax, Math.abs(qv));
      assert.ok(Math.abs(v - qv * Q.scale[n]!) <= Q.scale[n]! / 2 + 1e-7, `row ${n} col ${k}`);
    }
    assert.equal(Q.scale[n], Math.fround(absMax / 127));
    assert.equal(qMax, 127);
  }
});

test('toBfloat16: the top 16 bits rounded to nearest even; inf stays inf, NaN stays NaN', () => {
  const x = Float32Array.from([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.4028234663852886e38, Infinity, NaN]);
  const b = toBfloat16(x);
  // bf16 keeps 7 mantissa bits: 1 + 2^-8 is a tie -> even 0x3f80; 1 + 3 * 2^-8 a tie -> even 0x3f82;
  // float32 max rounds up to inf, as IEEE round-to-nearest does.
  assert.deepEqual(Array.from(b.subarray(0, 7)), [0x3f80, 0xc000, 0x3f80, 0x3f82, 0x3f81, 0x7f80, 0x7f80]);
  assert.ok((b[7]! & 0x7f80) === 0x7f80 && (b[7]! & 0x7f) !== 0, `NaN -> 0x${b[7]!.toString(16)}`);
});

// ---- int8 in onnxruntime ----------------------------------------------------------------------------

/** Encoder layers of a fixture model, from its config.json. */
function layersOf(model: string): number {
  const c = JSON.parse(readFileSync(join(FIXTURES, model, 'config.json'), 'utf8')) as { n_layers?: number; num_hidden_layers?: number };
  return c.n_layers ?? c.num_hidden_layers!;
}

/** Nodes per op type of an exported file. */
function opCounts(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of readGraph(file).node ?? []) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
  return counts;
}

/** Every MatMulInteger's B input is an int8 initializer (K, N) with an int8 zero-point vector (N). */
function assertInt8Weights(file: string): void {
  const g = readGraph(file);
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  for (const n of (g.node ?? []).filter((m) => m.opType === 'MatMulInteger')) {
    const w = inits.get(n.input![1]!), zp = inits.get(n.input![3]!);
    assert.ok(w && zp, `${n.name}: weight and zero point are initializers`);
    assert.equal(w.dataType, DataType.INT8);
    assert.equal(zp.dataType, DataType.INT8);
    assert.deepEqual(zp.dims!.map(Number), [Number(w.dims![1])]);
  }
}

/**
 * How far `got` is from `want`, rows of `width`: max |diff| relative to max |want|, RMS(diff) /
 * RMS(want), and the fraction of rows with the same argmax.
 */
function compare(got: Float32Array, want: Float32Array, width: number): { maxRel: number; rmsRel: number; argmax: number } {
  let se = 0, sw = 0, same = 0;
  for (let i = 0; i < want.length; i++) {
    se += (got[i]! - want[i]!) ** 2;
    sw += want[i]! ** 2;
  }
  const argmax = (a: Float32Array, r: number): number => {
    let best = r * width;
    for (let i = best; i < (r + 1) * width; i++) if (a[i]! > a[best]!) best = i;
    return best;
  };
  const rows = want.length / width;
  for (let r = 0; r < rows; r++) same += Number(argmax(got, r) === argmax(want, r));
  return { maxRel: diff(got, want).maxRel, rmsRel: Math.sqrt(se / sw), argmax: same / rows };
}

/**
 * int8 vs fp32 tolerances. Observed on the tiny models and heads: max relative error 0.7-1.6%, RMS
 * 0.7-1.2%, every argmax the same. Activations quantized per tensor to 8 bits (step = range / 255)
 * and weights per channel (step = max|w| / 127) cost ~0.5% per linear; the 2.5x margin also covers
 * x86 CPUs without VNNI, whose u8 x s8 kernels may saturate int16 pair sums. The random tiny models' logits are
 * near-uniform (some top-2 gaps are < 0.005, below the int8 error), so a few argmax flips are
 * legitimate; a mis-scaled or transposed weight would agree on ~1/V of the rows, not 90%.
 */
const INT8 = { maxRel: 0.04, rmsRel: 0.03, argmax: 0.9 };

function assertInt8Close(name: string, got: Float32Array, want: Float32Array, width: number): void {
  const c = compare(got, want, width);
  console.log(`${name}: int8 vs fp32 max rel ${c.maxRel.toExponential(2)}, rms rel ${c.rmsRel.toExponential(2)}, argmax agree ${(c.argmax * 100).toFixed(0)}%`);
  assert.ok(c.maxRel <= INT8.maxRel, `${name}: max relative error ${c.maxRel} > ${INT8.maxRel}`);
  assert.ok(c.rmsRel <= INT8.rmsRel, `${name}: RMS relative error ${c.rmsRel} > ${INT8.rmsRel}`);
  assert.ok(c.argmax >= INT8.argmax, `${name}: argmax agrees on ${c.argmax} of the rows < ${INT8.argmax}`);
}

for (const model of MODELS) {
  test(`${model} int8: every linear is a MatMulInteger on int8 weights; onnxruntime logits close to the fp32 export's`, async () => {
    const dir = join(FIXTURES, model), L = layersOf(model);
    const fp32 = exportOnnx(dir, { outFile: join(tmp, model, ONNX_FILES.fp32) });
    const int8 = exportOnnx(dir, { outFile: join(tmp, model, ONNX_FILES.int8), precision: 'int8' });
    const ops = opCounts(int8);
    // Per layer q, k, v, out, lin1, lin2; the MLM head's dense and the decoder. Only attention's
    // scores and context stay float MatMuls; q/k/v share one DynamicQuantizeLinear of their input.
    assert.equal(ops.MatMulInteger, 6 * L + 2);
    assert.equal(ops.MatMul, 2 * L);
    assert.equal(ops.DynamicQuantizeLinear, 4 * L + 2);
    assertInt8Weights(int8);
    assert.ok(statSync(int8).size < statSync(fp32).size);

    const [want, got] = [floats((await runOrt(fp32)).logits), floats((await runOrt(int8)).logits)];
    assertInt8Close(model, got, want, V);
  });
}

test('int8 task heads (classifier, pooler, QA) are quantized too and stay close to fp32', async () => {
  const C = 32, Lb = 3;
  const w = (seed: number, out: number): [Float32Array, number[]] => [rand(seed, out * C), [out, C]];
  const b = (seed: number, out: number): [Float32Array, number[]] => [rand(seed, out, 0.05), [out]];
  const cases: { base: string; arch: string; linears: number; outputs: readonly (readonly [string, number])[]; head: Record<string, [Float32Array, number[]]> }[] = [
    { base: 'tiny-distilbert', arch: 'DistilBertForSequenceClassification', linears: 2, outputs: [['logits', Lb]] as const,
      head: { 'pre_classifier.weight': w(1, C), 'pre_classifier.bias': b(2, C), 'classifier.weight': w(3, Lb), 'classifier.bias': b(4, Lb) } },
    { base: 'tiny-bert', arch: 'BertForSequenceClassification', linears: 2, outputs: [['logits', Lb]] as const,
      head: { 'bert.pooler.dense.weight': w(5, C), 'bert.pooler.dense.bias': b(6, C), 'classifier.weight': w(7, Lb), 'classifier.bias': b(8, Lb) } },
    { base: 'tiny-distilbert', arch: 'DistilBertForQuestionAnswering', linears: 1, outputs: [['start_logits', input.seqLen], ['end_logits', input.seqLen]] as const,
      head: { 'qa_outputs.weight': w(9, 2), 'qa_outputs.bias': b(10, 2) } },
  ];
  for (const c of cases) {
    const dir = join(tmp, c.arch);
    writeHeadModel(dir, c.base, c.arch, c.head);
    const int8 = exportOnnx(dir, { precision: 'int8' });
    assert.equal(int8, join(dir, 'onnx', 'model_quantized.onnx'));
    assert.equal(opCounts(int8).MatMulInteger, 6 * layersOf(c.base) + c.linears, c.arch);
    const [want, got] = [await runOrt(exportOnnx(dir)), await runOrt(int8)];
    for (const [name, width] of c.outputs) assertInt8Close(`${c.arch} ${name}`, floats(got[name]), floats(want[name]), width);
  }
});

// ---- int8 in transformers.js --------------------------------------------------------------------------

for (const model of MODELS) {
  test(`transformers.js loads ${model}'s model_quantized.onnx with dtype q8: logits and fill-mask top 5 equal onnxruntime's`, async () => {
    const tjs = await import('@huggingface/transformers');
    const root = join(tmp, 'hub');
    const dir = join(root, model);
    // The directory holds only the int8 file, so a successful load is the q8 -> model_quantized.onnx mapping.
    const file = exportOnnx(join(FIXTURES, model), { outFile: join(dir, 'onnx', ONNX_FILES.int8), precision: 'int8' });
    const tok = writeHubFiles(dir, model);
    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = `${root}/`;
    const unmasker = await tjs.pipeline('fill-mask', model, { dtype: 'q8' });
    try {
      const text = 'the big cat [MASK] on the red mat.';
      const enc = unmasker.tokenizer(text);
      const ids = Array.from(enc.input_ids.data as BigInt64Array, Number), n = ids.length;
      const { logits } = await unmasker.model(enc);
      const direct = floats((await runOrt(file, { inputIds: ids, attentionMask: ids.map(() => 1), batch: 1, seqLen: n })).logits);
      // Same runtime (onnxruntime-node 1.30), same graph: only float summation order may differ.
      const d = diff(logits.data as Float32Array, direct).maxAbs;
      console.log(`${model} q8 transformers.js vs onnxruntime: max |diff| ${d.toExponential(2)}`);
      assert.ok(d <= 1e-5, `max abs diff ${d}`);

      const at = ids.indexOf(tok.maskId);
      const row = Array.from(direct.subarray(at * V, (at + 1) * V));
      const mx = Math.max(...row), z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
      const top = row.map((v, id) => ({ id, p: Math.exp(v - mx) / z })).sort((a, b) => b.p - a.p).slice(0, 5);
      const preds = (await unmasker(text, { top_k: 5 })) as { score: number; token: number }[];
      assert.deepEqual(preds.map((p) => p.token), top.map((t) => t.id));
      preds.forEach((p, i) => assert.ok(Math.abs(p.score - top[i]!.p) < 1e-5, `score ${i}: ${p.score} vs ${top[i]!.p}`));
    } finally {
      await unmasker.dispose();
    }
  });
}

// ---- bf16 ---------------------------------------------------------------------------------------------

for (const model of MODELS) {
  test(`${model} bf16: bfloat16 weights cast to float; onnxruntime equals fp32 on the rounded checkpoint, near fp32 on the original`, async () => {
    const dir = join(FIXTURES, model);
    const fp32 = exportOnnx(dir, { outFile: join(tmp, `bf16-${model}`, ONNX_FILES.fp32) });
    const bf16 = exportOnnx(dir, { outFile: join(tmp, `bf16-${model}`, ONNX_FILES.bf16), precision: 'bf16' });
    // Every checkpoint tensor is bfloat16; float32 is left to the graph's scalar constants (eps, 0.5, ...).
    for (const t of readGraph(bf16).initializer ?? []) {
      const size = (t.dims ?? []).reduce((a, d) => a * Number(d), 1);
      if (t.dataType === DataType.FLOAT) assert.equal(size, 1, `${t.name} is a float32 tensor`);
    }
    // Half the weight bytes; at this tiny size names and graph structure keep the file above 0.5x.
    assert.ok(statSync(bf16).size < 0.7 * statSync(fp32).size);

    // The same checkpoint saved as BF16 safetensors and exported fp32: our reader widens each value,
    // so with fp32 compute on both sides the outputs agree up to summation order.
    const rounded = join(tmp, `bf16-ckpt-${model}`);
    mkdirSync(rounded, { recursive: true });
    copyFileSync(join(dir, 'config.json'), join(rounded, 'config.json'));
    const src = readSafetensors(join(dir, 'model.safetensors'));
    writeSafetensors(join(rounded, 'model.safetensors'),
      [...src.tensors].map(([name, info]) => ({ name, dtype: 'BF16' as const, shape: info.shape, data: toBfloat16(src.float32(name)) })));
    const [got, same, orig] = await Promise.all([bf16, exportOnnx(rounded), fp32].map(async (f) => floats((await runOrt(f)).logits)));
    const exact = diff(got, same).maxAbs;
    assert.ok(exact <= 1e-5, `bf16 export vs fp32 export of the BF16 checkpoint: ${exact}`);
    // bf16 keeps 8 significant bits (rounding error <= 2^-9 = 0.2% per weight); observed ~0.4% on the logits.
    const c = compare(got, orig, V);
    console.log(`${model}: bf16 vs fp32 max rel ${c.maxRel.toExponential(2)}; vs rounded checkpoint max |diff| ${exact.toExponential(2)}`);
    assert.ok(c.maxRel <= 0.015, `bf16 vs fp32 max relative error ${c.maxRel}`);
  });
}

// ---- CLI and bench -------------------------------------------------------------------------------------

test('distil export-onnx --precision int8 writes <model>/onnx/model_quantized.onnx; --precision fp8 is rejected', () => {
  const dir = join(tmp, 'cli-model');
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURES, 'tiny-distilbert', f), join(dir, f));
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'export-onnx', '--model', dir, ...args],
    { encoding: 'utf8' });
  const ok = cli('--precision', 'int8');
  assert.equal(ok.status, 0, ok.stderr);
  const file = join(dir, 'onnx', 'model_quantized.onnx');
  assert.match(ok.stdout, /wrote .*onnx\/model_quantized\.onnx/);
  assert.ok(existsSync(file) && opCounts(file).MatMulInteger! > 0);
  const bad = cli('--precision', 'fp8');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /argument 'fp8' is invalid\. --precision must be one of fp32, int8, bf16/);
  assert.ok(!existsSync(join(dir, 'onnx', 'model.onnx')));
});

test('bench ortLatencyMs times our int8 export (one run, a smoke test, not a measurement)', async () => {
  const ort = loadOrt();
  assert.ok(ort);
  const file = exportOnnx(join(FIXTURES, 'tiny-distilbert'), { outFile: join(tmp, 'bench', ONNX_FILES.int8), precision: 'int8' });
  const ms = await ortLatencyMs(ort, file, 2, 8, Int32Array.from({ length: 16 }, (_, i) => 5 + i), 1);
  assert.ok(Number.isFinite(ms) && ms > 0, String(ms));
});
