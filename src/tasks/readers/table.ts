// Labelled examples for fine-tuning (issue 4): CSV (RFC 4180 quoting), TSV (GLUE layout: tab-separated,
// no quoting) and JSONL files. CSV and TSV are parsed by csv-parse, streamed from disk; a header row
// names the columns, or, with `noHeader`, columns are named by their 0-based index. Every error names
// the file and the line (and the column or key), and the option to pass by its command-line flag.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseStream, type Info, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { isFloat, sortLabels, type Example } from './labels.js';

export type Format = 'csv' | 'tsv' | 'jsonl';

export interface ReadOptions {
  /** `--text-col`: column (JSONL: key) of the text; default `sentence`, else `text`. */
  textCol?: string;
  /** `--text-pair-col`: column of the second text of a pair; default none. */
  textPairCol?: string;
  /** `--label-col`: column of the label; default `label`. */
  labelCol?: string;
  /** Default: from the extension (.csv, .tsv, .jsonl / .ndjson). */
  format?: Format;
  /** `--no-header`: a CSV/TSV file whose first row is data; columns are named "0", "1", ... */
  noHeader?: boolean;
  /**
   * 'classification': labels are strings; 'regression': every label must be a number;
   * default: regression when every label is a number and at least one is not an integer.
   */
  task?: 'classification' | 'regression';
}

export interface LabelledData {
  file: string;
  format: Format;
  /** The header (CSV/TSV; indices with `noHeader`) or the first record's keys (JSONL). */
  columns: string[];
  examples: Example[];
  /** Distinct labels, sorted (numerically when all are numbers); null for regression. */
  labels: string[] | null;
}

/** One CSV/TSV record with the 1-based line it starts on. */
export interface Row {
  fields: string[];
  line: number;
}

/** Longest field echoed in an error: a header-less file's first row may be a whole review. */
const ECHO = 80;

/** `s` quoted, cut to about 80 characters. */
export function echo(s: string): string {
  return JSON.stringify(s.length > ECHO ? `${s.slice(0, ECHO - 3)}...` : s);
}

export function formatOf(file: string): Format {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new Error(`${file}: unknown format "${ext}" (expected .csv, .tsv or .jsonl; or pass format)`);
}

/**
 * csv-parse's settings. CSV: `,` between fields, `"` around a field that holds commas, quotes
 * (doubled) or newlines; a bare `"` inside an unquoted field is kept as text, as Python's csv
 * module does. TSV (GLUE): tabs only, quotes are text. Both: CRLF or LF, a BOM and blank lines
 * skipped; a ragged row is reported by the reader, with the header it disagrees with.
 */
function tableOptions(format: 'csv' | 'tsv'): Options {
  return {
    bom: true, delimiter: format === 'csv' ? ',' : '\t', quote: format === 'csv' ? '"' : false, relax_quotes: true,
    relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'], info: true,
    // A quote never closed would otherwise read the rest of the file into one field.
    max_record_size: MAX_RECORD_CHARS,
  };
}

/** Longest record (characters): far above any text a model reads, small next to memory. */
const MAX_RECORD_CHARS = 1 << 24;

const count = (s: string, c: string): number => {
  let n = 0;
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
  return n;
};

/**
 * Records with the line each starts on. csv-parse's `info.lines` is the line a record ends on, and
 * it counts a "\r" inside a field as a line too: the fields' "\r"s so far and this record's "\n"s
 * give the true start line.
 */
function rowNumbering(): (r: { record: string[]; info: Info }) => Row {
  let carriageReturns = 0;
  return ({ record, info }) => {
    let newlines = 0;
    for (const f of record) {
      newlines += count(f, '\n');
      carriageReturns += count(f, '\r');
    }
    return { fields: record, line: info.lines - carriageReturns - newlines };
  };
}

function csvError(e: unknown, file: string): Error {
  const err = e as Error & { lines?: number };
  return new Error(`${file}${err.lines === undefined ? '' : `:${err.lines}`}: ${err.message}`);
}

/** The records of CSV or TSV `text` (the content of `file`, used in messages). */
export function parseTable(text: string, format: 'csv' | 'tsv', file = `<${format}>`): Row[] {
  try {
    return (parseSync(text, tableOptions(format)) as unknown as { record: string[]; info: Info }[]).map(rowNumbering());
  } catch (e) {
    throw csvError(e, file);
  }
}

/** CSV records of `text` (RFC 4180). */
export const parseCsv = (text: string, file = '<csv>'): Row[] => parseTable(text, 'csv', file);

