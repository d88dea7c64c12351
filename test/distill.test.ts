// The distillation loop: masking statistics (docs/method.md §5), a Distiller.step against the PyTorch
// fixtures, init-student's tensor map (docs/method.md §3), the schedule, and exact resume.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { epochBatches, lengthGroups } from '../src/data/batches.js';
import { DISTILL_DEFAULTS, Distiller } from '../src/distill/distiller.js';
import { defaultStudentLayers, initStudent } from '../src/distill/init_student.js';
import { DEFAULT_MASKING, prepareBatchMlm, tokenWeights } from '../src/train/masking.js';
import { readModelConfig, type DistilBertConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { listCheckpoints } from '../src/train/checkpoint.js';
import { Rng } from '../src/data/rng.js';
import { withPrecision, type Precision } from '../src/tensor/precision.js';
import { learningRate } from '../src/train/schedule.js';
import type { TrainingData } from '../src/train/trainer.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';

const special = { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 };
const tmp = (): string => mkdtempSync(join(tmpdir(), 'distil-test-'));

test('masking: 15% targets, 80/10/10, never special tokens or padding, rarer tokens more often', () => {
  const V = 100, B = 64, T = 40;
  const counts = new Float64Array(V);
  for (let i = 5; i < V; i++) counts[i] = i < 10 ? 10_000 : 10; // ids 5..9 frequent, the rest rare
  const w = tokenWeights(counts, 0.7, special);
  const rng = new Rng(1);
  const ids = new Int32Array(B * T);
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    lengths[b] = 20 + (b % 21);
    ids[b * T] = special.cls;
    for (let t = 1; t < lengths[b]! - 1; t++) ids[b * T + t] = 5 + rng.int(V - 5);
    ids[b * T + lengths[b]! - 1] = special.sep;
  }
  let targets = 0, masked = 0, kept = 0, random = 0, frequent = 0, frequentSeen = 0, tokens = 0;
  for (let rep = 0; rep < 20; rep++) {
    const m = prepareBatchMlm(ids, lengths, T, w, special, DEFAULT_MASKING, rng);
    for (let i = 0; i < B * T; i++) {
      if (m.attentionMask[i]) tokens++;
      if (ids[i]! >= 5 && ids[i]! < 10) frequentSeen++;
      if (m.mlmLabels[i] === -100) {
        assert.equal(m.inputIds[i], ids[i]);
        continue;
      }
      targets++;
      assert.ok(ids[i]! >= 5, `special token ${ids[i]} at ${i} became a target`);
      assert.equal(m.mlmLabels[i], ids[i]);
      if (ids[i]! < 10) frequent++;
      if (m.inputIds[i] === special.mask) masked++;
      else if (m.inputIds[i] === ids[i]) kept++;
      else random++;
    }
  }
  assert.equal(targets, 20 * Math.ceil(0.15 * lengths.reduce((a, b) => a + b, 0)));
  assert.ok(Math.abs(masked / targets - 0.8) < 0.03, `mask share ${masked / targets}`);
  assert.ok(Math.abs((kept + random) / targets - 0.2) < 0.03);
  assert.ok(random / targets > 0.07 && random / targets < 0.13, `random share ${random / targets}`);
  // p ~ count^-0.7: a frequent id is 1000^-0.7 ~ 1/126 as likely as a rare one, per occurrence.
  assert.ok(frequent / targets < 0.5 * (frequentSeen / tokens), `frequent ids over-sampled: ${frequent / targets}`);
});

test('length groups follow bins of 4 and every sequence appears once per epoch', () => {
  const lengths = Int32Array.from({ length: 103 }, (_, i) => 12 + (i * 7) % 50);
  const groups = lengthGroups(lengths, 512);
  assert.equal(groups[0], lengthGroups(Int32Array.of(12), 512)[0]);
  assert.deepEqual([...lengthGroups(Int32Array.of(2, 3, 6, 7, 10, 11), 512)], [0, 1, 1, 2, 2, 3]);
  const batches = epochBatches(groups, 8, 1);
  const seen = batches.flatMap((b) => [...b]).sort((a, b) => a - b);
  assert.deepEqual(seen, Array.from({ length: 103 }, (_, i) => i));
  assert.deepEqual(epochBatches(groups, 8, 1), batches);
  assert.notDeepEqual(epochBatches(groups, 8, 2), batches);
});

test('schedule: linear warmup from 0 then linear decay to 0', () => {
  const s = { lr: 1e-3, warmup: 4, total: 20 };
  assert.equal(learningRate(s, 0), 0);
  assert.equal(learningRate(s, 2), 5e-4);
  assert.equal(learningRate(s, 4), 1e-3);
  assert.ok(Math.abs(learningRate(s, 12) - 5e-4) < 1e-12);
  assert.equal(learningRate(s, 20), 0);
});

