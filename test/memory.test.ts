// Training memory: what the backward keeps and when buffers go back to the arena. The kernels that
// avoid keeping a tensor (attention recomputing its probabilities, LayerNorm's backward from its
// output, cross-entropy's gradient in place of the logits) equal the ones that keep it; the tape
// releases spent gradients; a micro-batch run as several passes gives the gradients of one pass;
// memory stays flat over many steps of changing shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tripleLoss } from '../src/distill/triple_loss.js';
import { bertConfig, distilBertConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { mapBatches, tokenBudgetBatches } from '../src/data/padding.js';
import { arena } from '../src/tensor/arena.js';
import { native } from '../src/tensor/native.js';
import { add, crossEntropy, linear } from '../src/tensor/ops.js';
import { reference as R } from '../src/tensor/reference.js';
import { backward, Tensor } from '../src/tensor/tensor.js';
import { MlmPretrainer } from '../src/train/pretrainer.js';
import { TRAIN_DEFAULTS } from '../src/train/params.js';
import { DEFAULT_MASKING } from '../src/train/masking.js';
import { assertClose } from './helpers.js';
import { randn, seededRng } from './op_helper.js';

test('attention backward: probabilities recomputed from q, k and the mask equal the kept ones', () => {
  const [B, T, H, D] = [3, 9, 2, 4], C = H * D, r = seededRng(31);
  const [q, k, v, dctx] = [0, 1, 2, 3].map(() => randn(r, B * T * C));
  const mask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i / T | 0) * 3 ? 1 : 0)); // rows padded by 0, 3, 6
  for (const p of [0, 0.2]) {
    const probs = new Float32Array(B * H * T * T), ctx = new Float32Array(B * T * C), ctx2 = new Float32Array(B * T * C);
    native.attentionForward(ctx, probs, q!, k!, v!, mask, B, T, H, D, p, 5);
    native.attentionForward(ctx2, null, q!, k!, v!, mask, B, T, H, D, p, 5);
    assert.deepEqual(ctx2, ctx, 'the forward does not depend on keeping the probabilities');
    const kept = [0, 1, 2].map(() => new Float32Array(B * T * C)), recomputed = [0, 1, 2].map(() => new Float32Array(B * T * C));
    native.attentionBackward(kept[0]!, kept[1]!, kept[2]!, dctx!, probs, q!, k!, v!, mask, B, T, H, D, p, 5);
    native.attentionBackward(recomputed[0]!, recomputed[1]!, recomputed[2]!, dctx!, null, q!, k!, v!, mask, B, T, H, D, p, 5);
    recomputed.forEach((g, i) => assert.deepEqual(g, kept[i], `p=${p}: gradient ${'qkv'[i]}`));
  }
});

test('layernormBackwardFromOutput: the gradients of layernormBackward, from the output (native and reference)', () => {
  const [N, C] = [13, 24], r = seededRng(32);
  const x = randn(r, N * C).map((v) => 3 * v + 1), dout = randn(r, N * C);
  const w = randn(r, C).map((v) => (v >= 0 ? 0.5 + v : -0.5 + v)), b = randn(r, C);
  const out = new Float32Array(N * C), mean = new Float32Array(N), rstd = new Float32Array(N);
  native.layernormForward(out, mean, rstd, x, w, b, N, C, 1e-12);
  const want = [new Float32Array(N * C), new Float32Array(C), new Float32Array(C)];
  native.layernormBackward(want[0]!, want[1]!, want[2]!, dout, x, mean, rstd, w, N, C);
  const got = [new Float32Array(N * C), new Float32Array(C), new Float32Array(C)];
  native.layernormBackwardFromOutput(got[0]!, got[1]!, got[2]!, dout, out, rstd, w, b, N, C);
  ['dinp', 'dweight', 'dbias'].forEach((name, i) => assertClose(`native ${name}`, got[i]!, want[i]!, 2e-5));
  const ref = [new Float64Array(N * C), new Float64Array(C), new Float64Array(C)];
  R.layernormBackwardFromOutput(ref[0]!, ref[1]!, ref[2]!, dout, out, rstd, w, b, N, C);
  ['dinp', 'dweight', 'dbias'].forEach((name, i) => assertClose(`reference ${name}`, got[i]!, ref[i]!, 2e-5));
});

test('crossEntropyBackward in place: the logits buffer becomes their gradient, ignored rows 0', () => {
  const [N, V] = [6, 50], r = seededRng(33);
  const logits = randn(r, N * V).map((v) => 4 * v), targets = Int32Array.from([3, -100, 49, 0, -100, 7]);
  const want = new Float32Array(N * V);
  native.crossEntropyBackward(want, logits, targets, N, V, -100, 0.25);
  const inPlace = logits.slice();
  native.crossEntropyBackward(inPlace, inPlace, targets, N, V, -100, 0.25);
  assertClose('in place', inPlace, want, 1e-6, 1e-9);
  const ref = Float64Array.from(logits);
  R.crossEntropyBackward(ref, ref, targets, N, V, -100, 0.25);
  assertClose('reference in place', inPlace, ref, 1e-5, 1e-8);
});

