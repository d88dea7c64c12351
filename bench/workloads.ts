// The benchmark workloads, shared by `npm run bench` and the demo: base-size models with random
// weights, batch inputs, and one distillation step (teacher forward without grad + student
// forward/backward + AdamW, triple loss, MLM projection on the masked positions only).
import { tripleLoss, type MlmBatch } from '../src/distill/triple_loss.js';
import { bertConfig, distilBertConfig } from '../src/io/config.js';
import { BertForMaskedLM } from '../src/models/bert.js';
import { DistilBertForMaskedLM } from '../src/models/distilbert.js';
import { arena } from '../src/tensor/arena.js';
import { noGrad, backward } from '../src/tensor/tensor.js';
import { AdamW, DISTILLER_ADAMW } from '../src/train/adamw.js';

export function baseTeacher(): BertForMaskedLM {
  const m = new BertForMaskedLM(bertConfig(), true);
  m.params.initialize(1);
  return m.eval();
}

export function baseStudent(): DistilBertForMaskedLM {
  const m = new DistilBertForMaskedLM(distilBertConfig());
  m.params.initialize(2);
  return m;
}

/** Deterministic token ids in [1000, 30000), no padding (as torch_bench.py's inputs). */
export function randomIds(B: number, T: number, seed = 1): Int32Array {
  let s = seed >>> 0;
  return Int32Array.from({ length: B * T }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return 1000 + (s % 29000);
  });
}

/** 15% of positions as MLM targets, replaced by [MASK] (103), like torch_bench.py's training step. */
export function mlmBatch(B: number, T: number): MlmBatch {
  const ids = randomIds(B, T);
  const inputIds = ids.slice();
  const mlmLabels = new Int32Array(B * T).fill(-100);
  let s = 2;
  for (let i = 0; i < B * T; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (s / 4294967296 < 0.15) {
      mlmLabels[i] = ids[i]!;
      inputIds[i] = 103;
    }
  }
  return { inputIds, attentionMask: new Int32Array(B * T).fill(1), mlmLabels, batch: B, seqLen: T };
}

export function forwardOnce(model: BertForMaskedLM | DistilBertForMaskedLM, B: number, T: number, ids: Int32Array): void {
  arena.reuse(() => noGrad(() => model.encode({ inputIds: ids, attentionMask: new Int32Array(B * T).fill(1), batch: B, seqLen: T })));
}

export interface DistillStep {
  step(): number;
}

/** A distillation step closure at the reference settings (restrict_ce_to_mask: masked projection). */
export function distillStep(teacher: BertForMaskedLM, student: DistilBertForMaskedLM, batch: MlmBatch): DistillStep {
  student.enableGrad();
  student.train();
  const opt = new AdamW(student.params, DISTILLER_ADAMW);
  const cfg = { alpha_ce: 5, alpha_mlm: 2, alpha_cos: 1, alpha_mse: 0, temperature: 2, restrict_ce_to_mask: true };
  return {
    step() {
      return arena.reuse(() => {
        student.params.zeroGrad();
        const out = tripleLoss(student, teacher, batch, cfg);
        backward(out.loss);
        opt.update();
        return out.loss.item();
      });
    },
  };
}
