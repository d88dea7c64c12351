// Head pruning (Michel et al. 2019; src/prune/): the head-mask op against its reference and finite
// differences; masking heads to 0 equals removing them (BERT and DistilBERT, forward and gradients,
// a whole layer included); pruned directories save and load with HF's pruned_heads; importance scores.
// The CLI is tested in prune_cli.test.ts. Legend: B batch, T sequence, C hidden, H heads, D head size.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { padSequences } from '../src/data/padding.js';
import { bertConfig, distilBertConfig } from '../src/io/config.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { initStudent } from '../src/distill/init_student.js';
import { BertForMaskedLM, type EncoderInput } from '../src/models/bert.js';
import { loadMaskedLM, saveBert } from '../src/models/pretrained.js';
import { BertForSequenceClassification, DistilBertForSequenceClassification, defaultLabels } from '../src/models/classification.js';
import { loadForSequenceClassification, saveTaskModel, type SequenceClassifier } from '../src/models/task_pretrained.js';
import { exportOnnx } from '../src/infer/onnx_export.js';
import { loadOrt, ortFeeds, ortSession } from '../src/infer/ort.js';
import { headImportance } from '../src/prune/importance.js';
import { leastImportantHeads, pruneableHeads, pruneHeads } from '../src/prune/prune_heads.js';
import { headMask } from '../src/tensor/head_mask.js';
import { backward, noGrad, Tensor } from '../src/tensor/tensor.js';
import { assertClose } from './helpers.js';
import { formatReport, randn, seededRng, testOp, type Reference } from './op_helper.js';