test('the tape hands spent gradients back to the arena; leaves keep theirs; a handed-on buffer stays', () => {
  arena.clear();
  const r = seededRng(34);
  const x = new Tensor(randn(r, 64 * 32), [64, 32], true), w = new Tensor(randn(r, 16 * 32), [16, 32], true);
  arena.reuse(() => {
    const h = linear(x, w, null); // (64, 16)
    const s = add(h, h); // h's gradient is accumulated twice: not handed on
    const y = add(s, linear(x, w, null)); // s's gradient is handed on to s (first input without one)
    const loss = crossEntropy(y, new Int32Array(64).fill(3));
    backward(loss);
    assert.equal(h.grad, null, 'an intermediate gradient is released once its producer ran');
    assert.equal(s.grad, null);
    assert.ok(x.grad && w.grad && x.grad.some((v) => v !== 0), 'leaves keep their gradients');
  });
  // The same gradients as without the arena (no buffer was reused while in use).
  const [gx, gw] = [x.grad!.slice(), w.grad!.slice()];
  x.grad = null;
  w.grad = null;
  const h = linear(x, w, null);
  backward(crossEntropy(add(add(h, h), linear(x, w, null)), new Int32Array(64).fill(3)));
  assert.deepEqual(x.grad, gx);
  assert.deepEqual(w.grad, gw);
});

test('arena: release makes a buffer available to the next alloc of the scope; the peak counts live bytes', () => {
  arena.clear();
  arena.reuse(() => {
    const a = arena.alloc(1 << 20), b = arena.alloc(1 << 20);
    arena.release(a);
    arena.release(a); // twice is harmless
    arena.release(new Float32Array(4)); // not the arena's: ignored
    const c = arena.alloc(1 << 20);
    assert.equal(c.buffer, a.buffer, 'the released buffer is reused');
    assert.notEqual(c.buffer, b.buffer);
  });
  assert.equal(arena.lastPeak, 2 * 4 * (1 << 20), 'two buffers were alive at once');
  arena.clear();
});