test('init-student copies the listed teacher layers, embeddings and MLM head exactly', () => {
  assert.deepEqual(defaultStudentLayers(12), [0, 2, 4, 7, 9, 11]);
  assert.deepEqual(defaultStudentLayers(4), [0, 3]);
  assert.deepEqual(defaultStudentLayers(24), [0, 2, 4, 6, 8, 10, 13, 15, 17, 19, 21, 23]);
  const out = tmp();
  const report = initStudent(join(FIXTURES, 'tiny-bert'), out, [0, 2]);
  const teacher = loadMaskedLM(join(FIXTURES, 'tiny-bert'));
  const student = loadMaskedLM(out);
  assert.ok(student instanceof DistilBertForMaskedLM);
  assert.equal(report.copied.length, student.params.entries.length);
  for (const [s, t] of report.copied) assert.deepEqual(student.params.view(s), teacher.params.view(t), `${s} <- ${t}`);
  assert.deepEqual(student.params.view('distilbert.transformer.layer.1.attention.q_lin.weight'),
    teacher.params.view('bert.encoder.layer.2.attention.self.query.weight'));
  assert.deepEqual(student.params.view('vocab_projector.bias'), teacher.params.view('cls.predictions.bias'));
  assert.throws(() => initStudent(join(FIXTURES, 'tiny-bert'), tmp(), [0, 4]), /not a layer of the 4-layer teacher/);
});

test('init-student --random: the same shape as the copied student, fresh weights from the seed', () => {
  const teacher = loadMaskedLM(join(FIXTURES, 'tiny-bert'));
  const a = tmp(), b = tmp(), c = tmp();
  const report = initStudent(join(FIXTURES, 'tiny-bert'), a, undefined, 7);
  initStudent(join(FIXTURES, 'tiny-bert'), b, undefined, 7);
  initStudent(join(FIXTURES, 'tiny-bert'), c, undefined, 8);
  const [ra, rb, rc] = [a, b, c].map((d) => loadMaskedLM(d));
  assert.ok(ra instanceof DistilBertForMaskedLM && teacher instanceof BertForMaskedLM);
  assert.equal(report.copied.length, 0);
  assert.equal(ra.config.n_layers, 2);
  assert.deepEqual(ra.params.names(), rb!.params.names());
  assert.deepEqual(ra.params.data, rb!.params.data, 'same seed, same weights');
  assert.notDeepEqual(ra.params.data, rc!.params.data, 'another seed, other weights');
  const q = ra.params.view('distilbert.transformer.layer.0.attention.q_lin.weight');
  const std = Math.sqrt(q.reduce((s, v) => s + v * v, 0) / q.length);
  assert.ok(Math.abs(std - ra.config.initializer_range) < 0.1 * ra.config.initializer_range, `init std ${std}`);
  assert.notDeepEqual(q, teacher.params.view('bert.encoder.layer.0.attention.self.query.weight'));
  assert.ok(ra.params.view('distilbert.transformer.layer.0.sa_layer_norm.weight').every((v) => v === 1));
});

/** In-memory training data of random sequences (lengths 12..30) over the tiny vocabulary. */
function randomData(n: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const seqs = Array.from({ length: n }, () => {
    const len = 12 + rng.int(19);
    const s = Int32Array.from({ length: len }, () => 5 + rng.int(94));
    s[0] = special.cls;
    s[len - 1] = special.sep;
    return s;
  });
  const counts = new Float64Array(99);
  for (const s of seqs) for (const id of s) counts[id]!++;
  return { size: n, lengths: Int32Array.from(seqs, (s) => s.length), get: (i) => seqs[i]!, tokenCounts: counts, identity: { test: seed } };
}

function tinyDistiller(out: string, params: Partial<typeof DISTILL_DEFAULTS>): Distiller {
  const teacher = loadMaskedLM(join(FIXTURES, 'tiny-bert'));
  const student = loadMaskedLM(join(FIXTURES, 'tiny-distilbert'));
  assert.ok(teacher instanceof BertForMaskedLM && student instanceof DistilBertForMaskedLM);
  const cfg = readModelConfig(join(FIXTURES, 'tiny-distilbert')).config as DistilBertConfig;
  return new Distiller(teacher, student, cfg, randomData(40, 3), { ...DISTILL_DEFAULTS, ...params }, special, out);
}

