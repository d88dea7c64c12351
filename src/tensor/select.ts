// Column selection as a differentiable op: the question-answering heads split the (B*T, 2) output of
// qa_outputs into start and end logits (modeling_distilbert.py `logits.split(1, dim=-1)` + squeeze).
// Plain loops, no native kernel: N * K is B*T*2, small next to the encoder.
// Legend: N rows, K columns.
import { arena } from './arena.js';
import { result, tape, type Tensor } from './tensor.js';

/** y (N) = x[:, j] for x (N, K); backward adds dy into column j of dx. */
export function selectColumn(x: Tensor, j: number): Tensor {
  if (x.shape.length !== 2) throw new Error(`selectColumn: input must be 2-D (N, K), got shape [${x.shape}]`);
  const [N, K] = x.shape as [number, number];
  if (!Number.isInteger(j) || j < 0 || j >= K) throw new Error(`selectColumn: column ${j} is out of range for ${K} columns`);
  const y = result(arena.alloc(N), [N], [x]);
  const xd = x.data, yd = y.data;
  for (let i = 0; i < N; i++) yd[i] = xd[i * K + j]!;
  if (y.requiresGrad)
    tape.record(y, () => {
      const dy = y.grad;
      if (!dy) return;
      const dx = x.gradBuf();
      for (let i = 0; i < N; i++) dx[i * K + j] = dx[i * K + j]! + dy[i]!;
    });
  return y;
}
