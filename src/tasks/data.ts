// Labelled examples for fine-tuning (issue 4): CSV (RFC 4180 quoting), TSV (GLUE layout: a header
// row, tab-separated, no quoting) and JSONL readers, the label set and its id maps, and a SQuAD v1.1
// reader. Every error names the file and the line (and the column or JSON path) it is about.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Format = 'csv' | 'tsv' | 'jsonl';

export interface Example {
  text: string;
  /** Second text of a pair task (MRPC, QNLI, ...); absent for single-sentence tasks. */
  textPair?: string;
  /** The label as written (classification) or its value (regression). */
  label: string | number;
}

export interface ReadOptions {
  /** Column (JSONL: key) of the text; default `sentence`, else `text`. */
  textCol?: string;
  /** Column of the second text of a pair; default none. */
  textPairCol?: string;
  /** Column of the label; default `label`. */
  labelCol?: string;
  /** Default: from the extension (.csv, .tsv, .jsonl / .ndjson). */
  format?: Format;
  /**
   * 'classification': labels are strings; 'regression': every label must be a number;
   * default: regression when every label is a number and at least one is not an integer.
   */
  task?: 'classification' | 'regression';
}

export interface LabelledData {
  file: string;
  format: Format;
  /** The header (CSV/TSV) or the first record's keys (JSONL). */
  columns: string[];
  examples: Example[];
  /** Distinct labels, sorted (numerically when all are numbers); null for regression. */
  labels: string[] | null;
}

/** One record with the 1-based line it starts on. */
interface Row {
  fields: string[];
  line: number;
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether `s` is a decimal number as Python's float() reads one (no hex, no inf/nan, no empty). */
export const isFloat = (s: string): boolean => FLOAT.test(s.trim());

export function formatOf(file: string): Format {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new Error(`${file}: unknown format "${ext}" (expected .csv, .tsv or .jsonl; or pass format)`);
}

/**
 * RFC 4180 records: `,` between fields, CRLF or LF between records, `"` around a field that holds
 * commas, quotes (doubled) or newlines. A bare `"` inside an unquoted field is kept as text (as
 * Python's csv module does); text after a closing quote is an error. Blank lines are skipped.
 */
export function parseCsv(text: string, file = '<csv>'): Row[] {
  const rows: Row[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1, lineStart = 0, rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let atFieldStart = true;
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ fields, line: rowLine });
    fields = [];
    field = '';
  };
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (atFieldStart && c === '"') {
      const openLine = line, openCol = i - lineStart + 1;
      i++;
      for (;;) {
        if (i >= n) throw new Error(`${file}:${openLine}:${openCol}: quoted field never closed`);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        if (q === '\n') { line++; lineStart = i + 1; }
        field += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && (text[i + 1] === '\n' || i + 1 === n)))
        throw new Error(`${file}:${line}:${i - lineStart + 1}: unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field is written "")`);
      atFieldStart = false;
      continue;
    }
    if (c === ',') { fields.push(field); field = ''; atFieldStart = true; i++; continue; }
    if (c === '\n' || (c === '\r' && (text[i + 1] === '\n' || i + 1 === n))) {
      endRow();
      i += c === '\r' ? 2 : 1;
      line++;
      lineStart = i;
      rowLine = line;
      atFieldStart = true;
      continue;
    }
    field += c;
    atFieldStart = false;
    i++;
  }
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}

/** GLUE TSV: one record a line, fields split on tabs, no quoting (quotes are text). Blank lines are skipped. */
export function parseTsv(text: string): Row[] {
  const rows: Row[] = [];
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k]!.endsWith('\r') ? lines[k]!.slice(0, -1) : lines[k]!;
    if (l !== '') rows.push({ fields: l.split('\t'), line: k + 1 });
  }
  return rows;
}

/** Raw label of one record before the task is known. */
interface RawExample {
  text: string;
  textPair?: string;
  label: string | number | boolean;
  line: number;
}

