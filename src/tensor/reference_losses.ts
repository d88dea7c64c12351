// Plain float64 reference of the loss kernels (native/losses.cc): cross-entropy, temperature KL,
// cosine embedding and MSE, forward and backward. Conventions as in reference.ts: outputs first,
// backward accumulates g * dLoss/dInput (+=) where g is the upstream gradient of the scalar loss.
// Legend: N rows, V vocabulary / classes, C hidden size, n elements.
import type { Vec } from './reference.js';

function need(buf: ArrayLike<number>, len: number, what: string): void {
  if (buf.length !== len) throw new Error(`reference: '${what}' has ${buf.length} elements, expected ${len}`);
}

/** log(sum_j exp(x_j / T)) over row i of x (N, V). */
function rowLse(x: Vec, i: number, V: number, T: number): number {
  let mx = -Infinity;
  for (let j = 0; j < V; j++) mx = Math.max(mx, x[i * V + j]! / T);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[i * V + j]! / T - mx);
  return mx + Math.log(s);
}

function checkTargets(targets: Int32Array, V: number, ignoreIndex: number): void {
  for (const t of targets)
    if (t !== ignoreIndex && (t < 0 || t >= V)) throw new Error(`reference: target ${t} is outside [0, ${V})`);
}

/** Mean over non-ignored rows of -log softmax(logits)[target]; 0 when every row is ignored. */
export function crossEntropyForward(logits: Vec, targets: Int32Array, N: number, V: number, ignoreIndex: number): number {
  need(logits, N * V, 'logits'); need(targets, N, 'targets');
  checkTargets(targets, V, ignoreIndex);
  let sum = 0, count = 0;
  for (let i = 0; i < N; i++) {
    if (targets[i] === ignoreIndex) continue;
    sum += rowLse(logits, i, V, 1) - logits[i * V + targets[i]!]!;
    count++;
  }
  return count ? sum / count : 0;
}

/** dlogits += scale * (softmax(logits) - onehot(target)) on non-ignored rows (scale = g / count). */
export function crossEntropyBackward(dlogits: Vec, logits: Vec, targets: Int32Array, N: number, V: number,
  ignoreIndex: number, scale: number): void {
  need(dlogits, N * V, 'dlogits'); need(logits, N * V, 'logits'); need(targets, N, 'targets');
  checkTargets(targets, V, ignoreIndex);
  // dlogits === logits: the logits are replaced by their gradient (native/losses.cc).
  const inPlace = dlogits === logits;
  if (inPlace) {
    logits = Float64Array.from(logits);
    dlogits.fill(0);
  }
  for (let i = 0; i < N; i++) {
    if (targets[i] === ignoreIndex) continue;
    const lse = rowLse(logits, i, V, 1);
    for (let j = 0; j < V; j++) {
      const onehot = j === targets[i] ? 1 : 0;
      dlogits[i * V + j] = dlogits[i * V + j]! + scale * (Math.exp(logits[i * V + j]! - lse) - onehot);
    }
  }
}

/** T^2 / N * sum_i KL(softmax(t_i / T) || softmax(s_i / T)) (distiller.py, "batchmean"). */
export function klDivForward(s: Vec, t: Vec, N: number, V: number, temperature: number): number {
  need(s, N * V, 's'); need(t, N * V, 't');
  const T = temperature;
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const ls = rowLse(s, i, V, T), lt = rowLse(t, i, V, T);
    for (let j = 0; j < V; j++) {
      const logPt = t[i * V + j]! / T - lt, logPs = s[i * V + j]! / T - ls;
      sum += Math.exp(logPt) * (logPt - logPs);
    }
  }
  return N ? (sum / N) * T * T : 0;
}

/** ds += g * T / N * (softmax(s / T) - softmax(t / T)); t gets no gradient (teacher). */
export function klDivBackward(ds: Vec, s: Vec, t: Vec, N: number, V: number, temperature: number, g: number): void {
  need(ds, N * V, 'ds'); need(s, N * V, 's'); need(t, N * V, 't');
  const T = temperature;
  for (let i = 0; i < N; i++) {
    const ls = rowLse(s, i, V, T), lt = rowLse(t, i, V, T);
    for (let j = 0; j < V; j++) {
      const d = Math.exp(s[i * V + j]! / T - ls) - Math.exp(t[i * V + j]! / T - lt);
      ds[i * V + j] = ds[i * V + j]! + ((g * T) / N) * d;
    }
  }
}

/** PyTorch's cosine_embedding_loss adds this to each squared norm. */
const COS_EPS = 1e-12;

/** Per row: x.y, |x|^2 + eps, |y|^2 + eps. */
function cosParts(x: Vec, y: Vec, i: number, C: number): [number, number, number] {
  let xy = 0, xx = COS_EPS, yy = COS_EPS;
  for (let j = 0; j < C; j++) {
    const a = x[i * C + j]!, b = y[i * C + j]!;
    xy += a * b;
    xx += a * a;
    yy += b * b;
  }
  return [xy, xx, yy];
}

/** Mean over rows of 1 - cos(x_i, y_i) (CosineEmbeddingLoss, target +1). */
export function cosineEmbeddingForward(x: Vec, y: Vec, N: number, C: number): number {
  need(x, N * C, 'x'); need(y, N * C, 'y');
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const [xy, xx, yy] = cosParts(x, y, i, C);
    sum += 1 - xy / Math.sqrt(xx * yy);
  }
  return N ? sum / N : 0;
}

/** dx, dy (null to skip) += g / N * d(1 - cos)/d(x, y): dcos/dx = y / (|x||y|) - cos x / |x|^2. */
export function cosineEmbeddingBackward(dx: Vec | null, dy: Vec | null, x: Vec, y: Vec, N: number, C: number,
  g: number): void {
  need(x, N * C, 'x'); need(y, N * C, 'y');
  for (let i = 0; i < N; i++) {
    const [xy, xx, yy] = cosParts(x, y, i, C);
    const nxy = Math.sqrt(xx * yy), cos = xy / nxy, c = -g / N;
    for (let j = 0; j < C; j++) {
      const a = x[i * C + j]!, b = y[i * C + j]!;
      if (dx) dx[i * C + j] = dx[i * C + j]! + c * (b / nxy - (cos * a) / xx);
      if (dy) dy[i * C + j] = dy[i * C + j]! + c * (a / nxy - (cos * b) / yy);
    }
  }
}

/** sum (x - y)^2 (MSELoss reduction "sum"). */
export function mseForward(x: Vec, y: Vec, n: number): number {
  need(x, n, 'x'); need(y, n, 'y');
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i]! - y[i]!) ** 2;
  return s;
}

/** dx += 2 g (x - y); dy -= 2 g (x - y) (each nullable). */
export function mseBackward(dx: Vec | null, dy: Vec | null, x: Vec, y: Vec, n: number, g: number): void {
  need(x, n, 'x'); need(y, n, 'y');
  for (let i = 0; i < n; i++) {
    const d = 2 * g * (x[i]! - y[i]!);
    if (dx) dx[i] = dx[i]! + d;
    if (dy) dy[i] = dy[i]! - d;
  }
}
