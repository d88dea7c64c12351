// ONNX export (src/infer/onnx_export.ts) run in onnxruntime-node against the PyTorch fixtures and
// our engine, every task head against a plain-loop reference, and the exported directory loaded
// offline by transformers.js in a fill-mask pipeline.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type * as Ort from 'onnxruntime-node';
import { exportOnnx, type OnnxTask } from '../src/infer/onnx_export.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { noGrad } from '../src/tensor/tensor.js';
import { diff, FIXTURES, fixture, ROOT } from './helpers.js';
import { B, floats, fwd, input, rand, runOrt, T, writeHeadModel, writeHubFiles } from './onnx_helpers.js';

const TOL = 1e-4;
const tmp = mkdtempSync(join(tmpdir(), 'distil-onnx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Our engine on the fixture batch: last hidden state (B*T*C) and MLM logits (B*T*V). */
function engine(model: 'tiny-bert' | 'tiny-distilbert'): { h: Float32Array; logits: Float32Array } {
  const m = loadMaskedLM(join(FIXTURES, model)).eval();
  const out = noGrad(() => m.forward(input));
  return { h: Float32Array.from(out.hiddenStates.at(-1)!.data), logits: Float32Array.from(out.logits.data) };
}

function assertMax(name: string, got: Float32Array, want: ArrayLike<number>, tol = TOL): number {
  const d = diff(got, want).maxAbs;
  console.log(`${name}: max |diff| ${d.toExponential(2)}`);
  assert.ok(d <= tol, `${name}: max abs diff ${d.toExponential(2)} > ${tol}`);
  return d;
}

for (const [model, key] of [['tiny-bert', 'teacher'], ['tiny-distilbert', 'student']] as const) {
  test(`${model} MaskedLM in onnxruntime matches PyTorch and our engine`, async () => {
    const file = exportOnnx(join(FIXTURES, model), { outFile: join(tmp, model, 'onnx', 'model.onnx') });
    const out = await runOrt(file);
    assert.deepEqual(out.logits!.dims, [B, T, 99]);
    const got = floats(out.logits);
    assertMax(`${model} onnx vs PyTorch ${key}.logits`, got, fwd.float32(`${key}.logits`));
    assertMax(`${model} onnx vs engine logits`, got, engine(model).logits);
  });
}

test('distil export-onnx writes the file; a head the checkpoint lacks is an error naming the tensor', () => {
  const out = join(tmp, 'cli', 'student.onnx');
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'export-onnx', '--model', join(FIXTURES, 'tiny-distilbert'), '--out', out],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*student\.onnx/);
  assert.ok(statSync(out).size > 50_000);
  assert.throws(() => exportOnnx(join(FIXTURES, 'tiny-distilbert'), { outFile: join(tmp, 'x.onnx'), task: 'text-classification' }),
    /no tensor "pre_classifier\.weight"/);
});

// ---- task heads: synthetic checkpoints = fixture encoder + seeded random head tensors --------------

/** Plain loop nn.Linear: x (N, in) -> (N, out), W [out, in]. */
function linearRef(x: Float32Array, N: number, W: Float32Array, b: Float32Array): Float32Array {
  const out = b.length, inp = W.length / out;
  const y = new Float32Array(N * out);
  for (let n = 0; n < N; n++) for (let o = 0; o < out; o++) {
    let s = b[o]!;
    for (let i = 0; i < inp; i++) s += x[n * inp + i]! * W[o * inp + i]!;
    y[n * out + o] = s;
  }
  return y;
}

const clsRows = (h: Float32Array, C: number): Float32Array => {
  const x = new Float32Array(B * C);
  for (let b = 0; b < B; b++) x.set(h.subarray(b * T * C, b * T * C + C), b * C);
  return x;
};

