// One full triple-loss step (docs/method.md §6) against PyTorch: each loss term and the gradient of every
// student parameter, with and without restrict_ce_to_mask; then 5 AdamW steps with clipping.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tripleLoss, type TripleLossConfig } from '../src/distill/triple_loss.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { loadMaskedLM } from '../src/models/pretrained.js';
import { backward } from '../src/tensor/tensor.js';
import { AdamW } from '../src/train/adamw.js';
import { assertClose, FIXTURES, fixture, int32 } from './helpers.js';

const fwd = fixture('forward.safetensors');
const grads = fixture('triple_loss.safetensors');
const golden = JSON.parse(readFileSync(join(FIXTURES, 'triple_loss.json'), 'utf8'));
const [B, T] = fwd.info('input_ids').shape as [number, number];
const batch = {
  inputIds: int32(fwd, 'input_ids'), attentionMask: int32(fwd, 'attention_mask'), mlmLabels: int32(fwd, 'mlm_labels'),
  batch: B, seqLen: T,
};

function models(): { teacher: BertForMaskedLM; student: DistilBertForMaskedLM } {
  const teacher = loadMaskedLM(join(FIXTURES, 'tiny-bert'));
  const student = loadMaskedLM(join(FIXTURES, 'tiny-distilbert'));
  assert.ok(teacher instanceof BertForMaskedLM && student instanceof DistilBertForMaskedLM);
  student.enableGrad();
  student.train();
  return { teacher, student };
}

const config = (restrict: boolean): TripleLossConfig => ({
  alpha_ce: golden.alpha_ce, alpha_mlm: golden.alpha_mlm, alpha_cos: golden.alpha_cos, alpha_mse: golden.alpha_mse,
  temperature: golden.temperature, restrict_ce_to_mask: restrict,
});

for (const mode of ['default', 'restrict'] as const) {
  test(`triple loss (${mode}): every term and every parameter gradient match PyTorch`, () => {
    const { teacher, student } = models();
    const out = tripleLoss(student, teacher, batch, config(mode === 'restrict'));
    const want = golden[mode];
    for (const k of ['loss_ce', 'loss_mlm', 'loss_cos', 'loss_mse'] as const)
      assert.ok(Math.abs(out[k]! - want[k]) <= 1e-5 * Math.max(1, Math.abs(want[k])), `${k}: ${out[k]} vs ${want[k]}`);
    assert.ok(Math.abs(out.loss.item() - want.loss) < 1e-4, `loss ${out.loss.item()} vs ${want.loss}`);
    backward(out.loss);
    let worst = { name: '', rel: 0 };
    for (const name of student.params.names()) {
      const want = grads.float32(`grad.${mode}.${name}`);
      const d = assertClose(`grad ${name}`, student.params.gradView(name), want, 1e-4, 1e-7);
      // k_lin.bias gets no gradient by construction (softmax ignores a per-row shift): only atol applies.
      if (!name.endsWith('k_lin.bias') && d.maxRel > worst.rel) worst = { name, rel: d.maxRel };
    }
    console.log(`# ${mode}: worst relative gradient error ${worst.rel.toExponential(2)} (${worst.name})`);
  });
}

test('ablations: a term with weight 0 is skipped, the others keep their PyTorch values', () => {
  const want = golden.default;
  const cases: Array<[Partial<TripleLossConfig>, Array<'loss_ce' | 'loss_cos' | 'loss_mse'>]> = [
    [{ alpha_ce: 0, alpha_mse: 0 }, ['loss_ce', 'loss_mse']], // only MLM targets projected
    [{ alpha_cos: 0 }, ['loss_cos']],
    [{ alpha_ce: 0, alpha_cos: 0, alpha_mse: 0 }, ['loss_ce', 'loss_cos', 'loss_mse']], // MLM alone: no teacher pass
  ];
  for (const [change, skipped] of cases) {
    const { teacher, student } = models();
    const cfg = { ...config(false), ...change };
    const out = tripleLoss(student, teacher, batch, cfg);
    let total = 0;
    for (const [k, a] of [['loss_ce', cfg.alpha_ce], ['loss_mlm', cfg.alpha_mlm], ['loss_cos', cfg.alpha_cos], ['loss_mse', cfg.alpha_mse]] as const) {
      if ((skipped as string[]).includes(k)) {
        assert.equal(out[k], null, `${k} skipped with ${JSON.stringify(change)}`);
        continue;
      }
      assert.ok(Math.abs(out[k]! - want[k]) <= 1e-5 * Math.max(1, Math.abs(want[k])), `${k}: ${out[k]} vs ${want[k]} with ${JSON.stringify(change)}`);
      total += a * want[k];
    }
    assert.ok(Math.abs(out.loss.item() - total) < 1e-4, `loss ${out.loss.item()} vs ${total} with ${JSON.stringify(change)}`);
  }
});

test('5 AdamW steps with clipping reproduce the PyTorch losses, grad norms and final weights', () => {
  const adam = JSON.parse(readFileSync(join(FIXTURES, 'adamw.json'), 'utf8'));
  const { teacher, student } = models();
  const opt = new AdamW(student.params, {
    lr: adam.lr, betas: adam.betas, eps: adam.eps, weight_decay: adam.weight_decay, max_grad_norm: adam.max_grad_norm,
  });
  const cfg = config(false);
  for (let step = 0; step < 5; step++) {
    student.params.zeroGrad();
    const out = tripleLoss(student, teacher, batch, cfg);
    assert.ok(Math.abs(out.loss.item() - adam.losses[step]) < 1e-4 * Math.abs(adam.losses[step]),
      `step ${step + 1}: loss ${out.loss.item()} vs ${adam.losses[step]}`);
    backward(out.loss);
    const norm = opt.update();
    assert.ok(Math.abs(norm - adam.grad_norms[step]) < 1e-4 * adam.grad_norms[step], `step ${step + 1}: grad norm ${norm} vs ${adam.grad_norms[step]}`);
  }
  const final = fixture('adamw_final.safetensors');
  for (const name of student.params.names())
    assertClose(`final ${name}`, student.params.view(name), final.float32(name), 1e-4, 1e-6);
  const after = tripleLoss(student, teacher, batch, cfg).loss.item();
  assert.ok(Math.abs(after - adam.final_loss) < 1e-4 * adam.final_loss, `final loss ${after} vs ${adam.final_loss}`);
});
