// Evaluation metrics of fine-tuning (issue 4), computed as scikit-learn / scipy and the official
// SQuAD v1.1 script compute them, so numbers compare with published GLUE and SQuAD results.
// Classification works on label ids in [0, K) (positions in the sorted label list of src/tasks/readers/labels.ts).

/** Share of positions where `preds` equals `golds`. */
export function accuracy(preds: ArrayLike<number | string>, golds: ArrayLike<number | string>): number {
  checkLengths(preds, golds);
  let hit = 0;
  for (let i = 0; i < golds.length; i++) if (preds[i] === golds[i]) hit++;
  return hit / golds.length;
}

function checkLengths(a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) throw new Error(`${a.length} predictions for ${b.length} gold labels`);
  if (b.length === 0) throw new Error('no examples to evaluate');
}

/** K x K counts, row = gold id, column = predicted id (scikit-learn's confusion_matrix layout). */
export function confusionMatrix(preds: ArrayLike<number>, golds: ArrayLike<number>, numLabels: number): Float64Array {
  checkLengths(preds, golds);
  const c = new Float64Array(numLabels * numLabels);
  for (let i = 0; i < golds.length; i++) {
    const g = golds[i]!, p = preds[i]!;
    if (!(Number.isInteger(g) && g >= 0 && g < numLabels)) throw new Error(`gold label id ${g} at ${i} is not in [0, ${numLabels})`);
    if (!(Number.isInteger(p) && p >= 0 && p < numLabels)) throw new Error(`predicted label id ${p} at ${i} is not in [0, ${numLabels})`);
    c[g * numLabels + p]!++;
  }
  return c;
}

export interface F1Options {
  /** 'binary': F1 of `positive`; 'macro': unweighted mean over the labels that occur in golds or preds (scikit-learn). */
  average: 'binary' | 'macro';
  /** Id of the positive label for 'binary' (default 1). */
  positive?: number;
}

/** F1 = 2 TP / (2 TP + FP + FN) of label k; 0 when the label is never gold nor predicted (scikit-learn's zero_division=0). */
function f1Of(c: Float64Array, K: number, k: number): number {
  let row = 0, col = 0;
  for (let j = 0; j < K; j++) {
    row += c[k * K + j]!;
    col += c[j * K + k]!;
  }
  const tp = c[k * K + k]!;
  const denom = row + col; // = 2 TP + FP + FN
  return denom === 0 ? 0 : (2 * tp) / denom;
}

export function f1Score(preds: ArrayLike<number>, golds: ArrayLike<number>, numLabels: number, o: F1Options): number {
  const c = confusionMatrix(preds, golds, numLabels);
  if (o.average === 'binary') {
    const pos = o.positive ?? 1;
    if (!(pos >= 0 && pos < numLabels)) throw new Error(`positive label id ${pos} is not in [0, ${numLabels})`);
    return f1Of(c, numLabels, pos);
  }
  let sum = 0, present = 0;
  for (let k = 0; k < numLabels; k++) {
    let seen = 0;
    for (let j = 0; j < numLabels; j++) seen += c[k * numLabels + j]! + c[j * numLabels + k]!;
    if (seen === 0) continue;
    sum += f1Of(c, numLabels, k);
    present++;
  }
  return sum / present;
}

/**
 * Matthews correlation, multiclass form (Gorodkin 2004; scikit-learn matthews_corrcoef):
 * (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)) with t, p the gold and predicted counts per label,
 * c the correct count and s the total; 0 when either factor is 0 (one label only).
 */
export function matthewsCorrcoef(preds: ArrayLike<number>, golds: ArrayLike<number>, numLabels: number): number {
  const c = confusionMatrix(preds, golds, numLabels);
  const K = numLabels;
  let correct = 0, tp = 0, pp = 0, tt = 0;
  const s = golds.length;
  for (let k = 0; k < K; k++) {
    let t = 0, p = 0;
    for (let j = 0; j < K; j++) {
      t += c[k * K + j]!;
      p += c[j * K + k]!;
    }
    correct += c[k * K + k]!;
    tp += t * p;
    pp += p * p;
    tt += t * t;
  }
  const den = (s * s - pp) * (s * s - tt);
  return den === 0 ? 0 : (correct * s - tp) / Math.sqrt(den);
}