/** Gradients of the first `n` parameters after one micro-batch split into passes of `passTokens`. */
function pretrainGrads(passTokens: number): Float32Array {
  const cfg = bertConfig({ vocab_size: 120, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64,
    max_position_embeddings: 32, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
  const bert = new BertForMaskedLM(cfg);
  bert.params.initialize(3);
  const seqs = Array.from({ length: 10 }, (_, i) => Int32Array.from({ length: 12 + i }, (_, j) => (j === 0 ? 2 : 5 + ((i * 7 + j * 3) % 110))));
  const data = {
    size: seqs.length, lengths: Int32Array.from(seqs, (s) => s.length), get: (i: number) => seqs[i]!,
    tokenCounts: new Float64Array(120).fill(1), identity: {},
  };
  const t = new MlmPretrainer(bert, cfg, data, { ...TRAIN_DEFAULTS, batch_size: 10, gradient_accumulation_steps: 1 },
    { ...DEFAULT_MASKING, mlm_smoothing: 0 }, { pad: 0, unk: 1, cls: 2, sep: 3, mask: 4 }, '/nonexistent');
  t.maxPassTokens = passTokens;
  const batch = t.prepareBatchMlm(Int32Array.from({ length: 10 }, (_, i) => i), 0);
  const terms = t.step(batch);
  assert.ok(Number.isFinite(terms.loss));
  return bert.params.grad!.slice();
}

test('a micro-batch run as several passes has the gradients of one pass (pretraining)', () => {
  const whole = pretrainGrads(1 << 20);
  for (const passTokens of [21 * 3, 21]) assertClose(`passes of ${passTokens} tokens`, pretrainGrads(passTokens), whole, 1e-5, 1e-9);
});

test('a micro-batch run as several passes has the triple loss and gradients of one pass (distillation)', () => {
  const teacher = new BertForMaskedLM(bertConfig({ vocab_size: 90, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, max_position_embeddings: 16 }));
  teacher.params.initialize(4);
  teacher.eval();
  const student = new DistilBertForMaskedLM(distilBertConfig({ vocab_size: 90, dim: 16, n_layers: 1, n_heads: 2, hidden_dim: 32,
    max_position_embeddings: 16, dropout: 0, attention_dropout: 0 }));
  student.params.initialize(5);
  student.enableGrad();
  const B = 6, T = 10, r = seededRng(35);
  const inputIds = Int32Array.from({ length: B * T }, () => 5 + Math.floor(r() * 80));
  const attentionMask = Int32Array.from({ length: B * T }, (_, i) => (i % T < T - (i / T | 0) ? 1 : 0));
  const mlmLabels = Int32Array.from({ length: B * T }, (_, i) => (attentionMask[i] && i % 4 === 1 ? inputIds[i]! : -100));
  const cfg = { alpha_ce: 5, alpha_mlm: 2, alpha_cos: 1, alpha_mse: 0.5, temperature: 2, restrict_ce_to_mask: false };
  const run = (rows: number[]): { loss: number; grad: Float32Array } => {
    student.params.zeroGrad();
    const whole = { tokens: attentionMask.reduce((a, m) => a + m, 0), targets: mlmLabels.filter((l) => l !== -100).length };
    let loss = 0;
    for (let start = 0, i = 0; start < B; start += rows[i++]!) {
      const n = rows[i]!, [s, e] = [start * T, (start + n) * T];
      arena.reuse(() => {
        const out = tripleLoss(student, teacher, { inputIds: inputIds.subarray(s, e), attentionMask: attentionMask.subarray(s, e),
          mlmLabels: mlmLabels.subarray(s, e), batch: n, seqLen: T }, cfg, whole);
        loss += out.loss.item();
        backward(out.loss);
      });
    }
    return { loss, grad: student.params.grad!.slice() };
  };
  const one = run([B]), parts = run([2, 3, 1]);
  assert.ok(Math.abs(parts.loss - one.loss) <= 1e-5 * Math.abs(one.loss), `loss ${parts.loss} vs ${one.loss}`);
  assertClose('gradients', parts.grad, one.grad, 1e-5, 1e-9);
});

test('memory the arena drops is returned while a synchronous loop runs (no event-loop turn needed)', () => {
  arena.clear();
  const before = process.memoryUsage().rss;
  // 24 scopes of 64 MiB each in sizes never seen before: the arena keeps at most its budget (2 working
  // sets, at least 256 MiB) and drops the rest, which must not stay resident until the loop ends.
  for (let k = 0; k < 24; k++)
    arena.reuse(() => {
      for (let j = 0; j < 4; j++) arena.zeros(4 * 2 ** 20 + (k * 4 + j) * 4096).fill(1);
    });
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  assert.ok(grown < 700, `RSS grew by ${grown.toFixed(0)} MB for 1.5 GB allocated and dropped in 64 MiB scopes`);
  assert.ok(arena.cachedBytes() <= 256 * 2 ** 20 + 64 * 2 ** 20);
  arena.clear();
});

test('inference batches hold at most a token budget of padded tokens, and their activations are released as they are spent', () => {
  const lengths = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 512 : 8 + (i % 50)));
  const batches = tokenBudgetBatches(lengths, 32, 16_384);
  assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i), 'every sequence once');
  for (const b of batches) {
    assert.ok(b.length <= 32);
    assert.ok(b.length * Math.max(...b.map((i) => lengths[i]!)) <= 16_384 || b.length === 1);
  }
  assert.deepEqual(tokenBudgetBatches([5, 40_000, 7], 8, 1024), [[0, 2], [1]], 'an over-long sequence goes alone');
  // Full-length inputs at batch 32 through a 3 x 256 encoder: the working set stays at one budget's
  // worth of activations (300 such inputs took 2.2 GB RSS when batches counted rows only).
  const m = new BertForMaskedLM(bertConfig({ vocab_size: 1000, hidden_size: 256, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 1024 }));
  m.params.initialize(7);
  m.eval();
  const r = seededRng(37);
  const seqs = Array.from({ length: 96 }, () => ({ ids: Int32Array.from({ length: 512 }, () => 5 + Math.floor(r() * 990)) }));
  let peak = 0;
  const firsts = mapBatches(seqs, 32, 0, (x) => {
    const h = m.encode({ inputIds: x.inputIds, attentionMask: x.attentionMask, batch: x.batch, seqLen: x.seqLen }).at(-1)!;
    peak = Math.max(peak, arena.lastPeak);
    return Array.from({ length: x.batch }, (_, b) => h.data[b * x.seqLen * 256]!);
  });
  peak = Math.max(peak, arena.lastPeak);
  assert.ok(peak < 100 * 2 ** 20, `working set ${(peak / 2 ** 20).toFixed(0)} MB for 8,192-token batches`);
  const alone = mapBatches([seqs[5]!], 1, 0, (x) => [m.encode({ ...x, tokenTypeIds: null }).at(-1)!.data[0]!]);
  assert.ok(Math.abs(alone[0]! - firsts[5]!) < 1e-4, 'results come back in input order');
  arena.clear();
});
