// Labels of classification data: the sorted label list, its Hugging Face id maps, and label ids.

/** An example of a labelled file: its text(s) and its label. */
export interface Example {
  text: string;
  /** Second text of a pair task (MRPC, QNLI, ...); absent for single-sentence tasks. */
  textPair?: string;
  /** The label as written (classification) or its value (regression). */
  label: string | number;
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether `s` is a decimal number as Python's float() reads one (no hex, no inf/nan, no empty). */
export const isFloat = (s: string): boolean => FLOAT.test(s.trim());

/** Sort labels numerically when all are numbers, else by UTF-16 code units (locale-free, stable across machines). */
export function sortLabels(labels: Iterable<string>): string[] {
  const all = [...new Set(labels)];
  return all.every(isFloat) ? all.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0)) : all.sort();
}

export interface LabelIndex {
  /** Hugging Face config.json form: {"0": "negative", "1": "positive"}. */
  id2label: Record<string, string>;
  label2id: Record<string, number>;
  /** Id of `label`; throws naming the known labels when it is not one of them. */
  id(label: string | number): number;
}

/** Id maps of a sorted label list (`LabelledData.labels`); ids are positions in the list. */
export function labelIndex(labels: readonly string[]): LabelIndex {
  // Null-prototype maps, so a label such as "constructor" cannot hit Object.prototype.
  const id2label = Object.create(null) as Record<string, string>;
  const label2id = Object.create(null) as Record<string, number>;
  labels.forEach((l, i) => {
    if (l in label2id) throw new Error(`duplicate label ${JSON.stringify(l)}`);
    id2label[String(i)] = l;
    label2id[l] = i;
  });
  return {
    id2label,
    label2id,
    id(label) {
      const i = label2id[String(label)];
      if (i === undefined) throw new Error(`unknown label ${JSON.stringify(label)} (labels: ${labels.map((x) => JSON.stringify(x)).join(', ')})`);
      return i;
    },
  };
}

/** Label ids of `examples` (classification). */
export function encodeLabels(examples: readonly Example[], index: LabelIndex): Int32Array {
  return Int32Array.from(examples, (e) => index.id(e.label));
}