const work = mkdtempSync(join(tmpdir(), 'distil-prune-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const [B, T, L, H] = [3, 7, 2, 4];

test('headMask: forward, backward (d mask_h = sum ctx_h * dy_h) and finite differences', () => {
  const [rows, D] = [6, 3];
  const ref: Reference = {
    forward: ([x, m]) => Float64Array.from(x!, (v, i) => v * m![Math.floor(i / D) % H]!),
    backward: ([x, m], dy) => {
      const dx = new Float64Array(rows * H * D), dm = new Float64Array(H);
      dy.forEach((g, i) => {
        const h = Math.floor(i / D) % H;
        dx[i] = m![h]! * g;
        dm[h]! += x![i]! * g;
      });
      return [dx, dm];
    },
  };
  // Gates at 1, 0 and in between: the importance gradient is taken at 1, a pruned head sits at 0.
  const gates = () => Float32Array.of(1, 0, 0.5, 1);
  const r = testOp('headMask', [[2, 3, H * D], [H]], ref, ([x, m]) => headMask(x!, m!), { init: [undefined, gates], fdSamples: 20 });
  console.log(`# ${formatReport(r)}`);
  assert.throws(() => headMask(new Tensor(new Float32Array(10), [2, 5]), new Tensor(new Float32Array(2), [2])), /5 context features do not split into 2 heads/);
});

const distil = distilBertConfig({ vocab_size: 100, dim: 32, n_layers: L, n_heads: H, hidden_dim: 64, max_position_embeddings: 16 });
const bert = bertConfig({ vocab_size: 100, hidden_size: 32, num_hidden_layers: L, num_attention_heads: H, intermediate_size: 64,
  max_position_embeddings: 16 });

/** A tiny classifier with every parameter random (biases and LayerNorms too, so a lone out_lin bias shows). */
function classifier(kind: 'bert' | 'distilbert', seed = 1): SequenceClassifier {
  const m = kind === 'bert' ? new BertForSequenceClassification(bert, defaultLabels(3)) : new DistilBertForSequenceClassification(distil, defaultLabels(3));
  const noise = randn(seededRng(seed), m.params.size, 0.1);
  m.params.initialize(seed);
  m.params.data.forEach((v, i) => (m.params.data[i] = v + noise[i]!));
  m.params.touch();
  return m;
}

const rng = seededRng(5);
const input: EncoderInput = {
  inputIds: Int32Array.from({ length: B * T }, () => 1 + Math.floor(rng() * 99)),
  attentionMask: Int32Array.from({ length: B * T }, (_, i) => (i >= 2 * T + 4 ? 0 : 1)), // row 2: 3 padded tokens
  tokenTypeIds: Int32Array.from({ length: B * T }, (_, i) => (i % T >= 4 ? 1 : 0)),
  batch: B, seqLen: T,
};
const labels = Int32Array.of(0, 2, 1);
const gates = (rows: number[][]): Tensor[] => rows.map((r) => new Tensor(Float32Array.from(r), [r.length]));
const ones = [1, 1, 1, 1];

/** Logits and every hidden state, without gradients. */
function outputs(m: SequenceClassifier, x: EncoderInput): Float32Array[] {
  return noGrad(() => {
    const o = m.forward(x);
    return [o.logits, ...o.hiddenStates].map((t) => Float32Array.from(t.data));
  });
}

function assertSameOutputs(what: string, got: Float32Array[], want: Float32Array[]): void {
  got.forEach((g, i) => assertClose(`${what} output ${i}`, g, want[i]!, 1e-5, 1e-6));
}

for (const kind of ['distilbert', 'bert'] as const)
  test(`${kind}: heads 1 and 3 of layer 0 masked to 0 give the outputs and gradients of the pruned model`, () => {
    const model = classifier(kind);
    const pruned = pruneHeads(model, { 0: [1, 3] });
    assert.deepEqual(pruned.config.pruned_heads, { 0: [1, 3] });
    assert.deepEqual(model.config.pruned_heads, {}, 'the source model is left as it was');
    const q = kind === 'bert' ? 'bert.encoder.layer.0.attention.self.query' : 'distilbert.transformer.layer.0.attention.q_lin';
    const o = kind === 'bert' ? 'bert.encoder.layer.0.attention.output.dense' : 'distilbert.transformer.layer.0.attention.out_lin';
    assert.deepEqual(pruned.params.shape(`${q}.weight`), [16, 32]);
    assert.deepEqual(pruned.params.shape(`${o}.weight`), [32, 16]);
    assert.ok(pruned.numParameters() < model.numParameters());
    assertSameOutputs('masked vs pruned', outputs(pruned, input), outputs(model, { ...input, headMask: gates([[1, 0, 1, 0], ones]) }));

    // Gradients: of the kept rows of q (heads 0 and 2 = rows 0..7 and 16..23), of the output weight's
    // kept columns, and of every parameter the pruning left whole.
    const grads = (m: SequenceClassifier, x: EncoderInput): void => {
      m.enableGrad();
      backward(m.loss(m.forward(x).logits, labels));
    };
    grads(model, { ...input, headMask: gates([[1, 0, 1, 0], ones]) });
    grads(pruned, input);
    const gq = model.params.gradView(`${q}.weight`);
    assertClose('q_lin.weight grad', pruned.params.gradView(`${q}.weight`), Float32Array.from([...gq.subarray(0, 8 * 32), ...gq.subarray(16 * 32, 24 * 32)]));
    const go = model.params.gradView(`${o}.weight`), kept = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
    assertClose('out_lin.weight grad', pruned.params.gradView(`${o}.weight`),
      Float32Array.from({ length: 32 * 16 }, (_, i) => go[Math.floor(i / 16) * 32 + kept[i % 16]!]!));
    for (const name of pruned.params.names())
      if (pruned.params.shape(name).join() === model.params.shape(name).join())
        assertClose(`${name} grad`, pruned.params.gradView(name), model.params.gradView(name), 1e-4, 1e-7);
  });

for (const kind of ['distilbert', 'bert'] as const)
  test(`${kind}: a layer with every head pruned outputs its out_lin bias, as with all its heads masked`, () => {
    const model = classifier(kind, 2);
    const pruned = pruneHeads(model, { 1: [0, 1, 2, 3] });
    const o = kind === 'bert' ? 'bert.encoder.layer.1.attention.output.dense' : 'distilbert.transformer.layer.1.attention.out_lin';
    assert.deepEqual(pruned.params.shape(`${o}.weight`), [32, 0]);
    assertSameOutputs('masked vs pruned', outputs(pruned, input), outputs(model, { ...input, headMask: gates([ones, [0, 0, 0, 0]]) }));
    model.enableGrad();
    pruned.enableGrad();
    backward(model.loss(model.forward({ ...input, headMask: gates([ones, [0, 0, 0, 0]]) }).logits, labels));
    backward(pruned.loss(pruned.forward(input).logits, labels));
    assertClose('out_lin.bias grad', pruned.params.gradView(`${o}.bias`), model.params.gradView(`${o}.bias`), 1e-5);
    assert.throws(() => pruneHeads(pruned, { 0: [0, 1, 2, 3] }), /at least one head of the model must remain/);
  });

test('find_pruneable_heads_and_indices: already pruned heads are skipped and shift the others', () => {
  // Layer with heads {0, 2, 3} left of 4 (head 1 pruned), D = 2: pruning heads 1 and 3 cuts current head 2.
  assert.deepEqual(pruneableHeads([3, 1], 3, 2, [1]), { heads: [3], index: Int32Array.of(0, 1, 2, 3) });
  assert.deepEqual(pruneableHeads([0, 0], 4, 2, []), { heads: [0], index: Int32Array.of(2, 3, 4, 5, 6, 7) });
});

test('pruning twice merges pruned_heads in the original numbering and equals pruning once', () => {
  const model = classifier('distilbert', 3);
  const twice = pruneHeads(pruneHeads(model, { 0: [1] }), { 0: [1, 3], 1: [2] });
  const once = pruneHeads(model, { 1: [2], 0: [3, 1] });
  assert.deepEqual(twice.config.pruned_heads, { 0: [1, 3], 1: [2] });
  assert.deepEqual(twice.params.data, once.params.data);
  assertSameOutputs('masked vs pruned twice', outputs(twice, input), outputs(model, { ...input, headMask: gates([[1, 0, 1, 0], [1, 1, 0, 1]]) }));
  assert.throws(() => pruneHeads(model, { 2: [0] }), /layer 2 is not one of the model's 2 layers/);
  assert.throws(() => pruneHeads(model, { 0: [4] }), /head 4 of layer 0 is not one of its 4 heads/);
});

for (const kind of ['distilbert', 'bert'] as const)
  test(`${kind}: a pruned model saves with HF's pruned_heads and loads back to the same outputs`, () => {
    const pruned = pruneHeads(pruneHeads(classifier(kind, 4), { 0: [1, 3] }), { 1: [0, 1, 2] });
    const dir = join(work, `${kind}-pruned`);
    saveTaskModel(dir, pruned);
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(json.pruned_heads, { '0': [1, 3], '1': [0, 1, 2] });
    const st = readSafetensors(join(dir, 'model.safetensors'));
    const q = kind === 'bert' ? 'bert.encoder.layer.1.attention.self.query.weight' : 'distilbert.transformer.layer.1.attention.q_lin.weight';
    assert.deepEqual(st.info(q).shape, [8, 32], 'the weights as transformers saves them after prune_heads');
    const back = loadForSequenceClassification(dir);
    assert.deepEqual(back.newlyInitialized, []);
    assert.deepEqual(back.params.data, pruned.params.data);
    assertSameOutputs('reloaded', outputs(back, input), outputs(pruned, input));

    // As transformers writes it: heads in set order, maybe repeated; integer-looking string keys.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, pruned_heads: { '1': [2, 0, 1, 0], '0': [3, 1] } }));
    assert.deepEqual(loadForSequenceClassification(dir).config.pruned_heads, { 0: [1, 3], 1: [0, 1, 2] });
    // Weights that do not match the config's pruned_heads are an error that says where to look.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, pruned_heads: { '0': [1, 3] } }));
    assert.throws(() => loadForSequenceClassification(dir), /config\.json does not match the weights.*\[8, 32\] in the file but the model expects \[32, 32\].*pruned_heads/s);
    const bad: Array<[unknown, RegExp]> = [
      [{ '2': [0] }, /pruned_heads names layer 2, but (n_layers|num_hidden_layers) is 2/],
      [{ '0': [4] }, /pruned_heads of layer 0 names head 4, but (n_heads|num_attention_heads) is 4/],
      [{ '0': 1 }, /pruned_heads must map layer indices to lists of head indices/],
      [{ x: [1] }, /pruned_heads must map layer indices/],
    ];
    for (const [pruned_heads, re] of bad) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, pruned_heads }));
      assert.throws(() => loadForSequenceClassification(dir), re);
    }
  });

