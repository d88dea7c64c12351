// `distil predict`: a pipeline over a file, one JSON line of output per input, streamed. Inputs are
// read and run in chunks and each chunk's lines are written before the next is read, so a file of
// millions of lines needs the memory of one chunk and its output shows up as it is computed. One
// text a line (.txt) and question-answering JSONL stream from disk; the texts of CSV/TSV/JSONL files
// are read (streamed) into a list first, then run in the same chunks.
import * as fs from 'node:fs';
import { writeError } from '../io/disk_errors.js';
import { readTexts, type ReadOptions } from '../tasks/readers/table.js';
import type { QaInput } from '../tasks/qa/features.js';
import { pipeline, type Task } from './pipeline.js';

/** Inputs run per pipeline call: large enough for full, length-sorted batches, small next to any memory. */
const CHUNK = 1024;

export interface PredictOptions {
  model: string;
  input: string;
  task: Task;
  /** JSONL output file; default stdout. Written as it goes; removed again if the run fails. */
  out?: string;
  batchSize: number;
  read?: ReadOptions;
}

/** Lines of `file` split on "\n" (a "\r" is left for the caller's trim), with 1-based numbers, read 1 MiB at a time. */
async function* fileLines(file: string): AsyncGenerator<[number, string]> {
  let rest = '', n = 0;
  for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop()!;
    for (const line of parts) yield [++n, line];
  }
  yield [++n, rest];
}

/** One text per non-empty line, trimmed (as before streaming: readTexts' rule for text files). */
async function* textInputs(file: string): AsyncGenerator<string> {
  for await (const [, line] of fileLines(file)) {
    const t = line.trim();
    if (t.length > 0) yield t;
  }
}

/** {"question", "context"} per non-empty line; errors name the file and the line. */
export async function* qaInputs(file: string): AsyncGenerator<QaInput> {
  for await (const [n, line] of fileLines(file)) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${n}: not JSON (${(e as Error).message}); write one {"question": ..., "context": ...} a line`);
    }
    const r = v as Record<string, unknown>;
    if (typeof r?.question !== 'string' || typeof r.context !== 'string') throw new Error(`${file}:${n}: needs string fields "question" and "context"`);
    yield { question: r.question, context: r.context };
  }
}

async function* chunks<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const x of items) {
    chunk.push(x);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Run the pipeline over `o.input`, writing JSONL as each chunk finishes; returns the number of inputs. */
export async function predictFile(o: PredictOptions): Promise<number> {
  const inputs: AsyncIterable<unknown> | Iterable<unknown> = o.task === 'question-answering' ? qaInputs(o.input)
    : /\.(csv|tsv|jsonl|ndjson)$/.test(o.input) ? await readTexts(o.input, o.read) : textInputs(o.input);
  const run = (await pipeline(o.task, o.model)) as (x: unknown[], opts: Record<string, unknown>) => Promise<unknown[]>;
  const fd = o.out === undefined ? null : fs.openSync(o.out, 'w');
  const write = (text: string) => {
    try {
      // process.stdout is synchronous for files and pipes on Linux, so chunks cannot pile up in memory.
      if (fd === null) process.stdout.write(text);
      else fs.writeSync(fd, text);
    } catch (e) {
      throw writeError(e, o.out ?? 'stdout');
    }
  };
  let count = 0;
  try {
    for await (const chunk of chunks(inputs)) {
      const results = await run(chunk, { batchSize: o.batchSize });
      write(results.map((r, i) => `${JSON.stringify({ input: chunk[i], output: r instanceof Float32Array ? Array.from(r) : r })}\n`).join(''));
      count += chunk.length;
    }
    if (count === 0) throw new Error(`${o.input}: no inputs (empty file)`);
  } catch (e) {
    if (fd !== null) {
      fs.closeSync(fd);
      // A partial output must not pass for a complete one.
      fs.rmSync(o.out!, { force: true });
    }
    throw e;
  }
  if (fd !== null) fs.closeSync(fd);
  return count;
}