/** The records of a CSV or TSV file, streamed from disk. */
async function* tableRows(file: string, format: 'csv' | 'tsv'): AsyncGenerator<Row> {
  const parser = parseStream(tableOptions(format)), toRow = rowNumbering();
  // pipe() neither forwards a read error (a missing file) to the parser nor closes the file when
  // the parser stops early (a bad row): both are done by hand.
  const input = fs.createReadStream(file).on('error', (e) => parser.destroy(e));
  input.pipe(parser);
  try {
    for await (const r of parser) yield toRow(r as { record: string[]; info: Info });
  } catch (e) {
    throw (e as NodeJS.ErrnoException).syscall ? e : csvError(e, file);
  } finally {
    input.destroy();
  }
}

/** One raw record before the task is known. */
interface RawExample {
  text: string;
  textPair?: string;
  label: string | number | boolean;
  line: number;
}

/** Examples of one file, record by record: the columns are fixed by the first (header) row. */
interface Collector {
  add(row: Row): void;
  /** The columns and records, once every row was added. */
  result(): { columns: string[]; raw: RawExample[] };
}

/** `labels: false` reads the text columns only (inputs to predict, which need no label). */
function tableCollector(file: string, o: ReadOptions, labels = true): Collector {
  let header: string[] | null = null;
  let ti = -1, pi = -1, li = -1;
  const raw: RawExample[] = [];
  const list = () => header!.map(echo).join(', ');
  const named = (): string => o.noHeader ? `the columns are 0..${header!.length - 1} (--no-header)` : `the header has ${list()}`;
  const noHeaderHint = o.noHeader ? '' : '. The first row must be a header naming the columns; for a file without one, pass --no-header and name columns by index (--text-col 1 --label-col 0)';
  const col = (name: string, what: string, flag: string): number => {
    const k = header!.indexOf(name);
    if (k < 0) throw new Error(`${file}:1: no ${what} column ${echo(name)} (${flag}); ${named()}${noHeaderHint}`);
    return k;
  };
  const start = (first: Row) => {
    header = o.noHeader ? first.fields.map((_, k) => String(k)) : first.fields.map((h) => h.trim());
    let textName = o.textCol;
    if (textName === undefined) {
      if (o.noHeader) throw new Error(`${file}: with --no-header, name the text column by its index (--text-col N; the first row has ${header.length} columns)`);
      textName = header.includes('sentence') ? 'sentence' : 'text';
      if (!header.includes(textName)) throw new Error(`${file}:1: no text column "sentence" or "text" (pass --text-col); ${named()}${noHeaderHint}`);
    }
    if (o.noHeader && o.labelCol === undefined && labels) throw new Error(`${file}: with --no-header, name the label column by its index (--label-col N)`);
    ti = col(textName, 'text', '--text-col');
    pi = o.textPairCol === undefined ? -1 : col(o.textPairCol, 'text pair', '--text-pair-col');
    li = labels ? col(o.labelCol ?? 'label', 'label', '--label-col') : -1;
  };
  const record = ({ fields, line }: Row) => {
    if (fields.length !== header!.length)
      throw new Error(`${file}:${line}: ${fields.length} field(s) where ${o.noHeader ? 'the first row' : 'the header'} has ${header!.length} (${list()})`);
    const label = li < 0 ? '' : fields[li]!.trim();
    if (li >= 0 && label === '') throw new Error(`${file}:${line}: empty label in column ${echo(header![li]!)}`);
    raw.push({ text: fields[ti]!, ...(pi >= 0 ? { textPair: fields[pi]! } : {}), label, line });
  };
  return {
    add(row) {
      if (header === null) {
        start(row);
        if (!o.noHeader) return;
      }
      record(row);
    },
    result() {
      if (header === null) throw new Error(`${file}: empty file (expected ${o.noHeader ? 'rows of data' : 'a header row'})`);
      return { columns: header, raw };
    },
  };
}