test('masked LMs: a pruned teacher saves and loads (pretrained.ts), and init-student keeps its pruned layers', () => {
  const teacher = new BertForMaskedLM(bert);
  teacher.params.initialize(7);
  const dir = join(work, 'teacher');
  saveBert(dir, teacher, bert);
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pruned_heads, undefined, 'nothing pruned, no key (as HF)');
  const pruned = pruneHeads(teacher, { 1: [0, 2] });
  saveBert(dir, pruned, pruned.config);
  const back = loadMaskedLM(dir);
  assert.deepEqual(back.params.data, pruned.params.data);
  const out = join(work, 'student');
  initStudent(dir, out, [1]);
  const student = loadMaskedLM(out);
  assert.deepEqual(student.config.pruned_heads, { 0: [0, 2] });
  assert.deepEqual(student.params.view('distilbert.transformer.layer.0.attention.q_lin.weight'),
    pruned.params.view('bert.encoder.layer.1.attention.self.query.weight'));
});

test('head importance: (L, H) scores in [0, 1] with max 1, NaN where heads were pruned; |d loss / d gate| unnormalised', () => {
  const model = classifier('distilbert', 6);
  const r = seededRng(8);
  const seqs = Array.from({ length: 10 }, (_, i) => ({ ids: Int32Array.from({ length: 3 + (i % 5) }, () => 1 + Math.floor(r() * 99)) }));
  const ys = Int32Array.from(seqs, (_, i) => i % 3);
  let calls = 0;
  const scores = headImportance(model, seqs, ys, 0, { batchSize: 4, onBatch: () => calls++ });
  assert.equal(calls, 3);
  assert.deepEqual([scores.length, scores[0]!.length], [L, H]);
  const flat = scores.flat();
  assert.ok(flat.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), JSON.stringify(scores));
  assert.equal(Math.max(...flat), 1);
  assert.equal(Math.min(...flat), 0);

  const pruned = headImportance(pruneHeads(model, { 0: [2] }), seqs, ys, 0, { batchSize: 4 });
  assert.ok(Number.isNaN(pruned[0]![2]!) && pruned.flat().filter(Number.isNaN).length === 1);

  // One batch, no normalisation: score * tokens = |d loss / d gate| at gates 1, checked by central differences.
  const raw = headImportance(model, seqs, ys, 0, { batchSize: 10, normalizeByLayer: false, normalizeGlobal: false });
  const tokens = seqs.reduce((n, s) => n + s.ids.length, 0);
  const x = padSequences(seqs, 0);
  const loss = (l: number, h: number, g: number): number => noGrad(() => {
    const masks = [ones, ones].map((row, i) => row.map((v, j) => (i === l && j === h ? g : v)));
    return model.loss(model.forward({ ...x, headMask: gates(masks) }).logits, ys).item();
  });
  for (const [l, h] of [[0, 1], [1, 3]] as const) {
    const fd = Math.abs((loss(l, h, 1.01) - loss(l, h, 0.99)) / 0.02);
    assert.ok(Math.abs(raw[l]![h]! * tokens - fd) <= 2e-2 * fd + 1e-5, `layer ${l} head ${h}: ${raw[l]![h]! * tokens} vs ${fd}`);
  }
});