/** Pearson's r (scipy.stats.pearsonr); NaN when either input is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkLengths(x, y);
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx, dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  // Clamp: rounding can put |r| a hair above 1 for perfectly correlated data.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks, ties sharing the average of their ranks (scipy.stats.rankdata 'average'). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const r = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && x[order[j]!]! === x[order[i]!]!) j++;
    const avg = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) r[order[k]!] = avg;
    i = j;
  }
  return r;
}

/** Spearman's rho (scipy.stats.spearmanr): Pearson's r of the average ranks. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkLengths(x, y);
  return pearson(averageRanks(x), averageRanks(y));
}

export type ClassificationMetrics = {
  accuracy: number;
  /** Binary F1 of labels[1] for two labels, else macro F1. */
  f1: number;
  matthews_correlation: number;
};

/**
 * The GLUE classification metrics for label ids `preds` and `golds` over `labels` (sorted as
 * data.ts sorts them; with two labels the positive one is labels[1]: "1", "positive", "spam").
 */
export function evaluateClassification(preds: ArrayLike<number>, golds: ArrayLike<number>, labels: readonly string[]): ClassificationMetrics {
  const K = labels.length;
  if (K < 2) throw new Error(`classification needs at least 2 labels, got ${K}`);
  return {
    accuracy: accuracy(preds, golds),
    f1: f1Score(preds, golds, K, K === 2 ? { average: 'binary', positive: 1 } : { average: 'macro' }),
    matthews_correlation: matthewsCorrcoef(preds, golds, K),
  };
}

export type RegressionMetrics = {
  pearson: number;
  /** Named as Hugging Face's GLUE metric names it. */
  spearmanr: number;
  /** Mean squared error. */
  mse: number;
};

export function evaluateRegression(preds: ArrayLike<number>, golds: ArrayLike<number>): RegressionMetrics {
  checkLengths(preds, golds);
  let se = 0;
  for (let i = 0; i < golds.length; i++) se += (preds[i]! - golds[i]!) ** 2;
  return { pearson: pearson(preds, golds), spearmanr: spearman(preds, golds), mse: se / golds.length };
}

// --- SQuAD v1.1 (official evaluate-v1.1.py) ---

/** Python's string.punctuation. */
const PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
/** Python's re `\b(a|an|the)\b` on str: word characters are Unicode letters, digits and `_`. */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** Python's str.split() separators: JS \s without U+FEFF, plus U+001C-U+001F and U+0085. */
const PY_SPACE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The official normalisation: lowercase, drop punctuation, drop articles, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let noPunct = '';
  for (const ch of s.toLowerCase()) if (!PUNCT.has(ch)) noPunct += ch;
  return answerTokens(noPunct.replace(ARTICLES, ' ')).join(' ');
}

const answerTokens = (s: string): string[] => s.split(PY_SPACE).filter((t) => t !== '');

/** 1 when the normalised prediction equals a normalised gold answer, else 0. */
export function squadExactMatch(pred: string, golds: readonly string[]): number {
  const p = normalizeAnswer(pred);
  return golds.some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

/** Token-bag F1 of one prediction against one gold answer (0 when they share no token). */
function tokenF1(pred: string, gold: string): number {
  const p = answerTokens(normalizeAnswer(pred)), g = answerTokens(normalizeAnswer(gold));
  const bag = new Map<string, number>();
  for (const t of g) bag.set(t, (bag.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const n = bag.get(t) ?? 0;
    if (n > 0) {
      same++;
      bag.set(t, n - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length, recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Best token F1 over the gold answers. */
export function squadF1(pred: string, golds: readonly string[]): number {
  let best = 0;
  for (const g of golds) best = Math.max(best, tokenF1(pred, g));
  return best;
}

export type SquadMetrics = {
  /** Percent, as the official script prints it. */
  exact_match: number;
  f1: number;
  /** Questions with no prediction (scored 0, as the official script does). */
  missing: number;
};

/** EM and F1 (percent) of `predictions` (question id -> answer text) over `examples`. */
export function evaluateSquad(examples: ReadonlyArray<{ id: string; answers: ReadonlyArray<{ text: string }> }>,
  predictions: ReadonlyMap<string, string> | Readonly<Record<string, string>>): SquadMetrics {
  if (examples.length === 0) throw new Error('no questions to evaluate');
  const get = predictions instanceof Map ? (id: string) => predictions.get(id)
    : (id: string) => (Object.hasOwn(predictions, id) ? (predictions as Record<string, string>)[id] : undefined);
  let em = 0, f1 = 0, missing = 0;
  for (const ex of examples) {
    const pred = get(ex.id);
    if (pred === undefined) {
      missing++;
      continue;
    }
    const golds = ex.answers.map((a) => a.text);
    em += squadExactMatch(pred, golds);
    f1 += squadF1(pred, golds);
  }
  return { exact_match: (100 * em) / examples.length, f1: (100 * f1) / examples.length, missing };
}