function fromTable(rows: Row[], file: string, o: ReadOptions): { columns: string[]; raw: RawExample[] } {
  if (rows.length === 0) throw new Error(`${file}: empty file (expected a header row)`);
  const header = rows[0]!.fields.map((h) => h.trim());
  const list = header.map((h) => JSON.stringify(h)).join(', ');
  const col = (name: string, what: string): number => {
    const k = header.indexOf(name);
    if (k < 0) throw new Error(`${file}:1: no ${what} column "${name}"; the header has ${list}`);
    return k;
  };
  let textName = o.textCol;
  if (textName === undefined) {
    textName = header.includes('sentence') ? 'sentence' : 'text';
    if (!header.includes(textName)) throw new Error(`${file}:1: no text column "sentence" or "text" (pass textCol); the header has ${list}`);
  }
  const ti = col(textName, 'text'), pi = o.textPairCol === undefined ? -1 : col(o.textPairCol, 'text pair');
  const li = col(o.labelCol ?? 'label', 'label');
  const raw: RawExample[] = [];
  for (let r = 1; r < rows.length; r++) {
    const { fields, line } = rows[r]!;
    if (fields.length !== header.length)
      throw new Error(`${file}:${line}: ${fields.length} field(s) where the header has ${header.length} (${list})`);
    const label = fields[li]!.trim();
    if (label === '') throw new Error(`${file}:${line}: empty label in column "${header[li]}"`);
    raw.push({ text: fields[ti]!, ...(pi >= 0 ? { textPair: fields[pi]! } : {}), label, line });
  }
  return { columns: header, raw };
}

function fromJsonl(text: string, file: string, o: ReadOptions): { columns: string[]; raw: RawExample[] } {
  const lines = text.split('\n');
  let columns: string[] | null = null;
  let textName = o.textCol;
  const raw: RawExample[] = [];
  for (let k = 0; k < lines.length; k++) {
    const src = lines[k]!.trim().replace(/^\ufeff/, '');
    if (src === '') continue;
    const line = k + 1;
    let v: unknown;
    try {
      v = JSON.parse(src);
    } catch (e) {
      throw new Error(`${file}:${line}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}:${line}: expected a JSON object per line`);
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec);
    columns ??= keys;
    textName ??= 'sentence' in rec ? 'sentence' : 'text';
    const str = (key: string, what: string): string => {
      if (!Object.hasOwn(rec, key)) throw new Error(`${file}:${line}: no ${what} key "${key}"; the record has ${keys.map((x) => JSON.stringify(x)).join(', ')}`);
      const x = rec[key];
      if (typeof x !== 'string') throw new Error(`${file}:${line}: "${key}" must be a string, got ${JSON.stringify(x)}`);
      return x;
    };
    const labelKey = o.labelCol ?? 'label';
    if (!Object.hasOwn(rec, labelKey)) throw new Error(`${file}:${line}: no label key "${labelKey}"; the record has ${keys.map((x) => JSON.stringify(x)).join(', ')}`);
    const label = rec[labelKey];
    if (!(typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') || label === '')
      throw new Error(`${file}:${line}: label "${labelKey}" must be a non-empty string, a number or a boolean, got ${JSON.stringify(label)}`);
    raw.push({ text: str(textName, 'text'), ...(o.textPairCol !== undefined ? { textPair: str(o.textPairCol, 'text pair') } : {}), label, line });
  }
  if (columns === null) throw new Error(`${file}: empty file (expected one JSON object per line)`);
  return { columns, raw };
}

const asNumber = (v: string | number | boolean): number | null =>
  typeof v === 'number' ? v : typeof v === 'string' && isFloat(v) ? Number(v) : null;

/** Sort labels numerically when all are numbers, else by UTF-16 code units (locale-free, stable across machines). */
export function sortLabels(labels: Iterable<string>): string[] {
  const all = [...new Set(labels)];
  return all.every(isFloat) ? all.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0)) : all.sort();
}