test('leastImportantHeads: lowest first, pruned heads skipped, at least one head kept', () => {
  const s = [[0.5, NaN, 0.1, 1], [0.1, 0.9, 0, NaN]];
  assert.deepEqual(leastImportantHeads(s, 3), { 0: [2], 1: [0, 2] });
  assert.deepEqual(Object.values(leastImportantHeads(s, 5)).flat().length, 5);
  assert.throws(() => leastImportantHeads(s, 6), /the model has 6 heads and at least one must remain; give a number from 1 to 5/);
  assert.throws(() => leastImportantHeads(s, 0), /cannot prune 0 heads/);
});

for (const kind of ['distilbert', 'bert'] as const)
  test(`${kind}: a pruned model exports to ONNX (per-layer head counts) and onnxruntime gives our logits`, async () => {
    const pruned = pruneHeads(classifier(kind, 3), { 0: [1, 3], 1: [0] });
    const dir = join(work, `onnx-${kind}`);
    saveTaskModel(dir, pruned);
    const file = exportOnnx(dir);
    const ort = loadOrt();
    assert.ok(ort, 'onnxruntime-node is a devDependency');
    const session = await ortSession(ort, file, 1);
    try {
      // ortFeeds feeds token type 0 (single sentences), so compare with that.
      const x = { ...input, tokenTypeIds: new Int32Array(B * T) };
      const out = (await session.run(ortFeeds(ort, session, x.inputIds, x.attentionMask!, B, T))) as Record<string, { data: Float32Array }>;
      assertClose('ONNX logits of the pruned model', out.logits!.data, outputs(pruned, x)[0]!, 1e-4, 1e-6);
    } finally {
      await session.release();
    }
  });