test('Distiller.step on the padded fixture batch gives the PyTorch loss terms and gradients', () => {
  const golden = JSON.parse(readFileSync(join(FIXTURES, 'triple_loss.json'), 'utf8'));
  const fwd = fixture('forward.safetensors');
  const grads = fixture('triple_loss.safetensors');
  const [B, T] = fwd.info('input_ids').shape as [number, number];
  const d = tinyDistiller(tmp(), { gradient_accumulation_steps: 1, alpha_mse: golden.alpha_mse, batch_size: 4 });
  const terms = d.step({
    inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), mlmLabels: int32(fwd, 'mlm_labels'),
    batch: B, seqLen: T,
  });
  for (const k of ['loss', 'loss_ce', 'loss_mlm', 'loss_cos', 'loss_mse'])
    assert.ok(Math.abs(terms[k]! - golden.default[k]) < 1e-5 * Math.max(1, golden.default[k]), `${k} ${terms[k]} vs ${golden.default[k]}`);
  for (const name of d.student.params.names())
    assertClose(name, d.student.params.gradView(name), grads.float32(`grad.default.${name}`), 1e-4, 1e-7);
});

test('bf16 mixed precision: 12 distillation steps track the fp32 loss curves within 2% per term', (t) => {
  const params = { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 12 };
  const curves = (p: Precision): Array<Record<string, number>> => withPrecision(p, () => {
    const logs: Array<Record<string, number>> = [];
    tinyDistiller(tmp(), params).train((log) => logs.push({ ...log }));
    return logs;
  });
  const fp32 = curves('fp32'), bf16 = curves('bf16');
  assert.equal(bf16.length, 12);
  let worst = 0;
  for (const [i, f] of fp32.entries())
    for (const k of ['loss', 'loss_ce', 'loss_mlm', 'loss_cos']) {
      const rel = Math.abs(bf16[i]![k]! - f[k]!) / Math.abs(f[k]!);
      worst = Math.max(worst, rel);
      assert.ok(rel < 0.02, `step ${i + 1} ${k}: bf16 ${bf16[i]![k]} vs fp32 ${f[k]} (${(100 * rel).toFixed(2)}%)`);
    }
  assert.ok(worst > 0, 'bf16 changed nothing: the bf16 path did not run');
  t.diagnostic(`bf16 vs fp32 loss terms over 12 steps: max relative difference ${(100 * worst).toFixed(3)}%`);
});

test('resume is exact: 6 straight steps equal 3 steps + crash + resume + 3 steps; checkpoints rotate', () => {
  const params = { batch_size: 4, gradient_accumulation_steps: 2, max_steps: 6, checkpoint_interval: 3, keep_checkpoints: 2 };
  const withDropout = (d: Distiller): Distiller => {
    d.student.layerDims.hiddenDropout = 0.1;
    d.student.layerDims.attentionDropout = 0.1;
    return d;
  };
  const straight = withDropout(tinyDistiller(tmp(), params));
  const losses: number[] = [];
  straight.train((log) => losses.push(log.loss!));
  assert.equal(losses.length, 6);

  const out = tmp();
  const crashed = withDropout(tinyDistiller(out, params));
  assert.throws(() => crashed.train((log) => {
    if (log.step === 3) throw new Error('simulated crash');
  }), /simulated crash/);
  assert.deepEqual(listCheckpoints(out).map((c) => c.slice(-13)), ['step-00000003']);

  const resumed = withDropout(tinyDistiller(out, params));
  resumed.resume(true);
  const after: number[] = [];
  resumed.train((log) => after.push(log.loss!));
  assert.deepEqual(after, losses.slice(3));
  assert.deepEqual(resumed.student.params.data, straight.student.params.data);
  assert.deepEqual(resumed.opt.expAvgSq, straight.opt.expAvgSq);
  // 10 batches an epoch = 5 steps: checkpoints at 3, 5 (epoch end) and 6, the newest 2 kept.
  assert.deepEqual(listCheckpoints(out).map((c) => c.slice(-13)), ['step-00000005', 'step-00000006']);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  for (const k of ['loss_ce', 'loss_mlm', 'loss_cos', 'lr', 'grad_norm', 'tokens_per_s', 'rss_mb'])
    assert.ok(Number.isFinite(metrics[0][k]), k);
});

test('resume refuses changed options and a NaN loss stops with the step, the term and the checkpoint', () => {
  const out = tmp();
  const d = tinyDistiller(out, { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 2, checkpoint_interval: 1 });
  d.train();
  const changed = tinyDistiller(out, { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 2, checkpoint_interval: 1, temperature: 3 });
  assert.throws(() => changed.resume(true), /option temperature was 2/);

  const bad = tinyDistiller(tmp(), { batch_size: 4, gradient_accumulation_steps: 1, max_steps: 3, checkpoint_interval: 1 });
  let n = 0;
  assert.throws(() => bad.train(() => {
    if (++n === 2) bad.student.params.view('vocab_transform.weight').fill(NaN);
  }), (e: Error) => /loss(_\w+)? is NaN at optimizer step 3/.test(e.message) && e.message.includes('step-00000002'));
});
