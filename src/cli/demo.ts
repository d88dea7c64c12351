// `distil demo`: until the distillation pipeline lands, a forward pass of a small random BERT and
// DistilBERT (and one training step of the student against the teacher), with shapes, parameter
// counts and timings.
import { tripleLoss, DEFAULT_TRIPLE_LOSS } from '../distill/triple_loss.js';
import { bertConfig, distilBertConfig } from '../io/config.js';
import { BertForMaskedLM } from '../models/bert.js';
import { DistilBertForMaskedLM } from '../models/distilbert.js';
import { arena } from '../tensor/arena.js';
import { native } from '../tensor/native.js';
import { backward, noGrad } from '../tensor/tensor.js';
import { AdamW, DISTILLER_ADAMW } from '../train/adamw.js';

export interface DemoOptions {
  layers: number;
  hidden: number;
  heads: number;
  batch: number;
  seqLen: number;
  steps: number;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

export function runDemo(o: DemoOptions): void {
  const teacherCfg = bertConfig({
    hidden_size: o.hidden, num_hidden_layers: o.layers, num_attention_heads: o.heads, intermediate_size: 4 * o.hidden,
  });
  const studentCfg = distilBertConfig({
    dim: o.hidden, n_layers: Math.max(1, o.layers >> 1), n_heads: o.heads, hidden_dim: 4 * o.hidden,
  });
  console.log(`distilbert-ts demo: random teacher and student, ${native.threads()} threads (DISTIL_THREADS)`);
  const teacher = new BertForMaskedLM(teacherCfg, true);
  teacher.params.initialize(1);
  teacher.eval();
  const student = new DistilBertForMaskedLM(studentCfg);
  student.params.initialize(2);
  const { batch: B, seqLen: T } = o;
  let s = 7;
  const inputIds = Int32Array.from({ length: B * T }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), 1000 + (s % 29000)));
  const attentionMask = new Int32Array(B * T).fill(1);
  const input = { inputIds, attentionMask, batch: B, seqLen: T };

  for (const [name, model, layers] of [
    ['BertForMaskedLM (teacher)', teacher, teacherCfg.num_hidden_layers],
    ['DistilBertForMaskedLM (student)', student, studentCfg.n_layers],
  ] as const) {
    arena.reuse(() => noGrad(() => model.forward(input))); // warm-up: oneDNN primitives, arena buffers
    arena.reuse(() => {
      const [out, ms] = timed(() => noGrad(() => model.forward(input)));
      console.log(`\n${name}: ${layers} layers, ${fmt(model.numParameters())} parameters`);
      console.log(`  input_ids       [${B}, ${T}]`);
      console.log(`  hidden_states   ${out.hiddenStates.length} x [${out.hiddenStates[0]!.shape.join(', ')}]`);
      console.log(`  logits          [${out.logits.shape.join(', ')}]`);
      if (out.pooled) console.log(`  pooler_output   [${out.pooled.shape.join(', ')}]`);
      console.log(`  forward         ${ms.toFixed(1)} ms (${fmt(Math.round((B * T) / (ms / 1000)))} tokens/s)`);
    });
  }

  // A few distillation steps on one batch: the triple loss should fall.
  const mlmLabels = new Int32Array(B * T).fill(-100);
  const masked = inputIds.slice();
  for (let i = 1; i < B * T; i += 7) {
    mlmLabels[i] = inputIds[i]!;
    masked[i] = 103;
  }
  const batch = { inputIds: masked, attentionMask, mlmLabels, batch: B, seqLen: T };
  student.enableGrad();
  student.train();
  const opt = new AdamW(student.params, { ...DISTILLER_ADAMW, lr: 1e-3 });
  console.log(`\ndistillation steps (triple loss, SPEC §6) on one batch of [${B}, ${T}]:`);
  for (let step = 1; step <= o.steps; step++) {
    const [line, ms] = timed(() => arena.reuse(() => {
      student.params.zeroGrad();
      const out = tripleLoss(student, teacher, batch, DEFAULT_TRIPLE_LOSS);
      backward(out.loss);
      const norm = opt.update();
      return `loss ${out.loss.item().toFixed(4)} (ce ${out.loss_ce.toFixed(4)} mlm ${out.loss_mlm.toFixed(4)} cos ${out.loss_cos.toFixed(4)}) grad_norm ${norm.toFixed(3)}`;
    }));
    console.log(`  step ${step}: ${line}  ${ms.toFixed(0)} ms`);
  }
}