function jsonlCollector(file: string, o: ReadOptions, labels = true): Collector & { addLine(text: string, line: number): void } {
  let columns: string[] | null = null;
  let textName = o.textCol;
  const raw: RawExample[] = [];
  const collector = {
    add: () => { throw new Error('JSONL is read a line at a time'); },
    addLine(text: string, line: number) {
      const src = text.trim().replace(/^\ufeff/, '');
      if (src === '') return;
      let v: unknown;
      try {
        v = JSON.parse(src);
      } catch (e) {
        throw new Error(`${file}:${line}: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}:${line}: expected a JSON object per line`);
      const rec = v as Record<string, unknown>;
      const keys = Object.keys(rec);
      const has = () => keys.map(echo).join(', ');
      columns ??= keys;
      textName ??= 'sentence' in rec ? 'sentence' : 'text';
      const str = (key: string, what: string, flag: string): string => {
        if (!Object.hasOwn(rec, key)) throw new Error(`${file}:${line}: no ${what} key ${echo(key)} (${flag}); the record has ${has()}`);
        const x = rec[key];
        if (typeof x !== 'string') throw new Error(`${file}:${line}: ${echo(key)} must be a string, got ${echo(JSON.stringify(x) ?? String(x))}`);
        return x;
      };
      const labelKey = o.labelCol ?? 'label';
      if (!labels) {
        raw.push({ text: str(textName, 'text', '--text-col'), label: '', line });
        return;
      }
      if (!Object.hasOwn(rec, labelKey)) throw new Error(`${file}:${line}: no label key ${echo(labelKey)} (--label-col); the record has ${has()}`);
      const label = rec[labelKey];
      if (!(typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') || label === '')
        throw new Error(`${file}:${line}: label ${echo(labelKey)} must be a non-empty string, a number or a boolean, got ${echo(JSON.stringify(label) ?? String(label))}`);
      raw.push({
        text: str(textName, 'text', '--text-col'),
        ...(o.textPairCol !== undefined ? { textPair: str(o.textPairCol, 'text pair', '--text-pair-col') } : {}),
        label, line,
      });
    },
    result() {
      if (columns === null) throw new Error(`${file}: empty file (expected one JSON object per line)`);
      return { columns, raw };
    },
  };
  return collector;
}

const asNumber = (v: string | number | boolean): number | null =>
  typeof v === 'number' ? v : typeof v === 'string' && isFloat(v) ? Number(v) : null;

/** The task's labels of collected records: classification (strings) or regression (numbers). */
function finish(file: string, format: Format, { columns, raw }: { columns: string[]; raw: RawExample[] }, o: ReadOptions): LabelledData {
  if (raw.length === 0) throw new Error(`${file}: no examples (only a header)`);
  const labelName = o.labelCol ?? 'label';
  const numbers = raw.map((r) => asNumber(r.label));
  let regression: boolean;
  if (o.task === 'regression') {
    const bad = numbers.findIndex((x) => x === null || !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${file}:${raw[bad]!.line}: label ${echo(labelName)} = ${echo(String(raw[bad]!.label))} is not a number (regression)`);
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

function checkOptions(file: string, format: Format, o: ReadOptions): void {
  if (o.noHeader && format === 'jsonl') throw new Error(`${file}: --no-header applies to CSV and TSV files; JSONL records name their keys`);
}

/** Parse labelled examples from `text` (the content of `file`, used in messages). */
export function parseExamples(text: string, file: string, o: ReadOptions = {}): LabelledData {
  const format = o.format ?? formatOf(file);
  checkOptions(file, format, o);
  if (text.trim().replace(/^\ufeff/, '') === '') throw new Error(`${file}: empty file`);
  if (format === 'jsonl') {
    const c = jsonlCollector(file, o);
    text.split('\n').forEach((l, k) => c.addLine(l, k + 1));
    return finish(file, format, c.result(), o);
  }
  const c = tableCollector(file, o);
  for (const row of parseTable(text, format, file)) c.add(row);
  return finish(file, format, c.result(), o);
}

/** Stream the records of `file` into a collector (with or without labels). */
async function collect(file: string, o: ReadOptions, labels: boolean): Promise<{ format: Format; columns: string[]; raw: RawExample[] }> {
  const format = o.format ?? formatOf(file);
  checkOptions(file, format, o);
  if (format === 'jsonl') {
    const c = jsonlCollector(file, o, labels);
    const fh = await fs.promises.open(file);
    try {
      let n = 0;
      for await (const l of fh.readLines({ encoding: 'utf8', autoClose: false })) c.addLine(l, ++n);
    } finally {
      await fh.close();
    }
    return { format, ...c.result() };
  }
  const c = tableCollector(file, o, labels);
  let rows = 0;
  for await (const row of tableRows(file, format)) {
    c.add(row);
    rows++;
  }
  if (rows === 0) throw new Error(`${file}: empty file`);
  return { format, ...c.result() };
}

/** Read labelled examples from a CSV, TSV or JSONL file (UTF-8), streamed: the file is never held whole. */
export async function readExamples(file: string, o: ReadOptions = {}): Promise<LabelledData> {
  const { format, ...records } = await collect(file, o, true);
  return finish(file, format, records, o);
}

/**
 * Input texts of a file: the text column of a .csv/.tsv/.jsonl (a label column is not needed), else
 * one text per non-empty line.
 */
export async function readTexts(file: string, read: ReadOptions = {}): Promise<string[]> {
  const texts = /\.(csv|tsv|jsonl|ndjson)$/.test(file)
    ? (await collect(file, read, false)).raw.map((r) => r.text)
    : (await fs.promises.readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (texts.length === 0) throw new Error(`${file}: no inputs (empty file)`);
  return texts;
}