/** Parse labelled examples from `text` (the content of `file`, used in messages). */
export function parseExamples(text: string, file: string, o: ReadOptions = {}): LabelledData {
  const format = o.format ?? formatOf(file);
  if (text.trim().replace(/^\ufeff/, '') === '') throw new Error(`${file}: empty file`);
  const { columns, raw } = format === 'jsonl' ? fromJsonl(text, file, o) : fromTable(format === 'csv' ? parseCsv(text, file) : parseTsv(text), file, o);
  if (raw.length === 0) throw new Error(`${file}: no examples (only a header)`);
  const labelName = o.labelCol ?? 'label';
  const numbers = raw.map((r) => asNumber(r.label));
  let regression: boolean;
  if (o.task === 'regression') {
    const bad = numbers.findIndex((x) => x === null || !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${file}:${raw[bad]!.line}: label "${labelName}" = ${JSON.stringify(raw[bad]!.label)} is not a number (regression)`);
    regression = true;
  } else regression = o.task === undefined && numbers.every((x) => x !== null && Number.isFinite(x)) && numbers.some((x) => !Number.isInteger(x));
  const examples: Example[] = raw.map((r, k) => ({
    text: r.text,
    ...(r.textPair !== undefined ? { textPair: r.textPair } : {}),
    label: regression ? numbers[k]! : String(r.label),
  }));
  const labels = regression ? null : sortLabels(examples.map((e) => e.label as string));
  return { file, format, columns, examples, labels };
}

/** Read labelled examples from a CSV, TSV or JSONL file (UTF-8). */
export function readExamples(file: string, o: ReadOptions = {}): LabelledData {
  return parseExamples(fs.readFileSync(file, 'utf8'), file, o);
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

export interface SquadAnswer {
  text: string;
  /** Character offset of the answer in the context (UTF-16 code units, as Python 3 indexes the same BMP text). */
  answer_start: number;
}

export interface SquadExample {
  id: string;
  title: string;
  context: string;
  question: string;
  /** One answer in the v1.1 training set, up to a few (from different annotators) in dev. */
  answers: SquadAnswer[];
}

export interface SquadData {
  version: string | null;
  examples: SquadExample[];
  /** Answers whose `context.slice(answer_start, answer_start + text.length)` differs from `text` (kept). */
  misaligned: number;
}

/**
 * A SQuAD v1.1 file: {version, data: [{title, paragraphs: [{context, qas: [{id, question, answers:
 * [{text, answer_start}]}]}]}]}. Errors name the file and the JSON path; question ids must be unique
 * and every question needs an answer (SQuAD 2.0's unanswerable questions are rejected).
 */
export function parseSquad(json: string, file = '<squad>'): SquadData {
  let root: unknown;
  try {
    root = JSON.parse(json.replace(/^\ufeff/, ''));
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const fail = (where: string, what: string): never => { throw new Error(`${file}: ${where}: ${what}`); };
  const obj = (v: unknown, where: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(where, 'expected an object');
  const arr = (v: unknown, where: string): unknown[] => (Array.isArray(v) ? v : fail(where, `expected an array, got ${JSON.stringify(v)?.slice(0, 40)}`));
  const str = (v: unknown, where: string): string => (typeof v === 'string' ? v : fail(where, `expected a string, got ${JSON.stringify(v)?.slice(0, 40)}`));
  const top = obj(root, '(top level)');
  const version = typeof top.version === 'string' ? top.version : null;
  const examples: SquadExample[] = [];
  const seen = new Set<string>();
  let misaligned = 0;
  arr(top.data, 'data').forEach((a, ai) => {
    const art = obj(a, `data[${ai}]`);
    const title = art.title === undefined ? '' : str(art.title, `data[${ai}].title`);
    arr(art.paragraphs, `data[${ai}].paragraphs`).forEach((p, pi) => {
      const pw = `data[${ai}].paragraphs[${pi}]`;
      const para = obj(p, pw);
      const context = str(para.context, `${pw}.context`);
      arr(para.qas, `${pw}.qas`).forEach((q, qi) => {
        const qw = `${pw}.qas[${qi}]`;
        const qa = obj(q, qw);
        const id = str(qa.id, `${qw}.id`);
        if (seen.has(id)) fail(`${qw}.id`, `duplicate question id ${JSON.stringify(id)}`);
        seen.add(id);
        if (qa.is_impossible === true) fail(qw, 'unanswerable question (SQuAD 2.0); only v1.1 is supported');
        const answers = arr(qa.answers, `${qw}.answers`).map((x, k): SquadAnswer => {
          const aw = `${qw}.answers[${k}]`;
          const ans = obj(x, aw);
          const text = str(ans.text, `${aw}.text`);
          const start = ans.answer_start;
          if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start + text.length > context.length)
            fail(`${aw}.answer_start`, `expected an integer in [0, ${context.length - text.length}] (context length ${context.length}, answer length ${text.length}), got ${JSON.stringify(start)}`);
          if (context.slice(start as number, (start as number) + text.length) !== text) misaligned++;
          return { text, answer_start: start as number };
        });
        if (answers.length === 0) fail(`${qw}.answers`, 'no answers (SQuAD v1.1 questions have at least one)');
        examples.push({ id, title, context, question: str(qa.question, `${qw}.question`), answers });
      });
    });
  });
  if (examples.length === 0) fail('data', 'no questions');
  return { version, examples, misaligned };
}

/** Read a SQuAD v1.1 JSON file (train-v1.1.json, dev-v1.1.json). */
export function readSquad(file: string): SquadData {
  return parseSquad(fs.readFileSync(file, 'utf8'), file);
}