test('task heads in onnxruntime match a plain-loop head on our engine\'s hidden states', async () => {
  const C = 32, L = 3;
  const dist = engine('tiny-distilbert').h, bert = engine('tiny-bert').h;
  const w = (seed: number, out: number, inp: number): [Float32Array, number[]] => [rand(seed, out * inp), [out, inp]];
  const b = (seed: number, out: number): [Float32Array, number[]] => [rand(seed, out, 0.05), [out]];
  const cases: { name: string; base: 'tiny-bert' | 'tiny-distilbert'; arch: string; head: Record<string, [Float32Array, number[]]>;
    strip?: string; task?: OnnxTask; check: (out: Record<string, Ort.Tensor>, hd: Record<string, [Float32Array, number[]]>) => void }[] = [
    {
      name: 'DistilBertForSequenceClassification', base: 'tiny-distilbert', arch: 'DistilBertForSequenceClassification',
      head: { 'pre_classifier.weight': w(1, C, C), 'pre_classifier.bias': b(2, C), 'classifier.weight': w(3, L, C), 'classifier.bias': b(4, L) },
      check: (out, hd) => {
        const pre = linearRef(clsRows(dist, C), B, hd['pre_classifier.weight']![0], hd['pre_classifier.bias']![0]).map((v) => Math.max(v, 0));
        assert.deepEqual(out.logits!.dims, [B, L]);
        assertMax('DistilBertForSequenceClassification logits', floats(out.logits), linearRef(pre, B, hd['classifier.weight']![0], hd['classifier.bias']![0]));
      },
    },
    {
      name: 'BertForSequenceClassification', base: 'tiny-bert', arch: 'BertForSequenceClassification',
      head: { 'bert.pooler.dense.weight': w(5, C, C), 'bert.pooler.dense.bias': b(6, C), 'classifier.weight': w(7, L, C), 'classifier.bias': b(8, L) },
      check: (out, hd) => {
        const pooled = linearRef(clsRows(bert, C), B, hd['bert.pooler.dense.weight']![0], hd['bert.pooler.dense.bias']![0]).map(Math.tanh);
        assertMax('BertForSequenceClassification logits', floats(out.logits), linearRef(pooled, B, hd['classifier.weight']![0], hd['classifier.bias']![0]));
      },
    },
    {
      name: 'DistilBertForQuestionAnswering', base: 'tiny-distilbert', arch: 'DistilBertForQuestionAnswering',
      head: { 'qa_outputs.weight': w(9, 2, C), 'qa_outputs.bias': b(10, 2) },
      check: (out, hd) => {
        const both = linearRef(dist, B * T, hd['qa_outputs.weight']![0], hd['qa_outputs.bias']![0]); // (B*T, 2)
        assert.deepEqual(out.start_logits!.dims, [B, T]);
        assertMax('QA start_logits', floats(out.start_logits), both.filter((_, i) => i % 2 === 0));
        assertMax('QA end_logits', floats(out.end_logits), both.filter((_, i) => i % 2 === 1));
      },
    },
    {
      name: 'BertForTokenClassification', base: 'tiny-bert', arch: 'BertForTokenClassification',
      head: { 'classifier.weight': w(11, L, C), 'classifier.bias': b(12, L) },
      check: (out, hd) => {
        assert.deepEqual(out.logits!.dims, [B, T, L]);
        assertMax('token classification logits', floats(out.logits), linearRef(bert, B * T, hd['classifier.weight']![0], hd['classifier.bias']![0]));
      },
    },
    {
      name: 'bare BertModel (no bert. prefix)', base: 'tiny-bert', arch: 'BertModel', head: {}, strip: 'bert.',
      check: (out) => assertMax('BertModel last_hidden_state', floats(out.last_hidden_state), bert),
    },
    {
      name: 'DistilBertForMaskedLM --task feature-extraction', base: 'tiny-distilbert', arch: 'DistilBertForMaskedLM', head: {},
      task: 'feature-extraction',
      check: (out) => assertMax('DistilBertModel last_hidden_state', floats(out.last_hidden_state), dist),
    },
  ];
  for (const c of cases) {
    const dir = join(tmp, c.name.replace(/[^A-Za-z]+/g, '_'));
    writeHeadModel(dir, c.base, c.arch, c.head, c.strip ? { stripPrefix: c.strip } : {});
    c.check(await runOrt(exportOnnx(dir, c.task ? { task: c.task } : {})), c.head);
  }
});

// PyTorch head fixtures (scripts/reference/make_head_fixtures.py), written by the task-heads work.
const HEADS_JSON = join(FIXTURES, 'heads.json');

test('task heads in onnxruntime match the PyTorch head fixtures', { skip: !existsSync(HEADS_JSON) && 'no test/fixtures/heads.json' }, async () => {
  const spec = JSON.parse(readFileSync(HEADS_JSON, 'utf8')) as { heads: Record<string, { architecture: string; base: string; head_params: string[] }> };
  const ref = fixture('heads.safetensors');
  for (const [name, h] of Object.entries(spec.heads)) {
    const dir = join(tmp, `pt_${name}`);
    const head = Object.fromEntries(h.head_params.map((p): [string, [Float32Array, number[]]] =>
      [p, [ref.float32(`${name}.param.${p}`).slice(), ref.info(`${name}.param.${p}`).shape]]));
    writeHeadModel(dir, h.base, h.architecture, head);
    const out = await runOrt(exportOnnx(dir));
    const keys = ref.tensors.has(`${name}.logits`) ? ['logits'] : ['start_logits', 'end_logits'];
    for (const k of keys) {
      assert.deepEqual(out[k]!.dims, ref.info(`${name}.${k}`).shape);
      assertMax(`${name} (${h.architecture}) onnx vs PyTorch ${k}`, floats(out[k]), ref.float32(`${name}.${k}`));
    }
  }
});

// ---- transformers.js ---------------------------------------------------------------------------------

for (const model of ['tiny-distilbert', 'tiny-bert'] as const) {
  test(`transformers.js loads the exported ${model} offline; fill-mask logits and top tokens equal our engine's`, async () => {
    const tjs = await import('@huggingface/transformers');
    const root = join(tmp, 'hub');
    const dir = join(root, model);
    // Only what transformers.js needs: config.json, tokenizer files and onnx/model.onnx (no weights).
    exportOnnx(join(FIXTURES, model), { outFile: join(dir, 'onnx', 'model.onnx') });
    const tok = writeHubFiles(dir, model);

    tjs.env.allowRemoteModels = false;
    tjs.env.allowLocalModels = true;
    tjs.env.localModelPath = `${root}/`;
    const unmasker = await tjs.pipeline('fill-mask', model, { dtype: 'fp32' });
    try {
      const text = 'the big cat [MASK] on the red mat.';
      const ours = await tok.encode(text);
      const theirs = unmasker.tokenizer(text);
      const ids = Array.from(theirs.input_ids.data as BigInt64Array, Number);
      assert.deepEqual(ids, ours.ids, 'transformers.js and our tokenizer disagree');

      // Full logits from transformers.js' model vs our engine on the same ids.
      const { logits } = await unmasker.model(theirs);
      const n = ids.length, V = 99;
      const m = loadMaskedLM(join(FIXTURES, model)).eval();
      const want = noGrad(() => m.forward({ inputIds: Int32Array.from(ids), attentionMask: null, batch: 1, seqLen: n })).logits.data;
      assertMax(`${model} transformers.js vs engine logits`, logits.data as Float32Array, want);

      // The pipeline's top 5 at the [MASK] equal the engine's softmax top 5.
      const at = ours.ids.indexOf(tok.maskId);
      const row = Array.from(want.subarray(at * V, (at + 1) * V));
      const mx = Math.max(...row), z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
      const top = row.map((v, id) => ({ id, p: Math.exp(v - mx) / z })).sort((a, b) => b.p - a.p).slice(0, 5);
      const preds = (await unmasker(text, { top_k: 5 })) as { score: number; token: number; token_str: string }[];
      console.log(`${model} fill-mask: ${preds.map((p) => `${p.token_str} ${p.score.toFixed(4)}`).join(', ')}`);
      assert.deepEqual(preds.map((p) => p.token), top.map((t) => t.id));
      preds.forEach((p, i) => assert.ok(Math.abs(p.score - top[i]!.p) < 1e-5, `score ${i}: ${p.score} vs ${top[i]!.p}`));
      assert.equal(preds[0]!.token_str, tok.idToToken(top[0]!.id));
    } finally {
      await unmasker.dispose();
    }
  });
}
